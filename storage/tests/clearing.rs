//! The clearing house's books: claims race, idempotent submissions, cut-offs and recovery.

mod common;

use std::sync::{Arc, Barrier};

use common::target::{Case, Target, on_postgres, on_rocksdb};
use common::*;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::{
    ClaimRef, Claimable, ConfirmationKey, ConfirmationRefusal, Verdict,
};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{BankId, BatchId, CoinId, Digest, SubmissionId};
use semper_protocol::limits::SUBMISSION_CONFIRMATIONS_MAX;
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::signed::Signed;
use semper_storage::clearing::{
    self, CutCycle, CutOutcome, OpenFirstCycle, RecordSubmission, SubmissionOutcome,
    SubmissionRefused,
};
use semper_storage::commit::Committer;
use semper_storage::{Role, Store};

const CLEARING: BankId = BankId([9; 16]);
const ISSUER: BankId = BankId([1; 16]);

fn open_clearing(target: &Target) -> (Store, Committer) {
    let (store, committer) = target.open(Role::Clearing);
    committer
        .execute(OpenFirstCycle {
            clearing: CLEARING,
            at: AT,
        })
        .unwrap();
    (store, committer)
}

fn candidate(acquirer: u8, batch: u8, coins: &[u8], amount: &str) -> Verdict {
    Ok(Claimable {
        key: ConfirmationKey {
            issuer: ISSUER,
            acquirer: BankId([acquirer; 16]),
            batch_id: BatchId([batch; 16]),
        },
        amount: eur(amount),
        coins: coins
            .iter()
            .map(|c| CoinId::of(SigningKey::from_seed(&[*c; 32]).verifying_key()))
            .collect(),
    })
}

fn record(acquirer: u8, id: u8, verdicts: Vec<Verdict>) -> RecordSubmission {
    RecordSubmission {
        clearing: CLEARING,
        by: by(acquirer, id),
        body_digest: Digest([id; 32]),
        received_at: AT,
        verdicts: BoundedVec::<Verdict, SUBMISSION_CONFIRMATIONS_MAX>::new(verdicts).unwrap(),
        refund_verdicts: BoundedVec::empty(),
    }
}

fn by(acquirer: u8, id: u8) -> ClaimRef {
    ClaimRef {
        acquirer: BankId([acquirer; 16]),
        submission_id: SubmissionId([id; 16]),
    }
}

fn recorded(outcome: Result<SubmissionOutcome, SubmissionRefused>) -> Vec<ClaimResult> {
    match outcome.unwrap() {
        SubmissionOutcome::Recorded { receipt, .. } => receipt.claims.to_vec(),
        other => panic!("expected a new record, got {other:?}"),
    }
}

fn cut(committer: &Committer, sequence: Option<u64>) -> CutOutcome {
    let key = SigningKey::from_seed(&[9; 32]);
    committer
        .execute(CutCycle {
            clearing: CLEARING,
            sequence,
            cutoff_at: AT.plus_ms(1000),
            sign: std::sync::Arc::new(move |report| Signed::sign(report, &key)),
            fence: None,
        })
        .unwrap()
        .unwrap()
}

fn concurrent_submissions_of_one_confirmation_have_exactly_one_claimant(target: &Target) {
    let (store, committer) = open_clearing(target);
    let committer = Arc::new(committer);
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8u8)
        .map(|task| {
            let (committer, barrier) = (committer.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                // Every task claims batch 1 of acquirer 2, among a batch of its own.
                let verdicts = vec![
                    candidate(2, 100 + task, &[100 + task], "1.00"),
                    candidate(2, 1, &[1, 2], "2.00"),
                ];
                recorded(committer.execute(record(2, task, verdicts)).unwrap())
            })
        })
        .collect();
    let results: Vec<Vec<ClaimResult>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.iter().all(|r| r[0] == ClaimResult::Claimed));
    let winners: Vec<u8> = (0..8u8)
        .filter(|t| results[usize::from(*t)][1] == ClaimResult::Claimed)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let first = by(2, winners[0]);
    for result in &results {
        assert!(
            result[1] == ClaimResult::Claimed
                || result[1]
                    == ClaimResult::AlreadyClaimed {
                        acquirer: first.acquirer,
                        submission_id: first.submission_id
                    }
        );
    }
    let open = clearing::open_cycle(&store).unwrap().unwrap();
    assert_eq!((open.submissions, open.confirmations), (8, 9));
}

fn a_submission_is_answered_once_and_its_id_cannot_be_reused(target: &Target) {
    let (store, committer) = open_clearing(target);
    let refused = Err(ConfirmationRefusal::BadSignature);
    let first = committer
        .execute(record(
            2,
            1,
            vec![candidate(2, 1, &[1], "1.00"), refused.clone()],
        ))
        .unwrap()
        .unwrap();
    let SubmissionOutcome::Recorded { receipt, cycle } = first else {
        panic!("expected a new record");
    };
    assert_eq!(cycle.sequence, 1);
    assert_eq!(
        receipt.claims.to_vec(),
        vec![
            ClaimResult::Claimed,
            ClaimResult::Refused {
                code: "confirmation.bad_signature".into()
            }
        ]
    );
    // The same submission again: the same receipt, nothing claimed twice.
    let again = committer
        .execute(record(2, 1, vec![candidate(2, 1, &[1], "1.00"), refused]))
        .unwrap();
    assert_eq!(again, Ok(SubmissionOutcome::Replayed(receipt.clone())));
    // The same id with another body.
    let mut other = record(2, 1, vec![]);
    other.body_digest = Digest([77; 32]);
    assert_eq!(
        committer.execute(other).unwrap(),
        Err(SubmissionRefused::IdReused)
    );
    let stored = clearing::submission(&store, &BankId([2; 16]), &SubmissionId([1; 16]))
        .unwrap()
        .unwrap();
    assert_eq!(stored.receipt, receipt);
    assert_eq!(
        clearing::open_cycle(&store).unwrap().unwrap().submissions,
        1
    );
}

fn a_cut_reports_the_cycles_claims_opens_the_next_and_survives_a_restart(target: &Target) {
    {
        let (_store, committer) = open_clearing(target);
        committer
            .execute(record(
                2,
                1,
                vec![
                    candidate(2, 1, &[1], "1.00"),
                    candidate(2, 2, &[2, 3], "2.50"),
                ],
            ))
            .unwrap()
            .unwrap();
        committer
            .execute(record(3, 1, vec![candidate(3, 4, &[4], "0.50")]))
            .unwrap()
            .unwrap();
        let CutOutcome::Cut { report, next } = cut(&committer, Some(1)) else {
            panic!("cycle 1 is open");
        };
        let fields = report.body().fields();
        assert_eq!(fields.sequence, 1);
        assert_eq!(fields.obligations.len(), 2);
        assert_eq!(fields.obligations[0].amount, eur("3.50"));
        assert_eq!(
            *fields.obligations[0].confirmations,
            [BatchId([1; 16]), BatchId([2; 16])]
        );
        let issuer = fields
            .net_positions
            .iter()
            .find(|p| p.bank == ISSUER)
            .unwrap();
        assert_eq!(issuer.net_minor_units, -400);
        assert_eq!(
            (next.sequence, next.submissions, next.confirmations),
            (2, 0, 0)
        );
        assert_eq!(next.opened_at, AT.plus_ms(1000));
        // A second trigger for the same cycle cuts nothing.
        assert_eq!(cut(&committer, Some(1)), CutOutcome::NotOpen(next));
    }
    // Everything comes back from the DB; a claim made before the restart stays claimed.
    let (store, committer) = open_clearing(target);
    let open = clearing::open_cycle(&store).unwrap().unwrap();
    assert_eq!(open.sequence, 2);
    assert_eq!(clearing::cycle_claims(&store, 1, 10).unwrap().len(), 3);
    let reports = clearing::reports_after(&store, 0, 10).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].body().fields().sequence, 1);
    assert!(clearing::reports_after(&store, 1, 10).unwrap().is_empty());
    assert_eq!(
        clearing::report(&store, 1).unwrap(),
        Some(reports[0].clone())
    );
    let again = recorded(
        committer
            .execute(record(2, 2, vec![candidate(2, 5, &[3], "1.00")]))
            .unwrap(),
    );
    assert_eq!(
        again,
        vec![ClaimResult::AlreadyClaimed {
            acquirer: BankId([2; 16]),
            submission_id: SubmissionId([1; 16])
        }]
    );
}

fn a_cut_marks_its_report_undelivered_until_its_delivery_is_recorded_across_restarts(
    target: &Target,
) {
    {
        let (store, committer) = open_clearing(target);
        assert!(clearing::undelivered(&store, 10).unwrap().is_empty());
        cut(&committer, Some(1));
        cut(&committer, Some(2));
        assert_eq!(clearing::undelivered(&store, 10).unwrap(), [1, 2]);
        assert_eq!(clearing::undelivered(&store, 1).unwrap(), [1]);
        committer
            .execute(clearing::ReportDelivered { sequence: 1 })
            .unwrap();
    }
    // Read back from the DB alone: cycle 2's report is still to deliver.
    let (store, committer) = open_clearing(target);
    assert_eq!(clearing::undelivered(&store, 10).unwrap(), [2]);
    assert_eq!(clearing::open_cycle(&store).unwrap().unwrap().sequence, 3);
    // Recorded twice (a delivery and its catch-up): the same as once.
    for _ in 0..2 {
        committer
            .execute(clearing::ReportDelivered { sequence: 2 })
            .unwrap();
    }
    assert!(clearing::undelivered(&store, 10).unwrap().is_empty());
    assert!(clearing::report(&store, 2).unwrap().is_some());
}

const CASES: &[(&str, Case)] = &[
    (
        "concurrent_submissions_of_one_confirmation_have_exactly_one_claimant",
        concurrent_submissions_of_one_confirmation_have_exactly_one_claimant,
    ),
    (
        "a_submission_is_answered_once_and_its_id_cannot_be_reused",
        a_submission_is_answered_once_and_its_id_cannot_be_reused,
    ),
    (
        "a_cut_reports_the_cycles_claims_opens_the_next_and_survives_a_restart",
        a_cut_reports_the_cycles_claims_opens_the_next_and_survives_a_restart,
    ),
    (
        "a_cut_marks_its_report_undelivered_until_its_delivery_is_recorded_across_restarts",
        a_cut_marks_its_report_undelivered_until_its_delivery_is_recorded_across_restarts,
    ),
];

#[test]
fn rocksdb_clearing() {
    on_rocksdb("clearing", CASES);
}

#[test]
fn postgres_clearing() {
    on_postgres(CASES);
}
