//! Refunds in settlement, the same cases over RocksDB and over a real PostgreSQL this test
//! starts: the clearing house settles each refund once and nets it at the cut, from the acquirer
//! to the issuer, cycle by cycle and across a reopen; a participant indexes the refunds of the
//! reports it records, so that a report of another cycle listing one again is found.

mod common;

use std::sync::Arc;

use common::target::{Case, Target, on_postgres, on_rocksdb};
use common::*;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::{
    ClaimRef, ConfirmationRefusal, RefundClaimable, RefundKey, RefundVerdict,
};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{BankId, CycleId, Digest, SubmissionId};
use semper_protocol::limits::SUBMISSION_REFUNDS_MAX;
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::messages::settlement::{
    RefundObligation, SettlementReport, SignedSettlementReport,
};
use semper_protocol::signed::Signed;
use semper_storage::Role;
use semper_storage::clearing::{
    self, CutCycle, CutOutcome, OpenFirstCycle, RecordSubmission, SubmissionOutcome,
};
use semper_storage::commit::Committer;
use semper_storage::reports::{self, RecordReport, ReportOutcome};

const CLEARING: BankId = BankId([9; 16]);
const ISSUER: BankId = BankId([1; 16]);
const ACQUIRER: BankId = BankId([2; 16]);

fn refund(id: u8, amount: &str, fee: &str) -> RefundVerdict {
    Ok(RefundClaimable {
        key: RefundKey {
            issuer: ISSUER,
            refund: Digest([id; 32]),
        },
        acquirer: ACQUIRER,
        amount: eur(amount),
        fee: eur(fee),
    })
}

fn submission(id: u8, refunds: Vec<RefundVerdict>) -> RecordSubmission {
    RecordSubmission {
        clearing: CLEARING,
        by: ClaimRef {
            acquirer: ACQUIRER,
            submission_id: SubmissionId([id; 16]),
        },
        body_digest: Digest([id; 32]),
        received_at: AT,
        verdicts: BoundedVec::empty(),
        refund_verdicts: BoundedVec::<RefundVerdict, SUBMISSION_REFUNDS_MAX>::new(refunds).unwrap(),
    }
}

fn refund_claims(committer: &Committer, record: RecordSubmission) -> Vec<ClaimResult> {
    match committer.execute(record).unwrap().unwrap() {
        SubmissionOutcome::Recorded { receipt, .. } => receipt.refund_claims.to_vec(),
        other => panic!("expected a new record, got {other:?}"),
    }
}

fn cut(committer: &Committer) -> SignedSettlementReport {
    let key = SigningKey::from_seed(&[9; 32]);
    let outcome = committer
        .execute(CutCycle {
            clearing: CLEARING,
            sequence: None,
            cutoff_at: AT.plus_ms(1000),
            sign: Arc::new(move |report| Signed::sign(report, &key)),
            fence: None,
        })
        .unwrap()
        .unwrap();
    match outcome {
        CutOutcome::Cut { report, .. } => report,
        other => panic!("expected a cut, got {other:?}"),
    }
}

fn owed(ids: &[u8], amount: &str, fees: &str) -> RefundObligation {
    RefundObligation {
        acquirer: ACQUIRER,
        issuer: ISSUER,
        amount: eur(amount),
        fees: eur(fees),
        refunds: ids
            .iter()
            .map(|id| Digest([*id; 32]))
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
    }
}

fn clearing_settles_refunds_once(target: &Target) {
    let by_first = ClaimResult::AlreadyClaimed {
        acquirer: ACQUIRER,
        submission_id: SubmissionId([1; 16]),
    };
    {
        let (_store, committer) = target.open(Role::Clearing);
        committer
            .execute(OpenFirstCycle {
                clearing: CLEARING,
                at: AT,
            })
            .unwrap();
        let refused = Err(ConfirmationRefusal::BadSignature);
        assert_eq!(
            refund_claims(
                &committer,
                submission(
                    1,
                    vec![
                        refund(1, "0.40", "0.05"),
                        refund(2, "0.30", "0.05"),
                        refund(1, "0.40", "0.05"),
                        refused,
                    ]
                )
            ),
            vec![
                ClaimResult::Claimed,
                ClaimResult::Claimed,
                by_first.clone(),
                ClaimResult::Refused {
                    code: "confirmation.bad_signature".into()
                },
            ]
        );
    }
    // Reopened: the claims hold, and the cut nets them.
    let (store, committer) = target.open(Role::Clearing);
    assert_eq!(
        refund_claims(&committer, submission(2, vec![refund(2, "0.30", "0.05")])),
        vec![by_first]
    );
    let report = cut(&committer);
    let fields = report.body().fields();
    assert_eq!(*fields.refunds, [owed(&[1, 2], "0.70", "0.10")]);
    let net = |bank| {
        fields
            .net_positions
            .iter()
            .find(|p| p.bank == bank)
            .map_or(0, |p| p.net_minor_units)
    };
    assert_eq!((net(ACQUIRER), net(ISSUER)), (-70, 70));
    assert_eq!(clearing::cycle_refunds(&store, 1, 10).unwrap().len(), 2);
    // The next cycle starts with none, and numbers its refunds from the first.
    assert_eq!(
        refund_claims(&committer, submission(3, vec![refund(3, "0.20", "0.00")])),
        vec![ClaimResult::Claimed]
    );
    let next = cut(&committer);
    assert_eq!(*next.body().fields().refunds, [owed(&[3], "0.20", "0.00")]);
    assert_eq!(clearing::cycle_refunds(&store, 2, 10).unwrap().len(), 1);
}

fn reported(sequence: u64, ids: &[u8]) -> SignedSettlementReport {
    let units: u64 = 10 * ids.len() as u64;
    let body = SettlementReport::with_refunds(
        CLEARING,
        CycleId([sequence as u8; 16]),
        sequence,
        AT,
        Vec::new(),
        vec![owed(ids, &format!("0.{units:02}"), "0.00")],
    )
    .unwrap();
    Signed::sign(body, &SigningKey::from_seed(&[9; 32]))
}

fn reports_index_their_refunds(target: &Target) {
    {
        let (store, committer) = target.open(Role::Issuer);
        let first = RecordReport {
            report: reported(1, &[1, 2]),
            received_at: AT,
            discrepancies: Vec::new(),
        };
        assert_eq!(
            committer.execute(first).unwrap(),
            ReportOutcome::Recorded(Vec::new())
        );
        let asked = [Digest([1; 32]), Digest([3; 32])];
        let found = reports::listed_before(&store, &asked).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[&Digest([1; 32])], 1);
    }
    // Reopened: the index is there, and a conflicting report of cycle 1 changes nothing of it.
    let (store, committer) = target.open(Role::Issuer);
    let conflicting = RecordReport {
        report: reported(1, &[3]),
        received_at: AT,
        discrepancies: Vec::new(),
    };
    assert_eq!(
        committer.execute(conflicting).unwrap(),
        ReportOutcome::Conflicting
    );
    let asked = [Digest([2; 32]), Digest([3; 32])];
    let found = reports::listed_before(&store, &asked).unwrap();
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec![(Digest([2; 32]), 1)]
    );
}

const CASES: &[(&str, Case)] = &[
    (
        "clearing_settles_refunds_once",
        clearing_settles_refunds_once,
    ),
    ("reports_index_their_refunds", reports_index_their_refunds),
];

#[test]
fn rocksdb_refund_settlement() {
    on_rocksdb("refund-settlement", CASES);
}

#[test]
fn postgres_refund_settlement() {
    on_postgres(CASES);
}
