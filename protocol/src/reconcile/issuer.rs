//! The issuer's reconciliation: a settlement report checked against what the issuer's books say
//! it confirmed for each batch, recorded in the same write as the batch's spends.
//!
//! The report gives one amount per obligation, not per batch, so the issuer checks that it knows
//! every batch listed, that the batches it knows add up to each obligation where it owes, and that
//! its net position in each currency is what its books make it. The refunds it is owed are
//! checked against the refunds it recorded ([`super::refunds`]).

use std::collections::{BTreeMap, HashMap};

use crate::amount::{Amount, Currency};
use crate::ids::{BankId, BatchId, Digest};
use crate::messages::settlement::SettlementReport;

use super::refunds::{self, RefundBooks, Side};
use super::{Discrepancy, DiscrepancyKind, Findings};

/// What the issuer's books say it confirmed for a batch.
pub trait ConfirmedTotals {
    /// The total confirmed to `acquirer` for `batch` in `currency`; `None` when the books hold no
    /// such confirmation.
    fn confirmed(&self, acquirer: &BankId, batch: &BatchId, currency: Currency) -> Option<Amount>;
}

/// Books as a map from (acquirer, batch) to the batch's totals, one per currency.
impl ConfirmedTotals for HashMap<(BankId, BatchId), Vec<Amount>> {
    fn confirmed(&self, acquirer: &BankId, batch: &BatchId, currency: Currency) -> Option<Amount> {
        self.get(&(*acquirer, *batch))?
            .iter()
            .find(|total| total.currency() == currency)
            .copied()
    }
}

/// The (acquirer, batch) pairs of `report` that `issuer` owes for: what to load from its books.
pub fn batches_owed(issuer: BankId, report: &SettlementReport) -> Vec<(BankId, BatchId)> {
    report
        .fields()
        .obligations
        .iter()
        .filter(|obligation| obligation.issuer == issuer)
        .flat_map(|obligation| {
            obligation
                .confirmations
                .iter()
                .map(|batch| (obligation.acquirer, *batch))
        })
        .collect()
}

/// The refunds of `report` that `issuer` is owed: what to load from its books.
pub fn refunds_owed(issuer: BankId, report: &SettlementReport) -> Vec<Digest> {
    report
        .fields()
        .refunds
        .iter()
        .filter(|obligation| obligation.issuer == issuer)
        .flat_map(|obligation| obligation.refunds.iter().copied())
        .collect()
}

/// Every disagreement between a verified `report` and the books of `issuer`, for a report
/// without refunds; none when they agree.
pub fn reconcile(
    issuer: BankId,
    report: &SettlementReport,
    books: &impl ConfirmedTotals,
) -> Vec<Discrepancy> {
    reconcile_with_refunds(issuer, report, books, &RefundBooks::default())
}

/// Every disagreement between a verified `report` and the books of `issuer`: its confirmed
/// batches and the refunds it recorded (`refunds.recorded`, those of [`refunds_owed`] it
/// holds); none when they agree.
pub fn reconcile_with_refunds(
    issuer: BankId,
    report: &SettlementReport,
    books: &impl ConfirmedTotals,
    refunds: &RefundBooks,
) -> Vec<Discrepancy> {
    let mut found = Findings::new(issuer, report);
    // The issuer's net per currency as its books make it. Where it acquires, its issuer books have
    // nothing to say, so the report's amount is taken as it is.
    let mut books_net: BTreeMap<Currency, i128> = BTreeMap::new();
    for obligation in report.fields().obligations.iter() {
        let currency = obligation.amount.currency();
        let reported = i128::from(obligation.amount.minor_units());
        let net = books_net.entry(currency).or_default();
        if obligation.acquirer == issuer {
            *net += reported;
        }
        if obligation.issuer != issuer {
            continue;
        }
        let mut books_sum = 0i128;
        for batch in obligation.confirmations.iter() {
            match books.confirmed(&obligation.acquirer, batch, currency) {
                Some(total) => books_sum += i128::from(total.minor_units()),
                // The report does not itemise batches: there is no reported amount to show.
                None => found.push(
                    obligation.acquirer,
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
                obligation.acquirer,
                currency,
                None,
                DiscrepancyKind::AmountMismatch,
                books_sum,
                reported,
            );
        }
        *net -= books_sum;
    }
    refunds::check(&mut found, Side::Issuer, refunds, &mut books_net);
    found.with_net_positions(books_net)
}

#[cfg(test)]
mod tests;
