//! Reconciling a report's refund obligations, the same way at both ends: every refund an
//! obligation of the bank's lists must be in its books, for that counterparty and currency, and
//! listed once, in no report of another cycle; the obligation's amount and fees must be what
//! the books say the refunds listed add up to. An acquirer's books file each refund under the
//! cycle its receipt named, so it also finds the refunds a report leaves out; an issuer cannot
//! know in which cycle an acquirer settles, so it does not.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::amount::{Amount, Currency};
use crate::ids::{BankId, Digest};

use super::{DiscrepancyKind, Findings};

/// Which end of a refund obligation the books are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The acquirer, which owes.
    Acquirer,
    /// The issuer, which is owed.
    Issuer,
}

/// One refund as a bank's books hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefundEntry {
    /// The acquirer that owes it.
    pub acquirer: BankId,
    /// The issuer that is owed it.
    pub issuer: BankId,
    /// What is owed.
    pub amount: Amount,
    /// The refund fee the issuer kept.
    pub fee: Amount,
}

/// A bank's books about the refunds of one report.
#[derive(Clone, Debug, Default)]
pub struct RefundBooks {
    /// The refunds the books hold. An acquirer's: every refund the clearing house settled for it
    /// in the report's cycle. An issuer's: each refund it recorded that the report lists.
    pub recorded: HashMap<Digest, RefundEntry>,
    /// Whether `recorded` is the cycle's whole list (an acquirer's), so that a refund of it the
    /// report leaves out is missing, and its net counts every one of them.
    pub whole_cycle: bool,
    /// The refunds of this report that reports of other cycles, recorded before, listed: with
    /// the earlier cycle's number.
    pub listed_before: HashMap<Digest, u64>,
}

/// Checks the report's refund obligations against `books` as `side`, and moves `books_net` by
/// the refunds: what the books say is paid or received where the bank is `side`, the report's
/// amounts where it is the other end.
pub(crate) fn check(
    found: &mut Findings<'_>,
    side: Side,
    books: &RefundBooks,
    books_net: &mut BTreeMap<Currency, i128>,
) {
    let bank = found.bank();
    let fields = found.fields();
    let sign = match side {
        Side::Acquirer => -1i128,
        Side::Issuer => 1,
    };
    let mut seen: HashSet<Digest> = HashSet::new();
    for obligation in fields.refunds.iter() {
        let currency = obligation.amount.currency();
        let reported = i128::from(obligation.amount.minor_units());
        let (ours, counterparty) = match side {
            Side::Acquirer => (obligation.acquirer == bank, obligation.issuer),
            Side::Issuer => (obligation.issuer == bank, obligation.acquirer),
        };
        if !ours {
            // Where the bank is the other end, its books of this side have nothing to say.
            let other_end = match side {
                Side::Acquirer => obligation.issuer == bank,
                Side::Issuer => obligation.acquirer == bank,
            };
            if other_end {
                *books_net.entry(currency).or_default() -= sign * reported;
            }
            continue;
        }
        let (mut amount, mut fees) = (0i128, 0i128);
        for refund in obligation.refunds.iter() {
            let twice = !seen.insert(*refund)
                || books
                    .listed_before
                    .get(refund)
                    .is_some_and(|cycle| *cycle != fields.sequence);
            if twice {
                found.push_refund(
                    counterparty,
                    currency,
                    Some(*refund),
                    DiscrepancyKind::DuplicateRefund,
                    0,
                    0,
                );
            }
            let entry = books.recorded.get(refund).filter(|entry| {
                entry.acquirer == obligation.acquirer
                    && entry.issuer == obligation.issuer
                    && entry.amount.currency() == currency
            });
            match entry {
                Some(entry) => {
                    amount += i128::from(entry.amount.minor_units());
                    fees += i128::from(entry.fee.minor_units());
                }
                // The report does not itemise refunds: there is no reported amount to show.
                None => found.push_refund(
                    counterparty,
                    currency,
                    Some(*refund),
                    DiscrepancyKind::UnknownRefund,
                    0,
                    0,
                ),
            }
        }
        if amount != reported {
            found.push_refund(
                counterparty,
                currency,
                None,
                DiscrepancyKind::AmountMismatch,
                amount,
                reported,
            );
        }
        let reported_fees = i128::from(obligation.fees.minor_units());
        if fees != reported_fees {
            found.push_refund(
                counterparty,
                currency,
                None,
                DiscrepancyKind::FeeMismatch,
                fees,
                reported_fees,
            );
        }
        if !books.whole_cycle {
            *books_net.entry(currency).or_default() += sign * amount;
        }
    }
    if !books.whole_cycle {
        return;
    }
    // Every refund of the cycle counts in the net, listed or not; the unlisted are missing.
    let mut unlisted: Vec<(&Digest, &RefundEntry)> = books
        .recorded
        .iter()
        .filter(|(refund, _)| !seen.contains(*refund))
        .collect();
    unlisted.sort_by_key(|(refund, _)| **refund);
    for entry in books.recorded.values() {
        *books_net.entry(entry.amount.currency()).or_default() +=
            sign * i128::from(entry.amount.minor_units());
    }
    for (refund, entry) in unlisted {
        let counterparty = match side {
            Side::Acquirer => entry.issuer,
            Side::Issuer => entry.acquirer,
        };
        found.push_refund(
            counterparty,
            entry.amount.currency(),
            Some(*refund),
            DiscrepancyKind::MissingRefund,
            i128::from(entry.amount.minor_units()),
            0,
        );
    }
}

#[cfg(test)]
mod tests;
