//! The acquirer's reconciliation: a settlement report checked against the confirmations the
//! clearing house counted for the acquirer in that cycle, as its receipts told it.
//!
//! The acquirer's books list every batch it claimed in the cycle, so it checks both ways: every
//! batch an obligation where it acquires lists is in its books in that currency, every batch of its
//! books is listed, each obligation's amount is what its books say the batches listed total, and
//! its net position in each currency is what its books make it. Together these mean the amount it
//! is owed per (issuer, currency) is what its books say. Its refunds, owed to issuers, are checked
//! the same way ([`super::refunds`]), against the refunds its receipts filed under the cycle.

use std::collections::{BTreeMap, BTreeSet};

use crate::amount::{Amount, Currency};
use crate::ids::{BankId, BatchId};
use crate::messages::settlement::SettlementReport;

use super::refunds::{self, RefundBooks, Side};
use super::{Discrepancy, DiscrepancyKind, Findings};

/// The acquirer's books for one cycle: each confirmation the clearing house counted for it, by
/// (issuer, batch), with what it claims, one total per currency.
pub type CycleBooks = BTreeMap<(BankId, BatchId), Vec<Amount>>;

/// Every disagreement between a verified `report` and the books of `acquirer` for the report's
/// cycle, for a cycle without refunds; none when they agree.
pub fn reconcile(
    acquirer: BankId,
    report: &SettlementReport,
    books: &CycleBooks,
) -> Vec<Discrepancy> {
    let refunds = RefundBooks {
        whole_cycle: true,
        ..RefundBooks::default()
    };
    reconcile_with_refunds(acquirer, report, books, &refunds)
}

/// Every disagreement between a verified `report` and the books of `acquirer` for the report's
/// cycle: its claims and its refunds (`refunds.recorded` the refunds settled for it in the
/// cycle); none when they agree.
pub fn reconcile_with_refunds(
    acquirer: BankId,
    report: &SettlementReport,
    books: &CycleBooks,
    refunds: &RefundBooks,
) -> Vec<Discrepancy> {
    let mut found = Findings::new(acquirer, report);
    // Its net per currency as its books make it: everything claimed in the cycle counts, listed or
    // not. Where it issues, its acquirer books have nothing to say, so the report's amount is
    // taken as it is.
    let mut books_net: BTreeMap<Currency, i128> = BTreeMap::new();
    for total in books.values().flatten() {
        *books_net.entry(total.currency()).or_default() += i128::from(total.minor_units());
    }
    let mut listed: BTreeSet<(BankId, BatchId, Currency)> = BTreeSet::new();
    for obligation in report.fields().obligations.iter() {
        let currency = obligation.amount.currency();
        let reported = i128::from(obligation.amount.minor_units());
        if obligation.issuer == acquirer {
            *books_net.entry(currency).or_default() -= reported;
        }
        if obligation.acquirer != acquirer {
            continue;
        }
        let issuer = obligation.issuer;
        let mut books_sum = 0i128;
        for batch in obligation.confirmations.iter() {
            let claimed = books
                .get(&(issuer, *batch))
                .and_then(|totals| totals.iter().find(|t| t.currency() == currency));
            match claimed {
                Some(total) => {
                    books_sum += i128::from(total.minor_units());
                    listed.insert((issuer, *batch, currency));
                }
                // The report does not itemise batches: there is no reported amount to show.
                None => found.push(
                    issuer,
                    currency,
                    Some(*batch),
                    DiscrepancyKind::UnknownConfirmation,
                    0,
                    0,
                ),
            }
        }
        if books_sum != reported {
            found.push(
                issuer,
                currency,
                None,
                DiscrepancyKind::AmountMismatch,
                books_sum,
                reported,
            );
        }
    }
    for ((issuer, batch), totals) in books {
        for total in totals {
            if !listed.contains(&(*issuer, *batch, total.currency())) {
                found.push(
                    *issuer,
                    total.currency(),
                    Some(*batch),
                    DiscrepancyKind::MissingConfirmation,
                    i128::from(total.minor_units()),
                    0,
                );
            }
        }
    }
    refunds::check(&mut found, Side::Acquirer, refunds, &mut books_net);
    found.with_net_positions(books_net)
}

#[cfg(test)]
mod tests;
