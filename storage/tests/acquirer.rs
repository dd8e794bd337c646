//! The acquirer's records: a micro-batch's one write, the coin index, the outbox's move into a
//! submission, and the answer stored once; all of it there again after a reopen.

mod common;

use common::target::{Case, Target, on_postgres, on_rocksdb};
use common::*;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::blind_rsa::RsaSignature;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{
    BankId, BatchId, CoinId, ContractHash, CycleId, DenominationId, Digest, MerchantId, RequestId,
    SubmissionId,
};
use semper_protocol::messages::coin::Coin;
use semper_protocol::messages::deposit::{DepositPermission, SignedDepositPermission};
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::messages::receipt::{ClaimResult, SubmissionReceipt};
use semper_protocol::messages::settlement::SettlementSubmission;
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendConfirmation, SpendConfirmation,
};
use semper_protocol::signed::Signed;
use semper_storage::acquirer::deposits::{
    self, CoinInput, DepositInput, DepositOutcome, RecordDeposits, coin_key,
};
use semper_storage::acquirer::merchants::{self, MerchantError, RegisterMerchant};
use semper_storage::acquirer::outbox::{self, CreateSubmission, OutboxError};
use semper_storage::acquirer::submissions::{self, SettleSubmission, SubmissionState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use semper_storage::StorageError;
use semper_storage::acquirer::lanes::BLOCK;
use semper_storage::commit::{Committer, GroupReader, Transaction, WriteSet};
use semper_storage::{Role, Store};

const ACQUIRER: BankId = BankId([2; 16]);
const ISSUER: BankId = BankId([1; 16]);

fn open(target: &Target) -> (Store, Committer) {
    let (store, committer) = target.open(Role::Acquirer);
    (store, committer)
}

/// A permission of coin `coin` (its RSA signature is not checked here) to `merchant`.
fn permission(coin: u8, merchant: MerchantId, contract: u8) -> SignedDepositPermission {
    let coin_key = SigningKey::from_seed(&[coin; 32]);
    let body = DepositPermission {
        coin: Coin {
            denomination: DenominationId([7; 32]),
            public_key: *coin_key.verifying_key(),
            signature: RsaSignature(vec![coin; 256]),
        },
        contract_hash: ContractHash([contract; 32]),
        merchant,
        acquirer: ACQUIRER,
        amount: eur("1.00"),
        timestamp: AT,
    };
    Signed::sign(body, &coin_key)
}

fn confirmed(permission: &SignedDepositPermission, batch: u8) -> CoinInput {
    CoinInput::Confirmed {
        batch_id: BatchId([batch; 16]),
        digest: permission.body_digest(),
        permission: Box::new(permission.clone()),
        fee: eur("0.00"),
    }
}

fn confirmation(batch: u8, permissions: &[&SignedDepositPermission]) -> SignedSpendConfirmation {
    let entries = permissions
        .iter()
        .map(|p| ConfirmedSpend {
            coin: CoinId::of(&p.body().coin.public_key),
            denomination: p.body().coin.denomination,
            amount: p.body().amount,
            permission: p.body_digest(),
        })
        .collect::<Vec<_>>();
    let body = SpendConfirmation {
        issuer: ISSUER,
        acquirer: ACQUIRER,
        batch_id: BatchId([batch; 16]),
        confirmed_at: AT,
        entries: BoundedVec::new(entries).unwrap(),
    };
    Signed::sign(body, &SigningKey::from_seed(&[1; 32]))
}

fn deposit(merchant: MerchantId, id: u8, coins: Vec<CoinInput>) -> DepositInput {
    DepositInput {
        merchant,
        deposit_id: RequestId([id; 16]),
        request_digest: Digest([id; 32]),
        refund_deadline: AT,
        coins,
    }
}

fn register(committer: &Committer, merchant: MerchantId) {
    let key = SigningKey::from_seed(&[merchant.0[0]; 32]);
    let register = RegisterMerchant {
        merchant,
        public_key: *key.verifying_key(),
    };
    let record = committer.execute(register.clone()).unwrap().unwrap();
    // Again with the same key: the same record; with another: refused.
    assert_eq!(
        committer.execute(register.clone()).unwrap().unwrap(),
        record
    );
    let other = RegisterMerchant {
        public_key: *SigningKey::from_seed(&[99; 32]).verifying_key(),
        ..register
    };
    assert_eq!(
        committer.execute(other).unwrap(),
        Err(MerchantError::MerchantExists)
    );
}

fn a_micro_batch_credits_each_coin_once_and_answers_retries_from_its_records(target: &Target) {
    let (m1, m2) = (MerchantId([1; 16]), MerchantId([2; 16]));
    let (x, y, z) = (
        permission(1, m1, 1),
        permission(2, m1, 1),
        permission(3, m2, 1),
    );
    {
        let (store, committer) = open(target);
        register(&committer, m1);
        register(&committer, m2);
        let refused = CoinInput::Settled(DepositResult::Refused {
            code: "deposit.invalid_permission_signature".into(),
        });
        let outcomes = committer
            .execute(RecordDeposits {
                deposits: vec![
                    deposit(m1, 1, vec![confirmed(&x, 1), refused]),
                    // The same coin again in the same batch, with another permission: the first
                    // credit stands and this one is a conflict with its proof.
                    deposit(
                        m2,
                        1,
                        vec![confirmed(&z, 1), confirmed(&permission(1, m2, 2), 1)],
                    ),
                    // A coin the issuer did not answer: credited coins stay, the deposit is open.
                    deposit(
                        m1,
                        2,
                        vec![
                            confirmed(&y, 1),
                            CoinInput::Unresolved {
                                code: "deposit.issuer_unavailable".into(),
                            },
                        ],
                    ),
                ],
                confirmations: vec![confirmation(1, &[&x, &z, &y])],
                at: AT,
            })
            .unwrap();
        let DepositOutcome::Recorded(first) = &outcomes[0] else {
            panic!("{:?}", outcomes[0]);
        };
        assert_eq!(first.results[0], DepositResult::Accepted);
        let DepositOutcome::Recorded(second) = &outcomes[1] else {
            panic!("{:?}", outcomes[1]);
        };
        assert_eq!(
            second.results.to_vec(),
            vec![
                DepositResult::Accepted,
                DepositResult::Conflict {
                    earlier: Box::new(x.clone())
                }
            ]
        );
        assert_eq!(
            outcomes[2],
            DepositOutcome::Incomplete {
                code: "deposit.issuer_unavailable".into()
            }
        );
        let balance = |m| {
            merchants::merchant(&store, &m)
                .unwrap()
                .unwrap()
                .balance(eur("0").currency())
        };
        assert_eq!((balance(m1), balance(m2)), (eur("2.00"), eur("1.00")));
        assert_eq!(outbox::depth(&store).unwrap(), 1);
        let credit = deposits::coin_credits(&store, &[coin_key(&x)])
            .unwrap()
            .remove(0)
            .unwrap();
        assert_eq!(
            (credit.merchant, credit.deposit_id),
            (m1, RequestId([1; 16]))
        );
    }
    // Reopened: the retries are answered from the records, and credit nothing more.
    let (store, committer) = open(target);
    let outcomes = committer
        .execute(RecordDeposits {
            deposits: vec![
                deposit(m1, 1, vec![confirmed(&x, 5)]),
                deposit(
                    m1,
                    2,
                    vec![
                        CoinInput::Known {
                            digest: y.body_digest(),
                            coin: coin_key(&y),
                        },
                        confirmed(&permission(4, m1, 1), 5),
                    ],
                ),
                deposit(m2, 7, vec![confirmed(&x, 5)]),
            ],
            confirmations: vec![],
            at: AT,
        })
        .unwrap();
    assert!(matches!(outcomes[0], DepositOutcome::Replayed(_)));
    let DepositOutcome::Recorded(finished) = &outcomes[1] else {
        panic!("{:?}", outcomes[1]);
    };
    assert_eq!(finished.results.to_vec(), vec![DepositResult::Accepted; 2]);
    let DepositOutcome::Recorded(replay) = &outcomes[2] else {
        panic!("{:?}", outcomes[2]);
    };
    assert_eq!(replay.results.to_vec(), vec![DepositResult::Replay]);
    let balance = merchants::merchant(&store, &m1)
        .unwrap()
        .unwrap()
        .balance(eur("0").currency());
    assert_eq!(balance, eur("3.00"));
    assert_eq!(
        merchants::merchant_journal(&store, &m1, 10).unwrap().len(),
        3
    );
    let reused = DepositInput {
        request_digest: Digest([9; 32]),
        ..deposit(m1, 1, vec![])
    };
    let outcome = committer
        .execute(RecordDeposits {
            deposits: vec![reused],
            confirmations: vec![],
            at: AT,
        })
        .unwrap();
    assert_eq!(
        outcome,
        vec![DepositOutcome::Refused(MerchantError::DepositIdReused)]
    );
}

fn confirmations_move_from_the_outbox_into_one_submission_answered_once(target: &Target) {
    let m = MerchantId([1; 16]);
    let (store, committer) = open(target);
    register(&committer, m);
    let (a, b, c) = (
        permission(1, m, 1),
        permission(2, m, 1),
        permission(3, m, 1),
    );
    let record = |batch: u8, p: &SignedDepositPermission| RecordDeposits {
        deposits: vec![deposit(m, batch, vec![confirmed(p, batch)])],
        confirmations: vec![confirmation(batch, &[p])],
        at: AT,
    };
    for (batch, p) in [(1, &a), (2, &b), (3, &c)] {
        committer.execute(record(batch, p)).unwrap();
    }
    assert_eq!(outbox::depth(&store).unwrap(), 3);

    let oldest = outbox::oldest(&store, 2).unwrap();
    let (sequences, confirmations): (Vec<u64>, Vec<_>) = oldest.into_iter().unzip();
    assert_eq!(sequences, vec![0, 1]);
    let id = SubmissionId([5; 16]);
    let submission = Signed::sign(
        SettlementSubmission {
            acquirer: ACQUIRER,
            submission_id: id,
            submitted_at: AT,
            confirmations: BoundedVec::new(confirmations).unwrap(),
            refunds: BoundedVec::empty(),
        },
        &SigningKey::from_seed(&[2; 32]),
    );
    let create = CreateSubmission {
        submission: submission.clone(),
        outbox_sequences: sequences,
        refund_sequences: Vec::new(),
        fence: None,
    };
    let created = committer.execute(create.clone()).unwrap().unwrap();
    assert_eq!(created.state, SubmissionState::Pending);
    assert_eq!(outbox::depth(&store).unwrap(), 1);
    assert_eq!(submissions::pending_ids(&store, 10).unwrap(), vec![id]);
    // Twice: the confirmations are gone from the outbox, and the id is taken.
    assert_eq!(
        committer.execute(create).unwrap(),
        Err(OutboxError::SubmissionExists)
    );

    let receipt = Signed::sign(
        SubmissionReceipt {
            clearing: BankId([9; 16]),
            acquirer: ACQUIRER,
            submission_id: id,
            cycle: CycleId([4; 16]),
            cycle_sequence: 4,
            received_at: AT,
            claims: BoundedVec::new(vec![
                ClaimResult::Claimed,
                ClaimResult::Refused {
                    code: "confirmation.bad_signature".into(),
                },
            ])
            .unwrap(),
            refund_claims: BoundedVec::empty(),
        },
        &SigningKey::from_seed(&[9; 32]),
    );
    let settle = SettleSubmission {
        submission_id: id,
        outcome: SubmissionState::Answered(receipt.clone()),
    };
    let settled = committer.execute(settle).unwrap().unwrap();
    assert_eq!(settled.state, SubmissionState::Answered(receipt.clone()));
    // A second answer changes nothing.
    let again = SettleSubmission {
        submission_id: id,
        outcome: SubmissionState::Refused {
            code: "late".into(),
        },
    };
    assert_eq!(committer.execute(again).unwrap().unwrap(), settled);
    drop(committer);
    drop(store);

    let (store, _committer) = open(target);
    assert!(submissions::pending_ids(&store, 10).unwrap().is_empty());
    assert_eq!(
        submissions::submission(&store, &id).unwrap().unwrap().state,
        SubmissionState::Answered(receipt)
    );
    let filed = submissions::cycle_claims(&store, 4, 10).unwrap();
    assert_eq!(filed.len(), 1);
    assert_eq!((filed[0].0, filed[0].1), (ISSUER, BatchId([1; 16])));
    assert_eq!(filed[0].2.totals.to_vec(), vec![eur("1.00")]);
    let refused = submissions::refused_claims(&store, 10).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].batch_id, BatchId([2; 16]));
    assert_eq!(outbox::depth(&store).unwrap(), 1);
}

/// An outbox written before lanes, by its one counter: the counter at 5, and the entries 3 and 4
/// waiting (0 to 2 were taken). Its depth reads the same, new entries come after it, and taking
/// its oldest entries counts them as taken.
fn an_outbox_from_before_lanes_goes_on_where_it_stopped(target: &Target) {
    use semper_protocol::codec::Encode;
    use semper_storage::schema::{Column, META_OUTBOX_NEXT};
    let m = MerchantId([1; 16]);
    let (store, committer) = open(target);
    register(&committer, m);
    let waiting = [confirmation(3, &[]), confirmation(4, &[])];
    let mut changes = vec![(
        Column::Meta,
        META_OUTBOX_NEXT.to_vec(),
        Some(5u64.to_be_bytes().to_vec()),
    )];
    for (sequence, waiting) in [3u64, 4].into_iter().zip(&waiting) {
        changes.push((
            Column::Outbox,
            sequence.to_be_bytes().to_vec(),
            Some(waiting.to_bytes()),
        ));
    }
    store.write_synced(&changes).unwrap();
    assert_eq!(outbox::depth(&store).unwrap(), 2);

    let p = permission(1, m, 1);
    committer
        .execute(RecordDeposits {
            deposits: vec![deposit(m, 9, vec![confirmed(&p, 9)])],
            confirmations: vec![confirmation(9, &[&p])],
            at: AT,
        })
        .unwrap();
    assert_eq!(outbox::depth(&store).unwrap(), 3);
    let oldest = outbox::oldest(&store, 10).unwrap();
    let sequences: Vec<u64> = oldest.iter().map(|(sequence, _)| *sequence).collect();
    assert_eq!(sequences, vec![3, 4, 5]);

    let taken: Vec<_> = oldest.into_iter().take(2).collect();
    let (outbox_sequences, confirmations): (Vec<u64>, Vec<_>) = taken.into_iter().unzip();
    let submission = Signed::sign(
        SettlementSubmission {
            acquirer: ACQUIRER,
            submission_id: SubmissionId([6; 16]),
            submitted_at: AT,
            confirmations: BoundedVec::new(confirmations).unwrap(),
            refunds: BoundedVec::empty(),
        },
        &SigningKey::from_seed(&[2; 32]),
    );
    committer
        .execute(CreateSubmission {
            submission,
            outbox_sequences,
            refund_sequences: Vec::new(),
            fence: None,
        })
        .unwrap()
        .unwrap();
    assert_eq!(outbox::depth(&store).unwrap(), 1);
    let q = permission(2, m, 1);
    committer
        .execute(RecordDeposits {
            deposits: vec![deposit(m, 10, vec![confirmed(&q, 10)])],
            confirmations: vec![confirmation(10, &[&q])],
            at: AT,
        })
        .unwrap();
    let sequences: Vec<u64> = outbox::oldest(&store, 10)
        .unwrap()
        .iter()
        .map(|(sequence, _)| *sequence)
        .collect();
    assert_eq!(sequences, vec![5, 6]);
    drop(committer);
    drop(store);
    let (store, _committer) = open(target);
    assert_eq!(outbox::depth(&store).unwrap(), 2);
}

const CASES: &[(&str, Case)] = &[
    (
        "an_outbox_from_before_lanes_goes_on_where_it_stopped",
        an_outbox_from_before_lanes_goes_on_where_it_stopped,
    ),
    (
        "a_micro_batch_credits_each_coin_once_and_answers_retries_from_its_records",
        a_micro_batch_credits_each_coin_once_and_answers_retries_from_its_records,
    ),
    (
        "confirmations_move_from_the_outbox_into_one_submission_answered_once",
        confirmations_move_from_the_outbox_into_one_submission_answered_once,
    ),
];

/// A transaction that, the first time it is applied, waits after its reads until `resume`: so
/// that another writer can write in between, before its group is written.
#[derive(Clone)]
struct PausedAfterReading<T> {
    inner: T,
    paused: Arc<AtomicBool>,
    read: crossbeam_channel::Sender<()>,
    resume: crossbeam_channel::Receiver<()>,
}

impl<T: Transaction> Transaction for PausedAfterReading<T> {
    type Output = T::Output;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let applied = self.inner.apply(reader);
        if !self.paused.swap(true, Ordering::SeqCst) {
            self.read.send(()).unwrap();
            self.resume.recv_timeout(Duration::from_secs(60)).unwrap();
        }
        applied
    }
}

/// Two gateways of one bank over one PostgreSQL database queue confirmations at once: one
/// gateway's micro-batch reads, the other's is written, then the first's is written. Neither is
/// applied again (each takes its outbox sequence numbers from its own lane, not from one
/// counter both read and write), and every confirmation is queued once, under its own number.
fn two_gateways_queue_confirmations_without_contending(target: &Target) {
    assert!(
        matches!(target, Target::Postgres(_)),
        "two writers need a shared store"
    );
    let ((store, gateway_a), (other, gateway_b)) = (open(target), open(target));
    assert_ne!(store.writer(), other.writer());
    let (m, n) = (MerchantId([1; 16]), MerchantId([2; 16]));
    register(&gateway_a, m);
    register(&gateway_b, n);
    let record = |merchant: MerchantId, coin: u8| {
        let p = permission(coin, merchant, 1);
        RecordDeposits {
            deposits: vec![deposit(merchant, coin, vec![confirmed(&p, coin)])],
            confirmations: vec![confirmation(coin, &[&p])],
            at: AT,
        }
    };
    // Each gateway's first deposit reserves its lane's block: the one shared write, once a
    // block.
    gateway_a.execute(record(m, 1)).unwrap();
    gateway_b.execute(record(n, 2)).unwrap();

    let (read, was_read) = crossbeam_channel::bounded(1);
    let (resume, resumed) = crossbeam_channel::bounded(1);
    let paused = PausedAfterReading {
        inner: record(m, 3),
        paused: Arc::new(AtomicBool::new(false)),
        read,
        resume: resumed,
    };
    std::thread::scope(|scope| {
        let first = scope.spawn(|| gateway_a.execute(paused).unwrap());
        was_read.recv_timeout(Duration::from_secs(60)).unwrap();
        gateway_b.execute(record(n, 4)).unwrap();
        resume.send(()).unwrap();
        first.join().unwrap();
    });

    for gateway in [&gateway_a, &gateway_b] {
        assert_eq!(gateway.stats().conflicts.load(Ordering::SeqCst), 0);
    }
    assert_eq!(outbox::depth(&store).unwrap(), 4);
    assert_eq!(outbox::depth(&other).unwrap(), 4);
    let queued = outbox::oldest(&store, 10).unwrap();
    let sequences: Vec<u64> = queued.iter().map(|(sequence, _)| *sequence).collect();
    let batches: Vec<u8> = queued
        .iter()
        .map(|(_, confirmation)| confirmation.body().batch_id.0[0])
        .collect();
    // Each gateway's in the order it wrote them, in its own block.
    assert_eq!(sequences, vec![0, 1, BLOCK, BLOCK + 1]);
    assert_eq!(batches, vec![1, 3, 2, 4]);
}

#[test]
fn rocksdb_acquirer() {
    on_rocksdb("acquirer", CASES);
}

#[test]
fn postgres_acquirer() {
    on_postgres(
        &[
            CASES,
            &[(
                "two_gateways_queue_confirmations_without_contending",
                two_gateways_queue_confirmations_without_contending as Case,
            )],
        ]
        .concat(),
    );
}
