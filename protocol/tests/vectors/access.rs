//! The vectors of the messages that prove who speaks at the HTTP edge: the account opening signed
//! by the key it registers, the read signed by the key of the account or merchant read, and the
//! acquirer's signed answer to a deposit.

use semper_protocol::amount::Currency;
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::deposit_answer::{DepositAnswer, verify_deposit_answer};
use semper_protocol::messages::merchant::{DepositResponse, DepositResult};
use semper_protocol::messages::read::{ReadPath, ReadRequest, ReadSubject};
use serde_json::Value;

use crate::fixtures::{ACCOUNT, ACQUIRER, DEPOSIT_ID, MERCHANT, NOW, Parties, at};
use crate::out::{message_file, signed};
use crate::wallet::WalletSide;

/// `open-account.json`, `read-request.json` and `deposit-answer.json`.
pub fn files(parties: &Parties, wallet: &WalletSide) -> Vec<(&'static str, Value)> {
    vec![
        ("open-account", open_account(parties)),
        ("read-request", read_request(parties)),
        ("deposit-answer", deposit_answer(parties, wallet)),
    ]
}

/// The wallet opens its account, proving it holds the account key.
fn open_account(parties: &Parties) -> Value {
    let body = OpenAccountRequest {
        account: ACCOUNT,
        public_key: *parties.account.key.verifying_key(),
        currency: Currency::new("EUR").unwrap(),
    };
    let (opening, vector) = signed("the wallet's EUR account", body, &parties.account);
    opening
        .verify_own_key()
        .expect("signed by the key it registers");
    message_file::<OpenAccountRequest>(
        Some("the account key it registers (body.public_key)"),
        "An account opening: POST /v1/issuer/accounts takes the signed form {\"body\", \
         \"signature\"}. The signature under body.public_key is the proof that the caller holds \
         the key that will sign the account's withdrawals.",
        vec![vector],
    )
}

/// A read of the wallet's account, and a read of a deposit's status by the merchant.
fn read_request(parties: &Parties) -> Value {
    let read = |subject, path: String, at| ReadRequest {
        subject,
        path: ReadPath::new(&path).unwrap(),
        at,
    };
    let account_path = format!("/v1/issuer/accounts/{}", hex::encode(ACCOUNT.0));
    let deposit_path = format!(
        "/v1/acquirer/merchants/{}/deposits/{}",
        hex::encode(MERCHANT.0),
        hex::encode(DEPOSIT_ID.0)
    );
    let (_, account) = signed(
        "the wallet reads its account",
        read(ReadSubject::Account(ACCOUNT), account_path, NOW),
        &parties.account,
    );
    let (_, deposit) = signed(
        "the merchant reads its deposit's status, 1.5 s later",
        read(ReadSubject::Merchant(MERCHANT), deposit_path, at(1_500)),
        &parties.merchant,
    );
    message_file::<ReadRequest>(
        Some("the key of the account or merchant read"),
        "A signed read: never sent as JSON. The client signs the encoding and sends `Authorization: \
         Semper-Read <at>.<signature>` (at in decimal ms, the signature in 128 hex digits) with a GET \
         of `path`; the server rebuilds the request from the path and `at`, and accepts it within \
         60 s of its clock. `value` shows the fields, subject as {\"kind\", \"id\"}.",
        vec![account, deposit],
    )
}

/// The acquirer's signed answers to the deposit of `deposit-request.json`.
fn deposit_answer(parties: &Parties, wallet: &WalletSide) -> Value {
    let request = &wallet.deposit;
    let answer = |name: &str, results: Vec<DepositResult>| {
        let response = DepositResponse {
            merchant: MERCHANT,
            deposit_id: DEPOSIT_ID,
            results: results.try_into().unwrap(),
        };
        let body = DepositAnswer::new(ACQUIRER, request.body_digest(), response);
        let (signed_answer, mut vector) = signed(name, body, &parties.acquirer);
        let verified = verify_deposit_answer(
            &signed_answer,
            ACQUIRER,
            parties.acquirer.key.verifying_key(),
            request,
        )
        .expect("the merchant's check passes");
        let credited = serde_json::to_value(verified.credited()).expect("serializes");
        vector
            .as_object_mut()
            .expect("a vector is an object")
            .insert("credited".into(), credited);
        vector
    };
    let vectors = vec![
        answer(
            "both coins accepted",
            vec![DepositResult::Accepted, DepositResult::Accepted],
        ),
        answer(
            "coin 0 accepted, coin 1 refused",
            vec![
                DepositResult::Accepted,
                DepositResult::Refused {
                    code: "denomination.revoked".into(),
                },
            ],
        ),
    ];
    message_file::<DepositAnswer>(
        Some("the acquirer's bank key"),
        "The acquirer's answer to the deposit of deposit-request.json: POST /v1/acquirer/deposits \
         answers the signed form {\"body\", \"signature\"}, and so does the deposit status \
         (`answer` of a done deposit). request_digest is the deposit request's sha256; results are \
         the union of deposit-response.json. `credited` is what the merchant's check derives: the \
         accepted coins' amounts, summed per currency.",
        vectors,
    )
}
