//! Refunds in storage, the same cases over RocksDB and over a real PostgreSQL this test starts:
//! the acquirer's debit with its record, its notice queued and the coin's total, in one write;
//! the issuer's notice checked against the spent set with the coin's allowance, in one write;
//! replays answered the same, refusals leaving nothing, all of it there again after a reopen;
//! the refund fee the issuer keeps; the refund outbox moved into a submission and its claims
//! filed by cycle; and the swap of a refunded coin for its allowance, once.

mod common;

use common::target::{Case, Target, on_postgres, on_rocksdb};
use common::*;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::Encode;
use semper_protocol::crypto::blind_rsa::RsaSignature;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{
    BankId, BatchId, CoinId, ContractHash, DenominationId, Digest, MerchantId, RequestId,
};
use semper_protocol::ids::{CycleId, SubmissionId};
use semper_protocol::messages::coin::Coin;
use semper_protocol::messages::deposit::{DepositPermission, SignedDepositPermission};
use semper_protocol::messages::receipt::{ClaimResult, SubmissionReceipt};
use semper_protocol::messages::refund::{
    RefundAnswer, RefundConfirmation, RefundNotice, RefundRequest, SignedRefundNotice,
};
use semper_protocol::messages::settlement::SettlementSubmission;
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_storage::acquirer::deposits::{CoinInput, DepositInput, RecordDeposits};
use semper_storage::acquirer::merchants::{self, RegisterMerchant};
use semper_storage::acquirer::outbox::{self, CreateSubmission, OutboxError};
use semper_storage::acquirer::refunds::{
    self, RecordRefund, RecordRefundAnswer, RefundError, RefundOutcome,
};
use semper_storage::acquirer::submissions::{self, SettleSubmission, SubmissionState};
use semper_storage::commit::{GroupReader, Transaction, WriteSet};
use semper_storage::refund_allowances::{
    AllowanceExceeded, RecordRefundNotice, refund_allowance, stage_allowance_use,
};
use semper_storage::spent::{CheckAndInsert, SpendEntry, SpendOutcome};
use semper_storage::swaps::{RecordSwap, SwapOutcome, SwapRecord};
use semper_storage::{Committer, Role, StorageError, Store};

const ACQUIRER: BankId = BankId([2; 16]);
const ISSUER: BankId = BankId([1; 16]);
const MERCHANT: MerchantId = MerchantId([5; 16]);
const DENOMINATION: DenominationId = DenominationId([7; 32]);
const DEADLINE: Timestamp = Timestamp::from_unix_ms(1_800_000_060_000);

/// Coin 1's permission to pay the merchant EUR:1.00 for contract 1.
fn paid() -> SignedDepositPermission {
    let coin_key = SigningKey::from_seed(&[1; 32]);
    let body = DepositPermission {
        coin: Coin {
            denomination: DENOMINATION,
            public_key: *coin_key.verifying_key(),
            signature: RsaSignature(vec![1; 256]),
        },
        contract_hash: ContractHash([1; 32]),
        merchant: MERCHANT,
        acquirer: ACQUIRER,
        amount: eur("1.00"),
        timestamp: AT,
    };
    Signed::sign(body, &coin_key)
}

fn request(id: u8, amount: &str) -> Signed<RefundRequest> {
    let paid = paid();
    Signed::sign(
        RefundRequest {
            merchant: MERCHANT,
            refund_id: RequestId([id; 16]),
            contract_hash: paid.body().contract_hash,
            denomination: DENOMINATION,
            coin: CoinId::of(&paid.body().coin.public_key),
            amount: eur(amount),
        },
        &SigningKey::from_seed(&[5; 32]),
    )
}

fn notice(refund: Digest, amount: &str) -> SignedRefundNotice {
    let paid = paid();
    Signed::sign(
        RefundNotice {
            acquirer: ACQUIRER,
            refund,
            denomination: DENOMINATION,
            coin: CoinId::of(&paid.body().coin.public_key),
            permission: paid.body_digest(),
            amount: eur(amount),
        },
        &SigningKey::from_seed(&[2; 32]),
    )
}

fn record(id: u8, amount: &str, at: Timestamp) -> RecordRefund {
    let request = request(id, amount);
    RecordRefund {
        merchant: MERCHANT,
        refund_id: request.body().refund_id,
        request_digest: request.body_digest(),
        notice: notice(request.body_digest(), amount),
        request: request.body().clone(),
        issuer: ISSUER,
        fee: eur("0.00"),
        at,
    }
}

fn code<T>(outcome: Result<T, RefundError>) -> Result<T, &'static str> {
    outcome.map_err(|e| e.code())
}

fn balance(store: &Store) -> String {
    let record = merchants::merchant(store, &MERCHANT).unwrap().unwrap();
    record.balance(eur("0").currency()).to_string()
}

fn acquirer_refunds(target: &Target) {
    {
        let (store, committer) = target.open(Role::Acquirer);
        committer
            .execute(RegisterMerchant {
                merchant: MERCHANT,
                public_key: *SigningKey::from_seed(&[5; 32]).verifying_key(),
            })
            .unwrap()
            .unwrap();
        let paid = paid();
        committer
            .execute(RecordDeposits {
                deposits: vec![DepositInput {
                    merchant: MERCHANT,
                    deposit_id: RequestId([9; 16]),
                    request_digest: Digest([9; 32]),
                    refund_deadline: DEADLINE,
                    coins: vec![CoinInput::Confirmed {
                        batch_id: BatchId([1; 16]),
                        digest: paid.body_digest(),
                        permission: Box::new(paid),
                        fee: "EUR:0.00".parse().unwrap(),
                    }],
                }],
                confirmations: vec![],
                at: AT,
            })
            .unwrap();
        assert_eq!(balance(&store), "EUR:1.00");

        let first = committer.execute(record(1, "0.40", AT)).unwrap().unwrap();
        let RefundOutcome::Recorded(response) = first else {
            panic!("recorded: {first:?}")
        };
        assert_eq!(response.coin_refunded, eur("0.40"));
        assert_eq!(balance(&store), "EUR:0.60");
        // The same request again: its answer, nothing debited.
        assert_eq!(
            committer.execute(record(1, "0.40", AT)).unwrap(),
            Ok(RefundOutcome::Replayed(response))
        );
        // Refusals leave everything as it was.
        let refusals = [
            (record(1, "0.10", AT), "refund.id_reused"),
            (record(2, "0.61", AT), "refund.over_paid"),
            (
                record(3, "0.10", DEADLINE.plus_ms(1)),
                "refund.deadline_passed",
            ),
        ];
        for (refund, expected) in refusals {
            assert_eq!(
                code(committer.execute(refund).unwrap()).map(|_| ()),
                Err(expected)
            );
        }
        assert_eq!(balance(&store), "EUR:0.60");
        assert_eq!(refunds::pending(&store, 10).unwrap().len(), 1);
    }
    // Reopened: the debit, the record and the queued notice are there.
    let (store, committer) = target.open(Role::Acquirer);
    assert_eq!(balance(&store), "EUR:0.60");
    let pending = refunds::pending(&store, 10).unwrap();
    assert_eq!(pending.len(), 1);
    let rest = committer.execute(record(4, "0.60", DEADLINE)).unwrap();
    assert!(matches!(rest, Ok(RefundOutcome::Recorded(ref r)) if r.coin_refunded == eur("1.00")));
    assert_eq!(balance(&store), "EUR:0.00");
    // The issuer's answer is recorded once, and its confirmation queued for settlement.
    let confirmation = Signed::sign(
        RefundConfirmation {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            refund: pending[0].record.request_digest,
            denomination: DENOMINATION,
            coin: pending[0].record.notice.body().coin,
            amount: eur("0.40"),
            fee: eur("0.00"),
            confirmed_at: AT,
        },
        &SigningKey::from_seed(&[1; 32]),
    );
    let answer = RecordRefundAnswer {
        sequence: pending[0].sequence,
        refund: pending[0].refund,
        answer: RefundAnswer::Confirmed {
            confirmation: Box::new(confirmation.clone()),
        },
    };
    assert!(committer.execute(answer.clone()).unwrap());
    assert!(!committer.execute(answer).unwrap());
    assert_eq!(refunds::pending(&store, 10).unwrap().len(), 1);
    let queued = outbox::oldest_refunds(&store, 10).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].1, confirmation);
    submitted_and_filed(&store, &committer, queued);
}

/// The queued refund confirmations go into a submission, leaving the refund outbox in the same
/// write; the receipt's claim files the refund under its cycle.
fn submitted_and_filed(
    store: &Store,
    committer: &Committer,
    queued: Vec<(
        u64,
        semper_protocol::messages::refund::SignedRefundConfirmation,
    )>,
) {
    let (sequences, confirmations): (Vec<u64>, Vec<_>) = queued.into_iter().unzip();
    let refund = confirmations[0].body().refund;
    let id = SubmissionId([6; 16]);
    let submission = Signed::sign(
        SettlementSubmission {
            acquirer: ACQUIRER,
            submission_id: id,
            submitted_at: AT,
            confirmations: BoundedVec::empty(),
            refunds: BoundedVec::new(confirmations).unwrap(),
        },
        &SigningKey::from_seed(&[2; 32]),
    );
    let create = CreateSubmission {
        submission,
        outbox_sequences: Vec::new(),
        refund_sequences: sequences,
        fence: None,
    };
    committer.execute(create.clone()).unwrap().unwrap();
    assert_eq!(outbox::refund_depth(store).unwrap(), 0);
    // The same move again finds the confirmations gone, under another id too.
    let mut other = create;
    other.submission = Signed::sign(
        SettlementSubmission {
            submission_id: SubmissionId([7; 16]),
            ..other.submission.body().clone()
        },
        &SigningKey::from_seed(&[2; 32]),
    );
    assert_eq!(
        committer.execute(other).unwrap(),
        Err(OutboxError::OutboxChanged)
    );
    let receipt = Signed::sign(
        SubmissionReceipt {
            clearing: BankId([9; 16]),
            acquirer: ACQUIRER,
            submission_id: id,
            cycle: CycleId([4; 16]),
            cycle_sequence: 4,
            received_at: AT,
            claims: BoundedVec::empty(),
            refund_claims: BoundedVec::new(vec![ClaimResult::Claimed]).unwrap(),
        },
        &SigningKey::from_seed(&[9; 32]),
    );
    committer
        .execute(SettleSubmission {
            submission_id: id,
            outcome: SubmissionState::Answered(receipt),
        })
        .unwrap()
        .unwrap();
    let filed = submissions::cycle_refunds(store, 4, 10).unwrap();
    assert_eq!(filed.len(), 1);
    assert_eq!((filed[0].0, filed[0].1), (ISSUER, refund));
    assert_eq!(filed[0].2.amount, eur("0.40"));
    assert!(submissions::cycle_refunds(store, 3, 10).unwrap().is_empty());
}

/// Stages the use of `amount` of coin 1's allowance, as a swap does in its own write.
#[derive(Clone)]
struct UseAllowance(&'static str);

impl Transaction for UseAllowance {
    type Output = Result<(), AllowanceExceeded>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        let coin = CoinId::of(&paid().body().coin.public_key);
        let used = stage_allowance_use(reader, &mut writes, &DENOMINATION, &coin, eur(self.0))?;
        Ok((used, writes))
    }
}

fn issuer_notices(target: &Target) {
    let paid = paid();
    let coin = CoinId::of(&paid.body().coin.public_key);
    let confirm = |notice: &SignedRefundNotice| {
        Signed::sign(
            RefundConfirmation {
                issuer: ISSUER,
                acquirer: ACQUIRER,
                refund: notice.body().refund,
                denomination: DENOMINATION,
                coin,
                amount: notice.body().amount,
                fee: eur("0.00"),
                confirmed_at: AT,
            },
            &SigningKey::from_seed(&[1; 32]),
        )
    };
    let run = |committer: &Committer, notice: SignedRefundNotice| {
        let confirmation = confirm(&notice);
        committer
            .execute(RecordRefundNotice {
                notice,
                confirmation,
            })
            .unwrap()
            .map_err(|e| e.code())
    };
    {
        let (store, committer) = target.open(Role::Issuer);
        // Not spent yet: nothing to refund.
        assert_eq!(
            run(&committer, notice(Digest([1; 32]), "0.40")),
            Err("refund.unknown_coin")
        );
        let spent = committer
            .execute(CheckAndInsert {
                entries: vec![SpendEntry {
                    denomination: DENOMINATION,
                    coin: *coin.as_bytes(),
                    permission_digest: paid.body_digest(),
                    permission: paid.to_bytes(),
                    amount: eur("1.00"),
                }],
            })
            .unwrap();
        assert_eq!(spent, vec![SpendOutcome::New]);
        let first = notice(Digest([1; 32]), "0.40");
        let confirmed = run(&committer, first.clone()).unwrap();
        assert_eq!(confirmed, confirm(&first));
        assert_eq!(
            refund_allowance(&store, &DENOMINATION, &coin).unwrap(),
            Some(eur("0.40"))
        );
        // A retry gets the first confirmation, whatever was signed for it now.
        assert_eq!(run(&committer, first), Ok(confirmed));
        assert_eq!(
            run(&committer, notice(Digest([1; 32]), "0.50")),
            Err("refund.id_reused")
        );
        assert_eq!(
            run(&committer, notice(Digest([2; 32]), "0.61")),
            Err("refund.over_paid")
        );
        assert_eq!(
            refund_allowance(&store, &DENOMINATION, &coin).unwrap(),
            Some(eur("0.40"))
        );
    }
    let (store, committer) = target.open(Role::Issuer);
    assert_eq!(
        refund_allowance(&store, &DENOMINATION, &coin).unwrap(),
        Some(eur("0.40"))
    );
    // A swap uses the allowance, once.
    assert_eq!(committer.execute(UseAllowance("0.30")).unwrap(), Ok(()));
    assert_eq!(
        committer.execute(UseAllowance("0.20")).unwrap(),
        Err(AllowanceExceeded)
    );
    assert_eq!(
        refund_allowance(&store, &DENOMINATION, &coin).unwrap(),
        Some(eur("0.10"))
    );
    // A later refund raises it again, within what the coin paid.
    assert_eq!(
        run(&committer, notice(Digest([3; 32]), "0.60")).map(|_| ()),
        Ok(())
    );
    assert_eq!(
        refund_allowance(&store, &DENOMINATION, &coin).unwrap(),
        Some(eur("0.70"))
    );
    refunded_swaps(&store, &committer, &paid);
}

/// A swap gives the refunded coin in for its allowance: more than is left refuses the whole swap
/// with the deposit as proof and changes nothing; what is left goes through once, beside a fresh
/// coin; its retry is answered from the record; another swap of the coin is a double spend.
fn refunded_swaps(store: &Store, committer: &Committer, paid: &SignedDepositPermission) {
    let coin = CoinId::of(&paid.body().coin.public_key);
    let given = |amount: &str, digest: u8| SpendEntry {
        denomination: DENOMINATION,
        coin: *coin.as_bytes(),
        permission_digest: Digest([digest; 32]),
        permission: vec![digest],
        amount: eur(amount),
    };
    let fresh = SpendEntry {
        coin: [3; 32],
        ..given("1.00", 8)
    };
    let record = |digest: u8| SwapRecord {
        request_digest: Digest([digest; 32]),
        blind_signatures: Vec::new().try_into().unwrap(),
        at: AT,
    };
    let swap = |id: u8, coins: Vec<SpendEntry>| RecordSwap {
        request_id: RequestId([id; 16]),
        record: record(id),
        coins,
        refunded: vec![1],
        issued: Default::default(),
    };
    let conflict = SwapOutcome::Conflict {
        index: 1,
        earlier: paid.to_bytes(),
    };
    let too_much = swap(1, vec![fresh.clone(), given("0.80", 9)]);
    assert_eq!(committer.execute(too_much).unwrap(), conflict);
    assert_eq!(
        committer
            .execute(CheckAndInsert {
                entries: vec![fresh.clone()]
            })
            .unwrap(),
        vec![SpendOutcome::New],
        "the refused swap left the fresh coin unspent"
    );
    let fresh = SpendEntry {
        coin: [4; 32],
        ..fresh
    };
    let once = swap(2, vec![fresh.clone(), given("0.70", 9)]);
    assert_eq!(
        committer.execute(once.clone()).unwrap(),
        SwapOutcome::Recorded(record(2))
    );
    assert_eq!(
        refund_allowance(store, &DENOMINATION, &coin).unwrap(),
        Some(eur("0.00"))
    );
    assert_eq!(
        committer.execute(once).unwrap(),
        SwapOutcome::Replayed(record(2))
    );
    let again = swap(
        3,
        vec![
            SpendEntry {
                coin: [5; 32],
                ..fresh
            },
            given("0.70", 10),
        ],
    );
    assert_eq!(committer.execute(again).unwrap(), conflict);
}

/// The issuer keeps the coin's refund fee from the allowance each refund adds (the customer pays
/// it), and a refund the fee would swallow is refused with nothing recorded.
fn issuer_keeps_the_refund_fee(target: &Target) {
    let paid = paid();
    let coin = CoinId::of(&paid.body().coin.public_key);
    let run = |committer: &Committer, notice: SignedRefundNotice| {
        let confirmation = Signed::sign(
            RefundConfirmation {
                issuer: ISSUER,
                acquirer: ACQUIRER,
                refund: notice.body().refund,
                denomination: DENOMINATION,
                coin,
                amount: notice.body().amount,
                fee: eur("0.05"),
                confirmed_at: AT,
            },
            &SigningKey::from_seed(&[1; 32]),
        );
        committer
            .execute(RecordRefundNotice {
                notice,
                confirmation,
            })
            .unwrap()
            .map(|confirmation| confirmation.body().fee)
            .map_err(|e| e.code())
    };
    {
        let (store, committer) = target.open(Role::Issuer);
        committer
            .execute(CheckAndInsert {
                entries: vec![SpendEntry {
                    denomination: DENOMINATION,
                    coin: *coin.as_bytes(),
                    permission_digest: paid.body_digest(),
                    permission: paid.to_bytes(),
                    amount: eur("1.00"),
                }],
            })
            .unwrap();
        assert_eq!(
            run(&committer, notice(Digest([1; 32]), "0.05")),
            Err("refund.below_fee")
        );
        assert_eq!(
            refund_allowance(&store, &DENOMINATION, &coin).unwrap(),
            None
        );
        assert_eq!(
            run(&committer, notice(Digest([2; 32]), "0.40")),
            Ok(eur("0.05"))
        );
        assert_eq!(
            run(&committer, notice(Digest([3; 32]), "0.60")),
            Ok(eur("0.05"))
        );
    }
    // Reopened: everything the coin paid was refunded; the customer gets it back less two fees.
    let (store, _committer) = target.open(Role::Issuer);
    assert_eq!(
        refund_allowance(&store, &DENOMINATION, &coin).unwrap(),
        Some(eur("0.90"))
    );
}

const CASES: &[(&str, Case)] = &[
    ("acquirer_refunds", acquirer_refunds),
    ("issuer_notices", issuer_notices),
    ("issuer_keeps_the_refund_fee", issuer_keeps_the_refund_fee),
];

#[test]
fn rocksdb_refunds() {
    on_rocksdb("refunds", CASES);
}

#[test]
fn postgres_refunds() {
    on_postgres(CASES);
}
