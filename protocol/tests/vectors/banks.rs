//! The vectors of what banks sign for each other: the spend check and its confirmation, the
//! settlement submission (with a refund confirmation beside the spend confirmation), its receipt
//! and the settlement report netting both; and the link's envelopes.

use semper_protocol::codec::Encode;
use semper_protocol::ids::CoinId;
use semper_protocol::messages::link::LinkRequest;
use semper_protocol::messages::receipt::{ClaimResult, SubmissionReceipt};
use semper_protocol::messages::settlement::{
    Obligation, RefundObligation, SettlementReport, SettlementSubmission,
};
use semper_protocol::messages::spend::{
    ConfirmedSpend, SpendCheckBatch, SpendCheckResponse, SpendConfirmation, SpendResult,
};
use serde_json::{Value, json};

use crate::fixtures::{ACQUIRER, BATCH, CLEARING, CYCLE, ISSUER, Parties, SUBMISSION, at};
use crate::out::{encoded, message_file, raw, signed};
use crate::refunds;
use crate::wallet::WalletSide;

/// Every bank-to-bank vector file.
pub fn files(parties: &Parties, wallet: &WalletSide) -> Vec<(&'static str, Value)> {
    let (_, batch) = signed(
        "the two permissions of deposit-permission.json",
        SpendCheckBatch {
            acquirer: ACQUIRER,
            batch_id: BATCH,
            permissions: wallet.permissions.clone().try_into().unwrap(),
        },
        &parties.acquirer,
    );
    let entries: Vec<ConfirmedSpend> = wallet
        .permissions
        .iter()
        .map(|permission| ConfirmedSpend {
            coin: CoinId::of(&permission.body().coin.public_key),
            denomination: permission.body().coin.denomination,
            amount: permission.body().amount,
            permission: permission.body_digest(),
        })
        .collect();
    let (confirmation, confirmation_vector) = signed(
        "both coins of the batch, accepted",
        SpendConfirmation {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            batch_id: BATCH,
            confirmed_at: at(5),
            entries: entries.try_into().unwrap(),
        },
        &parties.confirmation,
    );
    let accepted = SpendCheckResponse {
        batch_id: BATCH,
        results: vec![SpendResult::Accepted, SpendResult::Accepted]
            .try_into()
            .unwrap(),
        confirmation: Some(confirmation.clone()),
    };
    let refused = SpendCheckResponse {
        batch_id: BATCH,
        results: vec![
            SpendResult::Conflict {
                earlier: Box::new(wallet.respent.clone()),
            },
            SpendResult::Refused {
                code: "denomination.deposit_expired".into(),
            },
        ]
        .try_into()
        .unwrap(),
        confirmation: None,
    };
    let (refund, _) = refunds::confirmed(parties, wallet);
    let (submission, submission_vector) = signed(
        "the confirmation above claimed, and refund-confirmation.json's refund settled",
        SettlementSubmission {
            acquirer: ACQUIRER,
            submission_id: SUBMISSION,
            submitted_at: at(1_000),
            confirmations: vec![confirmation.clone()].try_into().unwrap(),
            refunds: vec![refund.clone()].try_into().unwrap(),
        },
        &parties.acquirer,
    );
    let receipt = |claims: Vec<ClaimResult>, refund_claims: Vec<ClaimResult>| SubmissionReceipt {
        clearing: CLEARING,
        acquirer: ACQUIRER,
        submission_id: SUBMISSION,
        cycle: CYCLE,
        cycle_sequence: 1,
        received_at: at(1_001),
        claims: claims.try_into().unwrap(),
        refund_claims: refund_claims.try_into().unwrap(),
    };
    let (_, claimed) = signed(
        "the confirmation claimed, the refund settled",
        receipt(vec![ClaimResult::Claimed], vec![ClaimResult::Claimed]),
        &parties.clearing,
    );
    let (_, every_claim) = signed(
        "every kind of claim result",
        receipt(
            vec![
                ClaimResult::Claimed,
                ClaimResult::AlreadyClaimed {
                    acquirer: ACQUIRER,
                    submission_id: SUBMISSION,
                },
                ClaimResult::Refused {
                    code: "confirmation.bad_signature".into(),
                },
            ],
            vec![ClaimResult::Refused {
                code: "confirmation.bad_fee".into(),
            }],
        ),
        &parties.clearing,
    );
    let total = confirmation.total().unwrap().unwrap();
    let refunded = refund.body();
    let report = SettlementReport::with_refunds(
        CLEARING,
        CYCLE,
        1,
        at(60_000),
        vec![Obligation {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            amount: total,
            confirmations: vec![BATCH].try_into().unwrap(),
        }],
        vec![RefundObligation {
            acquirer: ACQUIRER,
            issuer: ISSUER,
            amount: refunded.amount,
            fees: refunded.fee,
            refunds: vec![refunded.refund].try_into().unwrap(),
        }],
    )
    .unwrap();
    let (_, report_vector) = signed(
        "cycle 1: the issuer owes the acquirer EUR:2.00, the acquirer owes it EUR:0.50 refunded \
         (the issuer kept EUR:0.05 of fees); net EUR:1.50 from the issuer to the acquirer",
        report,
        &parties.clearing,
    );
    let link_vectors = vec![
        raw(
            "to an issuer: its denomination set",
            json!({"kind": 0, "request": "DenominationSet"}),
            &LinkRequest::DenominationSet.to_bytes(),
        ),
        raw(
            "to the clearing house: reports after cycle 0, at most 16",
            json!({"kind": 3, "request": "ReportsAfter", "after_sequence": 0, "limit": 16}),
            &LinkRequest::ReportsAfter {
                after_sequence: 0,
                limit: 16,
            }
            .to_bytes(),
        ),
        raw(
            "to the clearing house: the submission of settlement-submission.json",
            json!({"kind": 2, "request": "Submit", "submission": "settlement-submission.json"}),
            &LinkRequest::Submit(Box::new(submission)).to_bytes(),
        ),
    ];
    vec![
        (
            "spend-check-batch",
            message_file::<SpendCheckBatch>(
                Some("the acquirer's bank key"),
                "The acquirer asks the issuer to mark coins spent (inter-bank link).",
                vec![batch],
            ),
        ),
        (
            "spend-confirmation",
            message_file::<SpendConfirmation>(
                Some("the issuer's confirmation key"),
                "The issuer's confirmation of the coins it holds spent by a batch. Each entry's \
                 `permission` is the SHA-256 of the deposit permission's body encoding (the \
                 `sha256` of deposit-permission.json).",
                vec![confirmation_vector],
            ),
        ),
        (
            "spend-check-response",
            message_file::<SpendCheckResponse>(
                None,
                "The issuer's answer to a batch: a result per permission and, when any coin is held \
                 spent, the signed confirmation (an option).",
                vec![
                    encoded("both accepted, with the confirmation", &accepted),
                    encoded(
                        "a conflict with proof and a refusal, no confirmation",
                        &refused,
                    ),
                ],
            ),
        ),
        (
            "settlement-submission",
            message_file::<SettlementSubmission>(
                Some("the acquirer's bank key"),
                "The acquirer claims issuers' spend confirmations from the clearing house, and \
                 settles their refund confirmations (it owes those).",
                vec![submission_vector],
            ),
        ),
        (
            "submission-receipt",
            message_file::<SubmissionReceipt>(
                Some("the clearing house's key"),
                "The clearing house's receipt: one claim result per confirmation submitted, and one \
                 per refund confirmation.",
                vec![claimed, every_claim],
            ),
        ),
        (
            "settlement-report",
            message_file::<SettlementReport>(
                Some("the clearing house's key"),
                "A cycle's settlement report: gross obligations sorted by (issuer, acquirer, \
                 currency), refund obligations sorted by (acquirer, issuer, currency), and net \
                 positions sorted by (bank, currency). GET /v1/clearing/reports \
                 answers a list of the signed form {\"body\", \"signature\"}.",
                vec![report_vector],
            ),
        ),
        (
            "link-request",
            message_file::<LinkRequest>(
                None,
                "A request on the inter-bank link: the domain header, a kind byte, then the kind's \
                 fields. `value` describes the request (the link has no JSON form).",
                link_vectors,
            ),
        ),
    ]
}
