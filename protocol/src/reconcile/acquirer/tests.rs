use super::*;
use crate::reconcile::tests::{ACQUIRER, CLEARING, ISSUER, OTHER, kinds, owe, report};

/// Books of (issuer, batch number, total) entries; a batch may have a total per currency.
fn books(entries: &[(BankId, u8, &str)]) -> CycleBooks {
    let mut books = CycleBooks::new();
    for (issuer, batch, amount) in entries {
        books
            .entry((*issuer, BatchId([*batch; 16])))
            .or_default()
            .push(amount.parse().unwrap());
    }
    books
}

#[test]
fn a_report_that_matches_the_books_gives_no_discrepancy() {
    let report = report(vec![
        owe(ISSUER, ACQUIRER, "EUR:3.00", &[1, 2]),
        owe(OTHER, ACQUIRER, "EUR:7.00", &[5]),
        owe(OTHER, ACQUIRER, "USD:0.50", &[5]),
        // Another acquirer's claim: none of its business.
        owe(ISSUER, OTHER, "EUR:9.00", &[8]),
        // The acquirer also issues: its acquirer books have nothing to say about that.
        owe(ACQUIRER, OTHER, "EUR:1.00", &[6]),
    ]);
    let books = books(&[
        (ISSUER, 1, "EUR:1.00"),
        (ISSUER, 2, "EUR:2.00"),
        (OTHER, 5, "EUR:7.00"),
        (OTHER, 5, "USD:0.50"),
    ]);
    assert_eq!(reconcile(ACQUIRER, &report, &books), vec![]);
}

#[test]
fn a_cycle_without_the_acquirer_agrees_with_empty_books() {
    let report = report(vec![owe(ISSUER, OTHER, "EUR:9.00", &[8])]);
    assert_eq!(reconcile(ACQUIRER, &report, &CycleBooks::new()), vec![]);
}

#[test]
fn a_batch_left_out_of_the_report_is_missing_with_its_amount() {
    let report = report(vec![owe(ISSUER, ACQUIRER, "EUR:1.00", &[1])]);
    let books = books(&[
        (ISSUER, 1, "EUR:1.00"),
        (ISSUER, 2, "EUR:2.00"),
        (OTHER, 3, "EUR:0.25"),
    ]);
    let found = reconcile(ACQUIRER, &report, &books);
    assert_eq!(
        kinds(&found),
        vec![
            (
                DiscrepancyKind::MissingConfirmation,
                Some(BatchId([2; 16])),
                200,
                0
            ),
            (
                DiscrepancyKind::MissingConfirmation,
                Some(BatchId([3; 16])),
                25,
                0
            ),
            (DiscrepancyKind::NetPositionMismatch, None, 325, 100),
        ]
    );
    assert!(
        found
            .iter()
            .all(|d| d.bank == ACQUIRER && d.cycle_sequence == 4)
    );
    assert_eq!(
        (found[0].counterparty, found[1].counterparty),
        (ISSUER, OTHER)
    );
    assert_eq!(found[2].counterparty, CLEARING);
}

#[test]
fn a_batch_the_books_never_had_is_unknown_and_throws_the_amounts_off() {
    let report = report(vec![owe(ISSUER, ACQUIRER, "EUR:4.00", &[1, 9])]);
    let books = books(&[(ISSUER, 1, "EUR:1.00"), (OTHER, 9, "EUR:3.00")]);
    let found = reconcile(ACQUIRER, &report, &books);
    assert_eq!(
        kinds(&found),
        vec![
            (
                DiscrepancyKind::UnknownConfirmation,
                Some(BatchId([9; 16])),
                0,
                0
            ),
            (DiscrepancyKind::AmountMismatch, None, 100, 400),
            // Batch 9 is in the books, but from another issuer: that claim was never listed.
            (
                DiscrepancyKind::MissingConfirmation,
                Some(BatchId([9; 16])),
                300,
                0
            ),
        ]
    );
    assert_eq!(found[0].counterparty, ISSUER);
    assert_eq!(found[2].counterparty, OTHER);
}

#[test]
fn a_wrong_amount_is_a_mismatch_of_the_obligation_and_of_the_net() {
    let report = report(vec![
        owe(ISSUER, ACQUIRER, "EUR:3.50", &[1, 2]),
        owe(ACQUIRER, OTHER, "EUR:1.00", &[6]),
    ]);
    let books = books(&[(ISSUER, 1, "EUR:1.00"), (ISSUER, 2, "EUR:2.00")]);
    let found = reconcile(ACQUIRER, &report, &books);
    assert_eq!(
        kinds(&found),
        vec![
            (DiscrepancyKind::AmountMismatch, None, 300, 350),
            (DiscrepancyKind::NetPositionMismatch, None, 200, 250),
        ]
    );
}

#[test]
fn a_batch_listed_in_one_currency_only_is_missing_in_the_other() {
    let report = report(vec![
        owe(ISSUER, ACQUIRER, "EUR:1.00", &[1]),
        owe(ISSUER, ACQUIRER, "USD:1.00", &[4]),
    ]);
    let books = books(&[
        (ISSUER, 1, "EUR:1.00"),
        (ISSUER, 1, "USD:2.00"),
        (ISSUER, 4, "EUR:1.00"),
    ]);
    let found = reconcile(ACQUIRER, &report, &books);
    assert_eq!(
        kinds(&found),
        vec![
            (
                DiscrepancyKind::UnknownConfirmation,
                Some(BatchId([4; 16])),
                0,
                0
            ),
            (DiscrepancyKind::AmountMismatch, None, 0, 100),
            (
                DiscrepancyKind::MissingConfirmation,
                Some(BatchId([1; 16])),
                200,
                0
            ),
            (
                DiscrepancyKind::MissingConfirmation,
                Some(BatchId([4; 16])),
                100,
                0
            ),
            (DiscrepancyKind::NetPositionMismatch, None, 200, 100),
            (DiscrepancyKind::NetPositionMismatch, None, 200, 100),
        ]
    );
    assert_eq!(found[2].currency.code(), "USD");
    assert_eq!(found[3].currency.code(), "EUR");
    assert_eq!(found[4].currency.code(), "EUR");
    assert_eq!(found[5].currency.code(), "USD");
}
