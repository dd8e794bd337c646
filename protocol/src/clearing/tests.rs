use super::check::{authenticate, check_confirmations};
use super::claim::decide;
use super::*;
use crate::amount::{Amount, Currency};
use crate::bounded::BoundedVec;
use crate::crypto::ed25519::{Signature, SigningKey};
use crate::ids::CoinId;
use crate::ids::{BatchId, DenominationId, Digest, SubmissionId};
use crate::messages::receipt::ClaimResult;
use crate::messages::refund::{RefundConfirmation, SignedRefundConfirmation};
use crate::messages::settlement::{SettlementSubmission, SignedSettlementSubmission};
use crate::messages::spend::{ConfirmedSpend, SignedSpendConfirmation, SpendConfirmation};
use crate::signed::Signed;
use crate::time::Timestamp;

const ACQUIRER: BankId = BankId([1; 16]);
const OTHER_ACQUIRER: BankId = BankId([2; 16]);
const ISSUER: BankId = BankId([3; 16]);
const UNKNOWN: BankId = BankId([4; 16]);
const AT: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

fn participants() -> Participants {
    Participants::new([
        Participant {
            bank: ACQUIRER,
            acquirer_key: Some(*key(1).verifying_key()),
            issuer_key: None,
        },
        Participant {
            bank: OTHER_ACQUIRER,
            acquirer_key: Some(*key(2).verifying_key()),
            issuer_key: None,
        },
        Participant {
            bank: ISSUER,
            acquirer_key: None,
            issuer_key: Some(*key(3).verifying_key()),
        },
    ])
    .unwrap()
}

fn entry(coin: u8, amount: &str) -> ConfirmedSpend {
    ConfirmedSpend {
        coin: CoinId::of(key(100 + coin).verifying_key()),
        denomination: DenominationId([7; 32]),
        amount: amount.parse().unwrap(),
        permission: Digest([coin; 32]),
    }
}

fn confirmation(
    issuer: BankId,
    acquirer: BankId,
    batch: u8,
    entries: Vec<ConfirmedSpend>,
    signer: u8,
) -> SignedSpendConfirmation {
    let body = SpendConfirmation {
        issuer,
        acquirer,
        batch_id: BatchId([batch; 16]),
        confirmed_at: AT,
        entries: entries.try_into().unwrap(),
    };
    Signed::sign(body, &key(signer))
}

fn good(batch: u8, coins: &[u8]) -> SignedSpendConfirmation {
    let entries = coins.iter().map(|c| entry(*c, "EUR:1.00")).collect();
    confirmation(ISSUER, ACQUIRER, batch, entries, 3)
}

fn submission(
    acquirer: BankId,
    id: u8,
    confirmations: Vec<SignedSpendConfirmation>,
    signer: u8,
) -> SignedSettlementSubmission {
    let body = SettlementSubmission {
        acquirer,
        submission_id: SubmissionId([id; 16]),
        submitted_at: AT,
        confirmations: confirmations.try_into().unwrap(),
        refunds: BoundedVec::empty(),
    };
    Signed::sign(body, &key(signer))
}

fn refund(
    issuer: BankId,
    acquirer: BankId,
    id: u8,
    amount: &str,
    fee: &str,
    signer: u8,
) -> SignedRefundConfirmation {
    let body = RefundConfirmation {
        issuer,
        acquirer,
        refund: Digest([id; 32]),
        denomination: DenominationId([7; 32]),
        coin: CoinId::of(key(100 + id).verifying_key()),
        amount: amount.parse().unwrap(),
        fee: fee.parse().unwrap(),
        confirmed_at: AT,
    };
    Signed::sign(body, &key(signer))
}

fn by(acquirer: BankId, id: u8) -> ClaimRef {
    ClaimRef {
        acquirer,
        submission_id: SubmissionId([id; 16]),
    }
}

fn codes(verdicts: &[Verdict]) -> Vec<&'static str> {
    verdicts
        .iter()
        .map(|v| v.as_ref().map_or_else(|r| r.code(), |_| "ok"))
        .collect()
}

#[test]
fn only_a_registered_acquirers_signed_submission_within_its_bound_is_authenticated() {
    let registry = participants();
    let signed = submission(ACQUIRER, 1, vec![good(1, &[1])], 1);
    assert_eq!(authenticate(&signed, &registry), Ok(()));
    let forged = submission(ACQUIRER, 1, vec![good(1, &[1])], 2);
    assert_eq!(
        authenticate(&forged, &registry).unwrap_err().code(),
        "submission.invalid_acquirer_signature"
    );
    let stranger = submission(UNKNOWN, 1, vec![], 1);
    assert_eq!(
        authenticate(&stranger, &registry),
        Err(SubmissionRefusal::UnknownAcquirer)
    );

    // Over the entries bound: refused before any signature is looked at.
    let per_confirmation = crate::limits::CONFIRMATION_ENTRIES_MAX;
    let count = crate::limits::SUBMISSION_ENTRIES_MAX / per_confirmation + 1;
    let full = SpendConfirmation {
        issuer: ISSUER,
        acquirer: ACQUIRER,
        batch_id: BatchId([1; 16]),
        confirmed_at: AT,
        entries: vec![entry(1, "EUR:1.00"); per_confirmation]
            .try_into()
            .unwrap(),
    };
    let unsigned = Signed::from_parts(full, Signature([0; 64]));
    let body = SettlementSubmission {
        acquirer: ACQUIRER,
        submission_id: SubmissionId([1; 16]),
        submitted_at: AT,
        confirmations: vec![unsigned; count].try_into().unwrap(),
        refunds: BoundedVec::empty(),
    };
    let oversized = Signed::from_parts(body, Signature([0; 64]));
    assert_eq!(
        authenticate(&oversized, &registry),
        Err(SubmissionRefusal::TooManyEntries {
            entries: count * per_confirmation
        })
    );
}

#[test]
fn each_confirmation_gets_its_own_verdict_and_one_bad_signature_spares_its_neighbours() {
    let yen = Amount::from_minor_units(Currency::new("JPY").unwrap(), 5);
    let max = Amount::from_minor_units(Currency::new("EUR").unwrap(), u64::MAX);
    let mut mixed = vec![entry(20, "EUR:1.00"), entry(21, "EUR:1.00")];
    mixed[1].amount = yen;
    let mut overflowing = vec![entry(30, "EUR:1.00"), entry(31, "EUR:1.00")];
    overflowing[0].amount = max;
    let signed = submission(
        ACQUIRER,
        1,
        vec![
            good(1, &[1, 2]),
            confirmation(ISSUER, ACQUIRER, 2, vec![entry(3, "EUR:1.00")], 9),
            good(3, &[4]),
            confirmation(ISSUER, OTHER_ACQUIRER, 4, vec![entry(5, "EUR:1.00")], 3),
            confirmation(UNKNOWN, ACQUIRER, 5, vec![entry(6, "EUR:1.00")], 4),
            confirmation(ISSUER, ACQUIRER, 6, vec![], 3),
            confirmation(ISSUER, ACQUIRER, 7, mixed, 3),
            confirmation(ISSUER, ACQUIRER, 8, overflowing, 3),
            good(9, &[10, 11, 10]),
        ],
        1,
    );
    let verdicts = check_confirmations(&signed, &participants());
    assert_eq!(
        codes(&verdicts),
        [
            "ok",
            "confirmation.bad_signature",
            "ok",
            "confirmation.wrong_acquirer",
            "confirmation.unknown_issuer",
            "confirmation.empty",
            "confirmation.mixed_currencies",
            "confirmation.amount_overflow",
            "confirmation.duplicate_coin",
        ]
    );
    let first = verdicts[0].as_ref().unwrap();
    assert_eq!(first.amount, "EUR:2.00".parse().unwrap());
    assert_eq!(
        first.key,
        ConfirmationKey {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            batch_id: BatchId([1; 16])
        }
    );
    assert_eq!(
        first.coins,
        vec![
            CoinId::of(key(101).verifying_key()),
            CoinId::of(key(102).verifying_key())
        ]
    );
}

#[test]
fn a_confirmation_or_any_of_its_coins_claimed_before_is_not_claimed_again() {
    let earlier = by(OTHER_ACQUIRER, 7);
    let mut book = ClaimBook::new();
    // Claimed earlier: batch 1 as a whole, and coin 9 through another confirmation.
    book.confirmation_claimed(
        ConfirmationKey {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            batch_id: BatchId([1; 16]),
        },
        earlier,
    );
    book.coin_claimed(
        CoinKey {
            issuer: ISSUER,
            coin: CoinId::of(key(109).verifying_key()),
        },
        earlier,
    );
    let signed = submission(
        ACQUIRER,
        2,
        vec![
            good(1, &[1]),
            good(2, &[2, 9]),
            good(3, &[3, 4]),
            good(3, &[3, 4]),
            good(4, &[4, 5]),
            good(5, &[2]),
            confirmation(ISSUER, OTHER_ACQUIRER, 6, vec![entry(6, "EUR:1.00")], 3),
        ],
        1,
    );
    let verdicts = check_confirmations(&signed, &participants());
    let now = by(ACQUIRER, 2);
    let results = decide(now, &verdicts, &mut book);
    let already = |by: ClaimRef| ClaimResult::AlreadyClaimed {
        acquirer: by.acquirer,
        submission_id: by.submission_id,
    };
    assert_eq!(
        *results,
        [
            already(earlier),
            already(earlier),
            ClaimResult::Claimed,
            already(now),
            already(now),
            // Batch 2 was refused whole, so its coin 2 is still free.
            ClaimResult::Claimed,
            ClaimResult::Refused {
                code: "confirmation.wrong_acquirer".into()
            },
        ]
    );
}

#[test]
fn refund_confirmations_are_checked_one_by_one_and_settled_once() {
    let body = SettlementSubmission {
        acquirer: ACQUIRER,
        submission_id: SubmissionId([3; 16]),
        submitted_at: AT,
        confirmations: BoundedVec::empty(),
        refunds: vec![
            refund(ISSUER, ACQUIRER, 1, "EUR:0.40", "EUR:0.05", 3),
            refund(ISSUER, ACQUIRER, 2, "EUR:0.40", "EUR:0.00", 9),
            refund(ISSUER, OTHER_ACQUIRER, 3, "EUR:0.40", "EUR:0.00", 3),
            refund(UNKNOWN, ACQUIRER, 4, "EUR:0.40", "EUR:0.00", 4),
            refund(ISSUER, ACQUIRER, 5, "EUR:0.00", "EUR:0.00", 3),
            refund(ISSUER, ACQUIRER, 6, "EUR:0.40", "EUR:0.40", 3),
            refund(ISSUER, ACQUIRER, 7, "EUR:0.40", "USD:0.01", 3),
            refund(ISSUER, ACQUIRER, 8, "EUR:0.10", "EUR:0.00", 3),
            refund(ISSUER, ACQUIRER, 1, "EUR:0.40", "EUR:0.05", 3),
        ]
        .try_into()
        .unwrap(),
    };
    let signed = Signed::sign(body, &key(1));
    assert_eq!(authenticate(&signed, &participants()), Ok(()));
    let verdicts = check_refunds(&signed, &participants());
    let codes: Vec<_> = verdicts
        .iter()
        .map(|v| v.as_ref().map_or_else(|r| r.code(), |_| "ok"))
        .collect();
    assert_eq!(
        codes,
        [
            "ok",
            "confirmation.bad_signature",
            "confirmation.wrong_acquirer",
            "confirmation.unknown_issuer",
            "confirmation.empty",
            "confirmation.bad_fee",
            "confirmation.bad_fee",
            "ok",
            "ok",
        ]
    );
    let first = verdicts[0].as_ref().unwrap();
    assert_eq!(
        (
            first.key.issuer,
            first.key.refund,
            first.acquirer,
            first.fee
        ),
        (
            ISSUER,
            Digest([1; 32]),
            ACQUIRER,
            "EUR:0.05".parse().unwrap()
        )
    );
    let earlier = by(OTHER_ACQUIRER, 7);
    let mut book = ClaimBook::new();
    book.refund_claimed(
        RefundKey {
            issuer: ISSUER,
            refund: Digest([8; 32]),
        },
        earlier,
    );
    let now = by(ACQUIRER, 3);
    let results = decide_refunds(now, &verdicts, &mut book);
    assert_eq!(results[0], ClaimResult::Claimed);
    assert_eq!(
        results[7],
        ClaimResult::AlreadyClaimed {
            acquirer: OTHER_ACQUIRER,
            submission_id: SubmissionId([7; 16]),
        }
    );
    // The same refund twice in one submission is settled once.
    assert_eq!(
        results[8],
        ClaimResult::AlreadyClaimed {
            acquirer: ACQUIRER,
            submission_id: SubmissionId([3; 16]),
        }
    );
}

#[test]
fn cycle_ids_differ_by_clearing_house_and_number() {
    let a = cycle_id(ISSUER, 1);
    assert_eq!(a, cycle_id(ISSUER, 1));
    assert_ne!(a, cycle_id(ISSUER, 2));
    assert_ne!(a, cycle_id(ACQUIRER, 1));
}

#[test]
fn participants_are_listed_once_and_known_by_role() {
    let registry = participants();
    assert!(registry.acquirer_key(&ACQUIRER).is_some());
    assert!(registry.issuer_key(&ACQUIRER).is_none());
    assert!(registry.issuer_key(&ISSUER).is_some());
    assert_eq!(registry.banks().count(), 3);
    let twice = Participant {
        bank: ISSUER,
        acquirer_key: None,
        issuer_key: None,
    };
    assert_eq!(
        Participants::new([twice.clone(), twice])
            .unwrap_err()
            .code(),
        "participants.duplicate"
    );
}
