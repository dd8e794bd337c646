//! The vectors of a refund: the merchant's request, the acquirer's notice to the issuer, the
//! issuer's confirmation and answer, and the acquirer's answer to the merchant.

use semper_protocol::codec::Encode;
use semper_protocol::ids::{CoinId, RequestId};
use semper_protocol::messages::refund::{
    RefundAnswer, RefundConfirmation, RefundNotice, RefundRequest, RefundResponse,
    SignedRefundConfirmation,
};
use serde_json::Value;

use crate::fixtures::{ACQUIRER, ISSUER, MERCHANT, Parties, at};
use crate::out::{encoded, message_file, signed};
use crate::wallet::{WalletSide, contract};

/// The merchant's refund id.
const REFUND_ID: RequestId = RequestId([0x88; 16]);

/// The issuer's confirmation of the refund of half of coin 0, keeping a refund fee of EUR 0.05:
/// the acquirer owes the issuer EUR 0.50, and the coin may be swapped again for EUR 0.45. The
/// settlement vectors (banks.rs) claim it too.
pub fn confirmed(parties: &Parties, wallet: &WalletSide) -> (SignedRefundConfirmation, Value) {
    let paid = wallet.permissions[0].body();
    let request = RefundRequest {
        merchant: MERCHANT,
        refund_id: REFUND_ID,
        contract_hash: contract("semper vectors: contract 1"),
        denomination: paid.coin.denomination,
        coin: CoinId::of(&paid.coin.public_key),
        amount: "EUR:0.50".parse().unwrap(),
    };
    let (confirmation, vector) = signed(
        "the issuer confirms, keeping EUR:0.05: the coin may be swapped again for EUR:0.45",
        RefundConfirmation {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            refund: semper_protocol::ids::Digest(semper_protocol::crypto::hash::sha256(&[
                &request.to_bytes(),
            ])),
            denomination: request.denomination,
            coin: request.coin,
            amount: request.amount,
            fee: "EUR:0.05".parse().unwrap(),
            confirmed_at: at(2_000),
        },
        &parties.confirmation,
    );
    (confirmation, vector)
}

/// Every refund vector file.
pub fn files(parties: &Parties, wallet: &WalletSide) -> Vec<(&'static str, Value)> {
    let paid = &wallet.permissions[0];
    let coin = paid.body();
    let half = "EUR:0.50".parse().unwrap();
    let (request, request_vector) = signed(
        "the merchant refunds half of coin 0, paid for contract 1",
        RefundRequest {
            merchant: MERCHANT,
            refund_id: REFUND_ID,
            contract_hash: contract("semper vectors: contract 1"),
            denomination: coin.coin.denomination,
            coin: CoinId::of(&coin.coin.public_key),
            amount: half,
        },
        &parties.merchant,
    );
    let refund = request.body_digest();
    let (_, notice_vector) = signed(
        "the acquirer passes the refund to the coin's issuer",
        RefundNotice {
            acquirer: ACQUIRER,
            refund,
            denomination: coin.coin.denomination,
            coin: CoinId::of(&coin.coin.public_key),
            permission: paid.body_digest(),
            amount: half,
        },
        &parties.acquirer,
    );
    let (confirmation, confirmation_vector) = confirmed(parties, wallet);
    let answers = vec![
        encoded(
            "confirmed",
            &RefundAnswer::Confirmed {
                confirmation: Box::new(confirmation),
            },
        ),
        encoded(
            "refused: the refunds would pass what the coin paid",
            &RefundAnswer::Refused {
                code: "refund.over_paid".into(),
            },
        ),
    ];
    let response = RefundResponse {
        merchant: MERCHANT,
        refund_id: REFUND_ID,
        refund,
        amount: half,
        coin_refunded: half,
    };
    vec![
        (
            "refund-request",
            message_file::<RefundRequest>(
                Some("the merchant's key"),
                "A merchant's refund of (part of) a coin it deposited: POST /v1/acquirer/refunds \
                 takes the signed form {\"body\", \"signature\"}. Its `sha256` is the refund's \
                 identity (`refund`) in the notice, the confirmation and settlement.",
                vec![request_vector],
            ),
        ),
        (
            "refund-notice",
            message_file::<RefundNotice>(
                Some("the acquirer's bank key"),
                "The acquirer tells the coin's issuer of a refund it debited (inter-bank link). \
                 `permission` is the sha256 of deposit-permission.json's first vector.",
                vec![notice_vector],
            ),
        ),
        (
            "refund-confirmation",
            message_file::<RefundConfirmation>(
                Some("the issuer's confirmation key"),
                "The issuer's confirmation of a refund: the acquirer owes the issuer `amount`; the \
                 issuer keeps `fee` (the coin's `fees.refund`) from what the coin may be swapped \
                 for. `refund` is the sha256 of refund-request.json's vector.",
                vec![confirmation_vector],
            ),
        ),
        (
            "refund-answer",
            message_file::<RefundAnswer>(
                None,
                "The issuer's answer to a refund notice (inter-bank link): confirmed, or refused \
                 with a code.",
                answers,
            ),
        ),
        (
            "refund-response",
            message_file::<RefundResponse>(
                None,
                "The acquirer's answer to the merchant's refund: what was debited, and what the \
                 coin has been refunded in all.",
                vec![encoded("half of coin 0 refunded", &response)],
            ),
        ),
    ]
}
