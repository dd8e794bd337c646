//! Seeds of the HTTP targets: the JSON of every request body and answer, query strings and path
//! parameters, as the server and its clients write them.

use semper_client::views::{
    AccountView, CycleView, DenominationCountView, DepositStatusView, HealthView, MerchantView,
    OutboxView, RefusedClaimView, RefusedRefundView,
};
use semper_protocol::amount::Currency;
use semper_protocol::crypto::ed25519::Signature;
use semper_protocol::ids::Digest;
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::signed::Signed;
use serde::Serialize;
use serde_json::json;

use super::Corpus;
use super::fixtures::{
    ACCOUNT, ACQUIRER, BATCH, CYCLE, Fixtures, ISSUER, MERCHANT, NOW, SUBMISSION, key,
};
use crate::http_requests::REQUESTS;
use crate::http_responses::RESPONSES;

fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn add(corpus: &mut Corpus, f: &Fixtures) {
    requests(corpus, f);
    responses(corpus, f);
}

fn requests(corpus: &mut Corpus, f: &Fixtures) {
    let mut add =
        |name: &str, bytes: Vec<u8>| corpus.add_selected("http_requests", REQUESTS, name, bytes);
    let account_key = *key(0x0a).verifying_key();
    for currency in ["EUR", "XXX"] {
        let body = json!({"account": ACCOUNT, "public_key": account_key, "currency": currency});
        // Signed as the wallet signs it when the currency is known; any signature otherwise.
        let signature = Currency::new(currency).map_or(Signature([0; 64]), |currency| {
            *Signed::sign(
                OpenAccountRequest {
                    account: ACCOUNT,
                    public_key: account_key,
                    currency,
                },
                &key(0x0a),
            )
            .signature()
        });
        add(
            "POST /v1/issuer/accounts",
            to_json(&json!({"body": body, "signature": signature})),
        );
    }
    for amount in [
        "EUR:12.50",
        "EUR:12.5",
        "JPY:500",
        "BHD:1.250",
        "EUR:-1",
        "EUR:184467440737095516.15",
    ] {
        add(
            "POST /v1/issuer/accounts/{account}/credit",
            to_json(&json!({"reference": "wire-2024-001", "amount": amount})),
        );
    }
    add(
        "POST /v1/acquirer/merchants",
        to_json(&json!({"merchant": MERCHANT, "public_key": key(0x05).verifying_key()})),
    );
    add("POST /v1/issuer/withdraw", to_json(&f.withdraw_request));
    add("POST /v1/issuer/swap", to_json(&f.swap()));
    add("POST /v1/acquirer/deposits", to_json(&f.deposit_request));
    for query in ["", "from=3", "from=0&limit=10", "limit=100000"] {
        add(
            "GET /v1/{issuer,acquirer}/discrepancies?",
            query.as_bytes().to_vec(),
        );
    }
    for query in ["", "after=2", "after=0&limit=16"] {
        add("GET /v1/clearing/reports?", query.as_bytes().to_vec());
    }
    add("{account}", format!("account={ACCOUNT}").into_bytes());
    add("{merchant}", format!("merchant={MERCHANT}").into_bytes());
    add(
        "{merchant}/deposits/{deposit_id}",
        format!(
            "merchant={MERCHANT}&deposit_id={}",
            f.deposit_request.body().deposit_id
        )
        .into_bytes(),
    );
}

fn responses(corpus: &mut Corpus, f: &Fixtures) {
    let mut add =
        |name: &str, bytes: Vec<u8>| corpus.add_selected("http_responses", RESPONSES, name, bytes);
    let eur = f.denomination.value();
    add("GET /v1/issuer/denominations", to_json(&f.set));
    add(
        "GET /v1/issuer/accounts/{account}",
        to_json(&AccountView {
            account: ACCOUNT,
            public_key: *key(0x0a).verifying_key(),
            currency: eur.currency(),
            balance: eur,
            journal_len: 3,
        }),
    );
    add("POST /v1/issuer/withdraw", to_json(&f.withdraw_response));
    add(
        "GET /v1/{issuer,acquirer}/discrepancies",
        to_json(&vec![f.discrepancy.clone()]),
    );
    add(
        "GET /v1/acquirer/merchants/{merchant}",
        to_json(&MerchantView {
            merchant: MERCHANT,
            public_key: *key(0x05).verifying_key(),
            balances: vec![eur, "JPY:500".parse().unwrap_or(eur)],
            journal_len: 2,
            acquirer: ACQUIRER,
            acquirer_key: *key(0x02).verifying_key(),
        }),
    );
    add("POST /v1/acquirer/deposits", to_json(&f.deposit_answer));
    for status in [
        DepositStatusView::InProgress,
        DepositStatusView::Incomplete,
        DepositStatusView::Done {
            answer: f.deposit_answer.clone(),
        },
    ] {
        add(
            "GET /v1/acquirer/merchants/{merchant}/deposits/{deposit_id}",
            to_json(&status),
        );
    }
    add(
        "GET /v1/acquirer/outbox",
        to_json(&OutboxView {
            queued: 2,
            pending: vec![SUBMISSION],
            refused: vec![RefusedClaimView {
                batch_id: BATCH,
                issuer: ISSUER,
                submission_id: SUBMISSION,
                result: ClaimResult::Refused {
                    code: "confirmation.unknown_issuer".into(),
                },
            }],
            refunds_queued: 1,
            refused_refunds: vec![RefusedRefundView {
                refund: Digest([9; 32]),
                issuer: ISSUER,
                submission_id: SUBMISSION,
                result: ClaimResult::AlreadyClaimed {
                    acquirer: ACQUIRER,
                    submission_id: SUBMISSION,
                },
            }],
        }),
    );
    add(
        "POST /v1/acquirer/denominations/refresh",
        to_json(&DenominationCountView { denominations: 2 }),
    );
    add(
        "GET /v1/clearing/cycle",
        to_json(&CycleView {
            sequence: 4,
            id: CYCLE,
            opened_at: NOW,
            submissions: 1,
            confirmations: 1,
        }),
    );
    add("POST /v1/clearing/cycle/cut", to_json(&f.report));
    add("GET /v1/clearing/reports", to_json(&vec![f.report.clone()]));
    let swap = f.swap();
    add(
        "POST /v1/issuer/swap",
        to_json(&json!({
            "request_id": swap.request_id,
            "blind_signatures": f.withdraw_response.blind_signatures[..1],
        })),
    );
    add(
        "POST /v1/issuer/swap 409",
        to_json(&json!({
            "code": "swap.conflict",
            "message": "coin 0 was spent before",
            "index": 0,
            "earlier": swap.coins[0],
        })),
    );
    add(
        "GET /health",
        to_json(&HealthView {
            status: "ok".into(),
            roles: vec!["issuer".into(), "acquirer".into()],
        }),
    );
}
