use super::*;
use crate::bounded::BoundedVec;
use crate::crypto::ed25519::SigningKey;
use crate::ids::{ContractHash, CycleId, MerchantId, RequestId, SubmissionId};
use crate::issuer::confirm;
use crate::messages::merchant::DepositRequest;
use crate::messages::receipt::{ClaimResult, SubmissionReceipt};
use crate::signed::Signed;
use crate::test_keys::{self, ACQUIRER, ISSUER, NOW};
use crate::wallet;

const MERCHANT: MerchantId = MerchantId([5; 16]);

fn request(
    permissions: Vec<SignedDepositPermission>,
    key: &SigningKey,
) -> crate::messages::merchant::SignedDepositRequest {
    let body = DepositRequest {
        merchant: MERCHANT,
        deposit_id: RequestId([1; 16]),
        permissions: BoundedVec::new(permissions).unwrap(),
        refund_deadline: crate::time::Timestamp::from_unix_ms(u64::MAX),
    };
    Signed::sign(body, key)
}

#[test]
fn deposit_requests_are_checked_as_a_whole() {
    let d = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
    let coins = test_keys::coins(&d, test_keys::rsa_2048(), 2);
    let permissions = test_keys::permissions(&coins);
    let key = SigningKey::from_seed(&[5; 32]);
    let merchant_key = key.verifying_key();

    let ok = request(permissions.clone(), &key);
    assert_eq!(
        check_deposit(&ok, merchant_key, ACQUIRER),
        Ok("EUR:2.00".parse().unwrap())
    );
    let other_key = SigningKey::from_seed(&[6; 32]);
    assert_eq!(
        check_deposit(&ok, other_key.verifying_key(), ACQUIRER)
            .unwrap_err()
            .code(),
        "deposit.invalid_merchant_signature"
    );
    assert_eq!(
        check_deposit(&ok, merchant_key, BankId([9; 16])),
        Err(DepositRefusal::WrongAcquirer { index: 0 })
    );
    let twice = request(vec![permissions[0].clone(), permissions[0].clone()], &key);
    assert_eq!(
        check_deposit(&twice, merchant_key, ACQUIRER),
        Err(DepositRefusal::DuplicateCoin { index: 1 })
    );
    let elsewhere = wallet::sign_deposit_permission(
        &coins[1],
        ContractHash([4; 32]),
        MerchantId([8; 16]),
        ACQUIRER,
        NOW,
    );
    let foreign = request(vec![permissions[0].clone(), elsewhere], &key);
    assert_eq!(
        check_deposit(&foreign, merchant_key, ACQUIRER)
            .unwrap_err()
            .code(),
        "deposit.wrong_merchant"
    );
    assert_eq!(
        check_deposit(&request(vec![], &key), merchant_key, ACQUIRER),
        Err(DepositRefusal::NoCoins)
    );
}

struct Answered {
    permissions: Vec<SignedDepositPermission>,
    digests: Vec<Digest>,
    key: SigningKey,
}

fn answered(count: usize) -> Answered {
    let d = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
    let permissions = test_keys::permissions(&test_keys::coins(&d, test_keys::rsa_2048(), count));
    let digests = permissions.iter().map(|p| p.body_digest()).collect();
    Answered {
        permissions,
        digests,
        key: SigningKey::from_seed(&[7; 32]),
    }
}

fn answer(a: &Answered, results: Vec<SpendResult>, batch: BatchId) -> SpendCheckResponse {
    let confirmed = a
        .permissions
        .iter()
        .zip(&a.digests)
        .zip(&results)
        .filter(|(_, r)| matches!(r, SpendResult::Accepted | SpendResult::Replay))
        .map(|((p, d), _)| (p, *d));
    let confirmation = confirm(ISSUER, ACQUIRER, batch, NOW, confirmed, &a.key);
    SpendCheckResponse {
        batch_id: batch,
        results: BoundedVec::new(results).unwrap(),
        confirmation,
    }
}

#[test]
fn an_issuer_answer_must_confirm_exactly_the_spent_coins() {
    let a = answered(3);
    let batch = BatchId([1; 16]);
    let key = a.key.verifying_key();
    let check = |answer: &SpendCheckResponse| {
        check_answer(
            ISSUER,
            ACQUIRER,
            key,
            batch,
            &a.permissions,
            &a.digests,
            answer,
        )
    };
    let refused = SpendResult::Refused {
        code: "denomination.revoked".into(),
    };
    let good = answer(
        &a,
        vec![SpendResult::Accepted, SpendResult::Replay, refused.clone()],
        batch,
    );
    assert_eq!(
        check(&good),
        Ok(vec![
            CoinVerdict::Spent,
            CoinVerdict::Spent,
            CoinVerdict::Refused("denomination.revoked".into())
        ])
    );
    let mut other_batch = good.clone();
    other_batch.batch_id = BatchId([2; 16]);
    assert_eq!(check(&other_batch), Err(AnswerError::WrongBatch));
    // A confirmation that leaves out a spent coin, or none at all.
    let mut short = good.clone();
    short.results = BoundedVec::new(vec![
        SpendResult::Accepted,
        SpendResult::Accepted,
        SpendResult::Accepted,
    ])
    .unwrap();
    assert_eq!(check(&short), Err(AnswerError::ConfirmationMismatch));
    let mut unconfirmed = good.clone();
    unconfirmed.confirmation = None;
    assert_eq!(check(&unconfirmed), Err(AnswerError::ConfirmationMismatch));
    // Signed by another key.
    let forged = answer(
        &Answered {
            permissions: a.permissions.clone(),
            digests: a.digests.clone(),
            key: SigningKey::from_seed(&[8; 32]),
        },
        vec![SpendResult::Accepted, SpendResult::Replay, refused],
        batch,
    );
    assert_eq!(
        check(&forged).unwrap_err().code(),
        "spend.invalid_confirmation_signature"
    );
}

#[test]
fn double_spend_proofs_are_checked() {
    let a = answered(2);
    let batch = BatchId([1; 16]);
    let coin = test_keys::coins(
        &test_keys::denomination("EUR:1.00", test_keys::rsa_2048()),
        test_keys::rsa_2048(),
        1,
    )
    .remove(0);
    let first =
        wallet::sign_deposit_permission(&coin, ContractHash([1; 32]), MERCHANT, ACQUIRER, NOW);
    let second =
        wallet::sign_deposit_permission(&coin, ContractHash([2; 32]), MERCHANT, ACQUIRER, NOW);
    let permissions = vec![second.clone(), a.permissions[0].clone()];
    let digests: Vec<Digest> = permissions.iter().map(|p| p.body_digest()).collect();
    let results = vec![
        SpendResult::Conflict {
            earlier: Box::new(first.clone()),
        },
        // Not a proof: another coin's permission.
        SpendResult::Conflict {
            earlier: Box::new(a.permissions[1].clone()),
        },
    ];
    let answer = SpendCheckResponse {
        batch_id: batch,
        results: BoundedVec::new(results).unwrap(),
        confirmation: None,
    };
    let verdicts = check_answer(
        ISSUER,
        ACQUIRER,
        a.key.verifying_key(),
        batch,
        &permissions,
        &digests,
        &answer,
    )
    .unwrap();
    assert_eq!(
        verdicts,
        vec![
            CoinVerdict::Conflict(Box::new(EarlierSpend::Deposit(first))),
            CoinVerdict::Refused("spend.bad_conflict_proof".into())
        ]
    );
    assert!(!proves_double_spend(&second, &digests[0], &second));
}

#[test]
fn receipts_must_be_signed_and_answer_the_submission() {
    let clearing = BankId([3; 16]);
    let key = SigningKey::from_seed(&[3; 32]);
    let submission = SettlementSubmission {
        acquirer: ACQUIRER,
        submission_id: SubmissionId([1; 16]),
        submitted_at: NOW,
        confirmations: BoundedVec::empty(),
        refunds: BoundedVec::empty(),
    };
    let mut receipt = SubmissionReceipt {
        clearing,
        acquirer: ACQUIRER,
        submission_id: SubmissionId([1; 16]),
        cycle: CycleId([1; 16]),
        cycle_sequence: 1,
        received_at: NOW,
        claims: BoundedVec::empty(),
        refund_claims: BoundedVec::empty(),
    };
    let signed = Signed::sign(receipt.clone(), &key);
    assert_eq!(
        check_receipt(&submission, clearing, key.verifying_key(), &signed),
        Ok(())
    );
    let other = SigningKey::from_seed(&[4; 32]);
    assert_eq!(
        check_receipt(&submission, clearing, other.verifying_key(), &signed)
            .unwrap_err()
            .code(),
        "receipt.invalid_signature"
    );
    receipt.claims = BoundedVec::new(vec![ClaimResult::Claimed]).unwrap();
    let extra = Signed::sign(receipt.clone(), &key);
    assert_eq!(
        check_receipt(&submission, clearing, key.verifying_key(), &extra),
        Err(ReceiptError::WrongCount {
            expected: 0,
            found: 1
        })
    );
    // A result per refund too.
    receipt.claims = BoundedVec::empty();
    receipt.refund_claims = BoundedVec::new(vec![ClaimResult::Claimed]).unwrap();
    let extra = Signed::sign(receipt.clone(), &key);
    assert_eq!(
        check_receipt(&submission, clearing, key.verifying_key(), &extra),
        Err(ReceiptError::WrongCount {
            expected: 0,
            found: 1
        })
    );
    receipt.submission_id = SubmissionId([2; 16]);
    let wrong = Signed::sign(receipt, &key);
    assert_eq!(
        check_receipt(&submission, clearing, key.verifying_key(), &wrong),
        Err(ReceiptError::WrongSubmission)
    );
}

#[test]
fn confirmation_totals_are_per_currency() {
    let a = answered(2);
    let batch = BatchId([1; 16]);
    let confirmation = answer(&a, vec![SpendResult::Accepted; 2], batch)
        .confirmation
        .unwrap();
    assert_eq!(
        totals_by_currency(confirmation.body()),
        Ok(vec!["EUR:2.00".parse().unwrap()])
    );
}

#[test]
fn codes_from_elsewhere_are_cut_to_the_bound_on_a_character_boundary() {
    assert_eq!(bounded_code("spend.ok"), "spend.ok");
    let long = format!("{}é", "x".repeat(63));
    assert_eq!(bounded_code(&long), "x".repeat(63));
}
