//! Received settlement reports and their discrepancies; what an issuer confirmed per batch, and
//! its refusal of a batch id sent again for other coins.

mod common;

use common::target::{Case, Target, on_postgres, on_rocksdb};
use common::*;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::crypto::hash::sha256;
use semper_protocol::ids::{BankId, BatchId, CycleId, Digest};
use semper_protocol::messages::settlement::{Obligation, SettlementReport, SignedSettlementReport};
use semper_protocol::reconcile::{Discrepancy, DiscrepancyKind};
use semper_protocol::signed::Signed;
use semper_storage::Role;
use semper_storage::confirmed_batches;
use semper_storage::reports::{self, RecordRefusedReport, RecordReport, ReportOutcome};
use semper_storage::spent::{BatchIdReused, CheckBatch, SpendBatch, SpendEntry, SpendOutcome};

const ACQUIRER: BankId = BankId([2; 16]);

fn signed_report(sequence: u64, amount: &str) -> SignedSettlementReport {
    let obligation = Obligation {
        issuer: BankId([1; 16]),
        acquirer: ACQUIRER,
        amount: eur(amount),
        confirmations: BoundedVec::new(vec![BatchId([1; 16])]).unwrap(),
    };
    let report = SettlementReport::new(
        BankId([9; 16]),
        CycleId([0; 16]),
        sequence,
        AT,
        vec![obligation],
    )
    .unwrap();
    Signed::sign(report, &SigningKey::from_seed(&[9; 32]))
}

fn discrepancy(sequence: u64, kind: DiscrepancyKind) -> Discrepancy {
    Discrepancy {
        cycle_sequence: sequence,
        bank: BankId([1; 16]),
        counterparty: ACQUIRER,
        currency: eur("1.00").currency(),
        batch: None,
        refund: None,
        kind,
        books_minor_units: 1,
        report_minor_units: 2,
    }
}

fn a_report_is_recorded_once_and_a_conflicting_or_refused_one_never_replaces_it(target: &Target) {
    let (store, committer) = target.open(Role::Issuer);
    assert_eq!(reports::last_sequence(&store).unwrap(), None);
    let found = vec![discrepancy(2, DiscrepancyKind::AmountMismatch)];
    let record = |report, discrepancies| RecordReport {
        report,
        received_at: AT,
        discrepancies,
    };
    let first = committer
        .execute(record(signed_report(2, "1.00"), found.clone()))
        .unwrap();
    assert_eq!(first, ReportOutcome::Recorded(found.clone()));
    // Re-delivered: nothing new, the same answer.
    let again = committer
        .execute(record(signed_report(2, "1.00"), vec![]))
        .unwrap();
    assert_eq!(again, ReportOutcome::Duplicate(found.clone()));
    // Another report of the same cycle: refused, the first kept.
    let other = committer
        .execute(record(signed_report(2, "9.00"), vec![]))
        .unwrap();
    assert_eq!(other, ReportOutcome::Conflicting);
    committer
        .execute(record(signed_report(1, "1.00"), vec![]))
        .unwrap();
    assert_eq!(reports::last_sequence(&store).unwrap(), Some(2));
    let kept = reports::received_report(&store, 2).unwrap().unwrap();
    assert_eq!(kept.report, signed_report(2, "1.00"));

    let bad = RecordRefusedReport {
        digest: Digest([5; 32]),
        discrepancy: discrepancy(3, DiscrepancyKind::BadReport),
    };
    let refused = committer.execute(bad.clone()).unwrap();
    assert_eq!(
        refused,
        ReportOutcome::Recorded(vec![bad.discrepancy.clone()])
    );
    assert_eq!(
        committer.execute(bad.clone()).unwrap(),
        ReportOutcome::Duplicate(vec![bad.discrepancy.clone()])
    );
    assert_eq!(reports::received_report(&store, 3).unwrap(), None);
    assert_eq!(
        reports::discrepancies(&store, 0, 100).unwrap(),
        vec![found[0].clone(), bad.discrepancy.clone()]
    );
    assert_eq!(
        reports::discrepancies(&store, 1, 100).unwrap(),
        vec![bad.discrepancy]
    );
}

fn the_applied_through_mark_waits_for_a_report_missed_and_then_passes_the_later_ones(
    target: &Target,
) {
    let (store, committer) = target.open(Role::Issuer);
    let record = |sequence| RecordReport {
        report: signed_report(sequence, "1.00"),
        received_at: AT,
        discrepancies: vec![],
    };
    assert_eq!(reports::applied_through(&store).unwrap(), 0);
    committer.execute(record(1)).unwrap();
    assert_eq!(reports::applied_through(&store).unwrap(), 1);
    // Cycle 2 missed: 3 and 4 arrive, the mark stays where catching up must ask from.
    committer.execute(record(3)).unwrap();
    committer.execute(record(4)).unwrap();
    assert_eq!(reports::applied_through(&store).unwrap(), 1);
    assert_eq!(reports::last_sequence(&store).unwrap(), Some(4));
    // A refused report of cycle 2 does not fill the gap.
    committer
        .execute(RecordRefusedReport {
            digest: Digest([2; 32]),
            discrepancy: discrepancy(2, DiscrepancyKind::BadReport),
        })
        .unwrap();
    assert_eq!(reports::applied_through(&store).unwrap(), 1);
    committer.execute(record(2)).unwrap();
    assert_eq!(reports::applied_through(&store).unwrap(), 4);
    // A re-delivery changes nothing.
    committer.execute(record(2)).unwrap();
    assert_eq!(reports::applied_through(&store).unwrap(), 4);
}

fn the_spend_write_records_the_totals_of_new_and_replayed_coins(target: &Target) {
    let (store, committer) = target.open(Role::Issuer);
    let batch = (ACQUIRER, BatchId([1; 16]));
    let outcomes = committer
        .execute(check_batch(batch, vec![spend(1, 1), spend(2, 1)]))
        .unwrap()
        .unwrap();
    assert_eq!(outcomes, vec![SpendOutcome::New, SpendOutcome::New]);
    let retried = (ACQUIRER, BatchId([2; 16]));
    let outcomes = committer
        .execute(check_batch(
            retried,
            vec![spend(1, 1), spend(2, 2), spend(3, 1)],
        ))
        .unwrap()
        .unwrap();
    assert!(matches!(outcomes[1], SpendOutcome::Conflict { .. }));
    let unknown = (ACQUIRER, BatchId([3; 16]));
    let books = confirmed_batches::totals(&store, &[batch, retried, unknown]).unwrap();
    assert_eq!(books.len(), 2);
    assert_eq!(books[&batch], vec![eur("2.00")]);
    // The replay and the new coin; the double spend is not confirmed.
    assert_eq!(books[&retried], vec![eur("2.00")]);
}

fn a_batch_id_sent_again_with_other_coins_is_refused_and_changes_nothing(target: &Target) {
    let (store, committer) = target.open(Role::Issuer);
    let batch = (ACQUIRER, BatchId([7; 16]));
    let first = check_batch(batch, vec![spend(1, 1), spend(2, 1)]);
    let outcomes = committer.execute(first.clone()).unwrap().unwrap();
    assert_eq!(outcomes, vec![SpendOutcome::New, SpendOutcome::New]);
    // The same batch again is a batch of replays.
    let outcomes = committer.execute(first).unwrap().unwrap();
    assert_eq!(outcomes, vec![SpendOutcome::Replay, SpendOutcome::Replay]);
    // The same id with a coin left out and a new one added: refused whole.
    let altered = check_batch(batch, vec![spend(1, 1), spend(3, 1)]);
    assert_eq!(committer.execute(altered).unwrap(), Err(BatchIdReused));
    let books = confirmed_batches::totals(&store, &[batch]).unwrap();
    assert_eq!(books[&batch], vec![eur("2.00")]);
    // Coin 3 was not marked spent: a batch of its own takes it.
    let other = check_batch((ACQUIRER, BatchId([8; 16])), vec![spend(3, 1)]);
    assert_eq!(
        committer.execute(other).unwrap().unwrap(),
        vec![SpendOutcome::New]
    );
}

/// A spend-check batch of `entries` under `(acquirer, batch)`, its digest taken over its entries.
fn check_batch((acquirer, batch): (BankId, BatchId), entries: Vec<SpendEntry>) -> CheckBatch {
    let digests: Vec<&[u8]> = entries
        .iter()
        .map(|entry| entry.permission_digest.as_bytes().as_slice())
        .collect();
    CheckBatch {
        batch: SpendBatch {
            acquirer,
            batch,
            digest: Digest(sha256(&digests)),
        },
        entries,
    }
}

const CASES: &[(&str, Case)] = &[
    (
        "a_report_is_recorded_once_and_a_conflicting_or_refused_one_never_replaces_it",
        a_report_is_recorded_once_and_a_conflicting_or_refused_one_never_replaces_it,
    ),
    (
        "the_applied_through_mark_waits_for_a_report_missed_and_then_passes_the_later_ones",
        the_applied_through_mark_waits_for_a_report_missed_and_then_passes_the_later_ones,
    ),
    (
        "the_spend_write_records_the_totals_of_new_and_replayed_coins",
        the_spend_write_records_the_totals_of_new_and_replayed_coins,
    ),
    (
        "a_batch_id_sent_again_with_other_coins_is_refused_and_changes_nothing",
        a_batch_id_sent_again_with_other_coins_is_refused_and_changes_nothing,
    ),
];

#[test]
fn rocksdb_reports() {
    on_rocksdb("reports", CASES);
}

#[test]
fn postgres_reports() {
    on_postgres(CASES);
}
