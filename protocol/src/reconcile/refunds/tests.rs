use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::bounded::BoundedVec;
use crate::ids::{BatchId, CycleId};
use crate::messages::settlement::{RefundObligation, SettlementReport};
use crate::reconcile::Discrepancy;
use crate::reconcile::acquirer::reconcile_with_refunds as acquirer_reconcile;
use crate::reconcile::issuer::reconcile_with_refunds as issuer_reconcile;
use crate::reconcile::tests::{ACQUIRER, CLEARING, ISSUER, OTHER};
use crate::time::Timestamp;

fn owed(issuer: BankId, amount: &str, fees: &str, refunds: &[u8]) -> RefundObligation {
    RefundObligation {
        acquirer: ACQUIRER,
        issuer,
        amount: amount.parse().unwrap(),
        fees: fees.parse().unwrap(),
        refunds: BoundedVec::new(refunds.iter().map(|r| Digest([*r; 32])).collect()).unwrap(),
    }
}

/// The report of cycle 4 with these refund obligations and no spends.
fn report(refunds: Vec<RefundObligation>) -> SettlementReport {
    SettlementReport::with_refunds(
        CLEARING,
        CycleId([0; 16]),
        4,
        Timestamp::from_unix_ms(1),
        Vec::new(),
        refunds,
    )
    .unwrap()
}

fn entry(issuer: BankId, amount: &str) -> RefundEntry {
    RefundEntry {
        acquirer: ACQUIRER,
        issuer,
        amount: amount.parse().unwrap(),
        fee: "EUR:0.05".parse().unwrap(),
    }
}

/// Refunds 1 (EUR 0.40) and 2 (EUR 0.30) owed to `ISSUER`, and 3 (EUR 0.20) to `OTHER`.
fn recorded() -> HashMap<Digest, RefundEntry> {
    HashMap::from([
        (Digest([1; 32]), entry(ISSUER, "EUR:0.40")),
        (Digest([2; 32]), entry(ISSUER, "EUR:0.30")),
        (Digest([3; 32]), entry(OTHER, "EUR:0.20")),
    ])
}

fn acquirer_books() -> RefundBooks {
    RefundBooks {
        recorded: recorded(),
        whole_cycle: true,
        listed_before: HashMap::new(),
    }
}

fn issuer_books() -> RefundBooks {
    RefundBooks {
        recorded: recorded(),
        whole_cycle: false,
        listed_before: HashMap::new(),
    }
}

/// What each discrepancy says: kind, refund (its first byte), books and report minor units.
type Said = (DiscrepancyKind, Option<u8>, i64, i64);

fn said(found: &[Discrepancy]) -> Vec<Said> {
    found
        .iter()
        .map(|d| {
            let refund = d.refund.map(|r| r.0[0]);
            (d.kind, refund, d.books_minor_units, d.report_minor_units)
        })
        .collect()
}

fn acquirer(report: &SettlementReport, books: &RefundBooks) -> Vec<Said> {
    said(&acquirer_reconcile(
        ACQUIRER,
        report,
        &BTreeMap::new(),
        books,
    ))
}

fn issuer(report: &SettlementReport, books: &RefundBooks) -> Vec<Said> {
    let batches: HashMap<(BankId, BatchId), Vec<Amount>> = HashMap::new();
    said(&issuer_reconcile(ISSUER, report, &batches, books))
}

fn true_report() -> SettlementReport {
    report(vec![
        owed(ISSUER, "EUR:0.70", "EUR:0.10", &[1, 2]),
        owed(OTHER, "EUR:0.20", "EUR:0.05", &[3]),
    ])
}

#[test]
fn a_true_report_of_refunds_agrees_at_both_ends() {
    assert_eq!(acquirer(&true_report(), &acquirer_books()), vec![]);
    // The issuer is given only what it recorded of its own; the other issuer's is not its.
    let mut books = issuer_books();
    books.recorded.remove(&Digest([3; 32]));
    assert_eq!(issuer(&true_report(), &books), vec![]);
}

#[test]
fn a_refund_left_out_is_missing_at_the_acquirer_that_filed_it_under_the_cycle() {
    let left_out = report(vec![
        owed(ISSUER, "EUR:0.40", "EUR:0.05", &[1]),
        owed(OTHER, "EUR:0.20", "EUR:0.05", &[3]),
    ]);
    assert_eq!(
        acquirer(&left_out, &acquirer_books()),
        vec![
            (DiscrepancyKind::MissingRefund, Some(2), 30, 0),
            (DiscrepancyKind::NetPositionMismatch, None, -90, -60),
        ]
    );
    // The issuer cannot tell in which cycle the acquirer settles it: nothing to say.
    assert_eq!(issuer(&left_out, &issuer_books()), vec![]);
}

#[test]
fn a_refund_listed_twice_or_listed_before_is_a_duplicate_at_both_ends() {
    // Listed under two obligations of one report (the second in another currency, so the
    // report stays canonical).
    let twice = report(vec![
        owed(ISSUER, "EUR:0.70", "EUR:0.10", &[1, 2]),
        owed(ISSUER, "USD:0.40", "USD:0.05", &[1]),
        owed(OTHER, "EUR:0.20", "EUR:0.05", &[3]),
    ]);
    let found = acquirer(&twice, &acquirer_books());
    assert_eq!(found[0], (DiscrepancyKind::DuplicateRefund, Some(1), 0, 0));
    assert_eq!(found[1], (DiscrepancyKind::UnknownRefund, Some(1), 0, 0));
    let found = issuer(&twice, &issuer_books());
    assert_eq!(found[0], (DiscrepancyKind::DuplicateRefund, Some(1), 0, 0));

    // Listed by the report of another cycle before.
    let mut books = acquirer_books();
    books.listed_before.insert(Digest([2; 32]), 3);
    assert_eq!(
        acquirer(&true_report(), &books),
        vec![(DiscrepancyKind::DuplicateRefund, Some(2), 0, 0)]
    );
    // The same cycle's report again is no duplicate.
    books.listed_before.insert(Digest([2; 32]), 4);
    assert_eq!(acquirer(&true_report(), &books), vec![]);
}

#[test]
fn an_unknown_refund_and_wrong_amounts_or_fees_are_found() {
    let wrong = report(vec![
        owed(ISSUER, "EUR:0.80", "EUR:0.20", &[1, 2, 9]),
        owed(OTHER, "EUR:0.20", "EUR:0.05", &[3]),
    ]);
    assert_eq!(
        acquirer(&wrong, &acquirer_books()),
        vec![
            (DiscrepancyKind::UnknownRefund, Some(9), 0, 0),
            (DiscrepancyKind::AmountMismatch, None, 70, 80),
            (DiscrepancyKind::FeeMismatch, None, 10, 20),
            (DiscrepancyKind::NetPositionMismatch, None, -90, -100),
        ]
    );
    assert_eq!(
        issuer(&wrong, &issuer_books()),
        vec![
            (DiscrepancyKind::UnknownRefund, Some(9), 0, 0),
            (DiscrepancyKind::AmountMismatch, None, 70, 80),
            (DiscrepancyKind::FeeMismatch, None, 10, 20),
            (DiscrepancyKind::NetPositionMismatch, None, 70, 80),
        ]
    );
}
