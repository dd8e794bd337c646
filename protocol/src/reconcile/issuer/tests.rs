use super::*;
use crate::reconcile::tests::{ACQUIRER, CLEARING, ISSUER, OTHER, kinds, owe, report};

fn books(entries: &[(BankId, u8, &str)]) -> HashMap<(BankId, BatchId), Vec<Amount>> {
    let mut books: HashMap<(BankId, BatchId), Vec<Amount>> = HashMap::new();
    for (acquirer, batch, amount) in entries {
        books
            .entry((*acquirer, BatchId([*batch; 16])))
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
        // The issuer also acquires: its issuer books have nothing to say about that.
        owe(OTHER, ISSUER, "EUR:1.00", &[6]),
    ]);
    let books = books(&[(ACQUIRER, 1, "EUR:1.00"), (ACQUIRER, 2, "EUR:2.00")]);
    assert_eq!(reconcile(ISSUER, &report, &books), vec![]);
    assert_eq!(
        batches_owed(ISSUER, &report),
        vec![(ACQUIRER, BatchId([1; 16])), (ACQUIRER, BatchId([2; 16]))]
    );
}

#[test]
fn an_unknown_batch_is_reported_with_the_amounts_it_throws_off() {
    let report = report(vec![owe(ISSUER, ACQUIRER, "EUR:4.00", &[1, 3])]);
    let books = books(&[(ACQUIRER, 1, "EUR:1.00"), (OTHER, 3, "EUR:3.00")]);
    let found = reconcile(ISSUER, &report, &books);
    assert_eq!(
        kinds(&found),
        vec![
            (
                DiscrepancyKind::UnknownConfirmation,
                Some(BatchId([3; 16])),
                0,
                0
            ),
            (DiscrepancyKind::AmountMismatch, None, 100, 400),
            (DiscrepancyKind::NetPositionMismatch, None, -100, -400),
        ]
    );
    assert!(
        found
            .iter()
            .all(|d| d.bank == ISSUER && d.cycle_sequence == 4)
    );
    assert_eq!(found[0].counterparty, ACQUIRER);
    assert_eq!(found[2].counterparty, CLEARING);
}

#[test]
fn a_wrong_amount_or_a_batch_known_in_another_currency_is_a_mismatch() {
    let report = report(vec![
        owe(ISSUER, ACQUIRER, "EUR:3.50", &[1, 2]),
        owe(ISSUER, ACQUIRER, "USD:1.00", &[4]),
    ]);
    let books = books(&[
        (ACQUIRER, 1, "EUR:1.00"),
        (ACQUIRER, 2, "EUR:2.00"),
        (ACQUIRER, 4, "EUR:1.00"),
    ]);
    let found = reconcile(ISSUER, &report, &books);
    assert_eq!(
        kinds(&found),
        vec![
            (DiscrepancyKind::AmountMismatch, None, 300, 350),
            (
                DiscrepancyKind::UnknownConfirmation,
                Some(BatchId([4; 16])),
                0,
                0
            ),
            (DiscrepancyKind::AmountMismatch, None, 0, 100),
            (DiscrepancyKind::NetPositionMismatch, None, -300, -350),
            (DiscrepancyKind::NetPositionMismatch, None, 0, -100),
        ]
    );
    assert_eq!(found[3].currency.code(), "EUR");
    assert_eq!(found[4].currency.code(), "USD");
}
