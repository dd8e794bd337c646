//! Requests that must be refused: each gets its documented status and code, as JSON, and changes
//! nothing.

use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::blind_rsa::BlindedMessage;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::{AccountId, DenominationId, MerchantId, RequestId};
use semper_protocol::messages::withdraw::{BlindedCoin, WithdrawRequest};
use semper_protocol::signed::Signed;
use semper_protocol::wallet;
use semper_server::http::views::AccountView;
use serde_json::json;

use crate::client::{Client, ResponseExt};
use crate::world::{Embedded, TOKEN, now, run, serve, settings};

/// A funded account: its id and key.
struct Funded {
    account: AccountId,
    key: SigningKey,
}

async fn funded_account(env: &Embedded) -> Funded {
    let key = SigningKey::generate(&mut rand::rng());
    let account = AccountId(rand::random());
    let opened = env
        .public
        .post(
            "/v1/issuer/accounts",
            &json!({"account": account, "public_key": key.verifying_key(), "currency": "EUR"}),
        )
        .await;
    assert_eq!(opened.status, 200);
    let credited = env
        .operator
        .post(
            &format!("/v1/issuer/accounts/{account}/credit"),
            &json!({"reference": "funding", "amount": "EUR:5.00"}),
        )
        .await;
    assert_eq!(credited.status, 200);
    Funded { account, key }
}

async fn balance(client: &Client, account: AccountId) -> String {
    let view: AccountView = client
        .get(&format!("/v1/issuer/accounts/{account}"))
        .await
        .json();
    view.balance.to_string()
}

#[test]
fn http_bad_requests_get_their_codes_and_change_nothing() {
    run(async {
        let env = Embedded::start("bad").await;
        let (public, operator) = (&env.public, &env.operator);
        let funded = funded_account(&env).await;
        let account = funded.account;
        let json_header = [("Content-Type", "application/json")];

        // Malformed JSON, wrong content type, no content type, unknown field.
        public
            .send(
                "POST",
                "/v1/issuer/accounts",
                &json_header,
                b"{not json".to_vec(),
            )
            .await
            .assert_error(400, "request.malformed");
        let body = json!({"account": AccountId([9; 16]), "public_key": funded.key.verifying_key(), "currency": "EUR"});
        let bytes = serde_json::to_vec(&body).unwrap();
        public
            .send(
                "POST",
                "/v1/issuer/accounts",
                &[("Content-Type", "text/plain")],
                bytes.clone(),
            )
            .await
            .assert_error(415, "request.content_type");
        public
            .send("POST", "/v1/issuer/accounts", &[], bytes)
            .await
            .assert_error(415, "request.content_type");
        public
            .post("/v1/issuer/accounts", &json!({"account": AccountId([9; 16]), "public_key": funded.key.verifying_key(), "currency": "EUR", "extra": 1}))
            .await
            .assert_error(400, "request.malformed");
        public
            .get(&format!("/v1/issuer/accounts/{}", AccountId([9; 16])))
            .await
            .assert_error(404, "account.unknown");

        // A body over the limit (1 MiB in the embedded config).
        let huge = vec![b' '; 1024 * 1024 + 1];
        public
            .send("POST", "/v1/issuer/withdraw", &json_header, huge)
            .await
            .assert_error(413, "request.too_large");

        // Wrong currency on open and on credit.
        let unknown_currency = AccountId(rand::random());
        public
            .post(
                "/v1/issuer/accounts",
                &json!({"account": unknown_currency, "public_key": funded.key.verifying_key(), "currency": "XYZ"}),
            )
            .await
            .assert_error(400, "amount.unknown_currency");
        public
            .get(&format!("/v1/issuer/accounts/{unknown_currency}"))
            .await
            .assert_error(404, "account.unknown");
        operator
            .post(
                &format!("/v1/issuer/accounts/{account}/credit"),
                &json!({"reference": "wire-usd", "amount": "USD:1.00"}),
            )
            .await
            .assert_error(400, "amount.currency_mismatch");
        operator
            .post(
                &format!("/v1/issuer/accounts/{account}/credit"),
                &json!({"reference": "wire-bad", "amount": "EUR:1.001"}),
            )
            .await
            .assert_error(400, "amount.too_precise");
        assert_eq!(balance(public, account).await, "EUR:5.00");

        // A withdrawal signed by another key.
        let set: SignedDenominationSet = public.get("/v1/issuer/denominations").await.json();
        let at = now();
        let denomination = set
            .body()
            .fields()
            .denominations
            .iter()
            .find(|d| d.can_withdraw(at))
            .unwrap()
            .clone();
        let stranger = SigningKey::generate(&mut rand::rng());
        let (forged, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &stranger,
            account,
            RequestId(rand::random()),
            &[denomination.clone()],
        )
        .unwrap();
        public
            .post("/v1/issuer/withdraw", &forged)
            .await
            .assert_error(400, "withdraw.invalid_account_signature");

        // A withdrawal of a denomination the issuer never had.
        let unknown = Signed::sign(
            WithdrawRequest {
                account,
                request_id: RequestId(rand::random()),
                coins: BoundedVec::new(vec![BlindedCoin {
                    denomination: DenominationId([7; 32]),
                    blinded: BlindedMessage(vec![1; 256]),
                }])
                .unwrap(),
            },
            &funded.key,
        );
        public
            .post("/v1/issuer/withdraw", &unknown)
            .await
            .assert_error(400, "denomination.unknown");

        // A withdrawal worth more than the balance.
        let (too_much, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &funded.key,
            account,
            RequestId(rand::random()),
            &vec![denomination.clone(); 60],
        )
        .unwrap();
        public
            .post("/v1/issuer/withdraw", &too_much)
            .await
            .assert_error(409, "account.insufficient_funds");
        // A withdrawal from an account that does not exist.
        let (nobody, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &funded.key,
            AccountId([8; 16]),
            RequestId(rand::random()),
            &[denomination],
        )
        .unwrap();
        public
            .post("/v1/issuer/withdraw", &nobody)
            .await
            .assert_error(404, "account.unknown");
        assert_eq!(balance(public, account).await, "EUR:5.00");

        // Operator routes without, or with a wrong, token; the merchant is not registered.
        let merchant = MerchantId(rand::random());
        let register = json!({"merchant": merchant, "public_key": funded.key.verifying_key()});
        let refused = public.post("/v1/acquirer/merchants", &register).await;
        refused.assert_error(401, "auth.required");
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        public
            .with_token("not-the-operator-token")
            .post("/v1/acquirer/merchants", &register)
            .await
            .assert_error(401, "auth.invalid");
        public
            .send(
                "POST",
                "/v1/acquirer/merchants",
                &[
                    ("Content-Type", "application/json"),
                    ("Authorization", "Basic abc"),
                ],
                serde_json::to_vec(&register).unwrap(),
            )
            .await
            .assert_error(401, "auth.required");
        public
            .post(
                &format!("/v1/issuer/accounts/{account}/credit"),
                &json!({"reference": "sneaky", "amount": "EUR:100.00"}),
            )
            .await
            .assert_error(401, "auth.required");
        public
            .get(&format!("/v1/acquirer/merchants/{merchant}"))
            .await
            .assert_error(404, "merchant.unknown");
        assert_eq!(balance(public, account).await, "EUR:5.00");

        // Unknown deposits, bad paths and queries, unknown routes and methods.
        public
            .get(&format!(
                "/v1/acquirer/merchants/{merchant}/deposits/{}",
                RequestId([3; 16])
            ))
            .await
            .assert_error(404, "deposit.unknown");
        public
            .get("/v1/issuer/accounts/not-hex")
            .await
            .assert_error(400, "request.malformed");
        public
            .get("/v1/acquirer/merchants/abcd")
            .await
            .assert_error(400, "request.malformed");
        public
            .get("/v1/clearing/reports?after=minus-one")
            .await
            .assert_error(400, "request.malformed");
        operator
            .get("/v1/issuer/discrepancies?limit=-3")
            .await
            .assert_error(400, "request.malformed");
        public
            .get("/v1/nothing/here")
            .await
            .assert_error(404, "route.unknown");
        public
            .send("DELETE", "/v1/issuer/accounts", &[], Vec::new())
            .await
            .assert_error(405, "route.method_not_allowed");
        public
            .post_empty("/v1/clearing/cycle/cut")
            .await
            .assert_error(401, "auth.required");
        let cycle: serde_json::Value = public.get("/v1/clearing/cycle").await.json();
        assert_eq!(cycle["sequence"], 1);
        env.stop().await;
    });
}

#[test]
fn http_roles_not_hosted_and_operator_disabled() {
    run(async {
        let (api, client) = serve(&settings(64, None), Default::default());
        for path in [
            "/v1/issuer/denominations",
            "/v1/acquirer/outbox",
            "/v1/clearing/cycle",
        ] {
            client.get(path).await.assert_error(404, "role.not_hosted");
        }
        client
            .with_token(TOKEN)
            .post_empty("/v1/clearing/cycle/cut")
            .await
            .assert_error(403, "auth.operator_disabled");
        let health = client.get("/health").await;
        assert_eq!(health.status, 200);
        assert_eq!(health.json::<serde_json::Value>()["roles"], json!([]));
        api.stop().await;
    });
}
