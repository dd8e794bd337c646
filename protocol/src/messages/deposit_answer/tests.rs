use super::*;
use crate::codec::{Decode, Encode};
use crate::crypto::blind_rsa::RsaSignature;
use crate::crypto::ed25519::{Signature, SigningKey};
use crate::ids::{ContractHash, DenominationId};
use crate::messages::coin::Coin;
use crate::messages::deposit::DepositPermission;
use crate::time::Timestamp;

const ACQUIRER: BankId = BankId([2; 16]);

fn eur(minor_units: u64) -> Amount {
    Amount::from_minor_units(crate::amount::Currency::new("EUR").unwrap(), minor_units)
}

/// A signed request of `amounts.len()` coins (their permissions' signatures are not checked here:
/// the acquirer checked them).
fn request(merchant_key: &SigningKey, amounts: &[u64]) -> Signed<DepositRequest> {
    let permissions = amounts
        .iter()
        .enumerate()
        .map(|(i, units)| {
            let coin_key = SigningKey::from_seed(&[i as u8 + 10; 32]);
            Signed::from_parts(
                DepositPermission {
                    coin: Coin {
                        denomination: DenominationId([7; 32]),
                        public_key: *coin_key.verifying_key(),
                        signature: RsaSignature(vec![1, 2, 3]),
                    },
                    contract_hash: ContractHash([4; 32]),
                    merchant: MerchantId([5; 16]),
                    acquirer: ACQUIRER,
                    amount: eur(*units),
                    timestamp: Timestamp::from_unix_ms(1_000),
                },
                Signature([0; 64]),
            )
        })
        .collect::<Vec<_>>();
    Signed::sign(
        DepositRequest {
            merchant: MerchantId([5; 16]),
            deposit_id: RequestId([6; 16]),
            permissions: permissions.try_into().unwrap(),
            refund_deadline: crate::time::Timestamp::from_unix_ms(u64::MAX),
        },
        merchant_key,
    )
}

fn answer_to(request: &Signed<DepositRequest>, results: Vec<DepositResult>) -> DepositAnswer {
    DepositAnswer::new(
        ACQUIRER,
        request.body_digest(),
        DepositResponse {
            merchant: request.body().merchant,
            deposit_id: request.body().deposit_id,
            results: results.try_into().unwrap(),
        },
    )
}

#[test]
fn a_merchant_accepts_its_acquirers_answer_and_sums_what_was_accepted() {
    let bank_key = SigningKey::from_seed(&[1; 32]);
    let request = request(&SigningKey::from_seed(&[3; 32]), &[100, 250, 1_000]);
    let results = vec![
        DepositResult::Accepted,
        DepositResult::Refused {
            code: "denomination.revoked".into(),
        },
        DepositResult::Accepted,
    ];
    let signed = Signed::sign(answer_to(&request, results.clone()), &bank_key);
    let verified =
        verify_deposit_answer(&signed, ACQUIRER, bank_key.verifying_key(), &request).unwrap();
    assert_eq!(verified.results(), results.as_slice());
    assert_eq!(verified.credited(), &[eur(1_100)]);
    assert_eq!(verified.into_response().results.len(), 3);
}

#[test]
fn a_forged_or_misdirected_answer_is_refused() {
    let bank_key = SigningKey::from_seed(&[1; 32]);
    let request = request(&SigningKey::from_seed(&[3; 32]), &[100, 250]);
    let accepted = vec![DepositResult::Accepted, DepositResult::Accepted];
    let code = |answer: &SignedDepositAnswer| {
        verify_deposit_answer(answer, ACQUIRER, bank_key.verifying_key(), &request)
            .unwrap_err()
            .code()
    };

    // Someone on the path turns a refusal into "accepted": the signature no longer verifies.
    let honest = Signed::sign(
        answer_to(
            &request,
            vec![DepositResult::Accepted, DepositResult::Replay],
        ),
        &bank_key,
    );
    let forged = Signed::from_parts(answer_to(&request, accepted.clone()), *honest.signature());
    assert_eq!(code(&forged), "deposit_answer.invalid_signature");
    // Signed by another key.
    let other = Signed::sign(
        answer_to(&request, accepted.clone()),
        &SigningKey::from_seed(&[9; 32]),
    );
    assert_eq!(code(&other), "deposit_answer.invalid_signature");
    // Signed by the right key, but naming another acquirer.
    let mut elsewhere = answer_to(&request, accepted.clone());
    elsewhere.acquirer = BankId([8; 16]);
    assert_eq!(
        code(&Signed::sign(elsewhere, &bank_key)),
        "deposit_answer.wrong_acquirer"
    );
    // An answer to another deposit, replayed to this one.
    let mut replayed = answer_to(&request, accepted.clone());
    replayed.deposit_id = RequestId([7; 16]);
    assert_eq!(
        code(&Signed::sign(replayed, &bank_key)),
        "deposit_answer.wrong_request"
    );
    let mut other_body = answer_to(&request, accepted.clone());
    other_body.request_digest = Digest([0; 32]);
    assert_eq!(
        code(&Signed::sign(other_body, &bank_key)),
        "deposit_answer.wrong_request"
    );
    // One result short.
    let short = answer_to(&request, vec![DepositResult::Accepted]);
    assert_eq!(
        code(&Signed::sign(short, &bank_key)),
        "deposit_answer.wrong_count"
    );
}

/// The encoding a specification describes, byte for byte: a change to it breaks every merchant.
#[test]
fn deposit_answer_known_answer() {
    let bank_key = SigningKey::from_seed(&[1; 32]);
    let answer = DepositAnswer {
        acquirer: ACQUIRER,
        merchant: MerchantId([5; 16]),
        deposit_id: RequestId([6; 16]),
        request_digest: Digest([0xab; 32]),
        results: vec![
            DepositResult::Accepted,
            DepositResult::Replay,
            DepositResult::Refused { code: "x.y".into() },
        ]
        .try_into()
        .unwrap(),
    };
    let bytes = answer.to_bytes();
    let expected: String = <[&str]>::concat(&[
        // Domain tag: length, "semper/deposit-answer", version 3.
        "15",
        &hex::encode("semper/deposit-answer"),
        "03",
        // acquirer, merchant, deposit_id, request_digest.
        &"02".repeat(16),
        &"05".repeat(16),
        &"06".repeat(16),
        &"ab".repeat(32),
        // results: a u32 count, then each result's tag (and fields).
        "00000003",
        "00",
        "01",
        "03",
        "00000003",
        &hex::encode("x.y"),
    ]);
    assert_eq!(hex::encode(&bytes), expected);
    assert_eq!(DepositAnswer::from_bytes(&bytes).unwrap(), answer);
    let signed = Signed::sign(answer, &bank_key);
    let again = SignedDepositAnswer::from_bytes(&signed.to_bytes()).unwrap();
    assert_eq!(again, signed);
    again.verify(bank_key.verifying_key()).unwrap();
}
