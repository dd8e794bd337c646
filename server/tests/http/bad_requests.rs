//! Requests that must be refused, as one table over every endpoint: wrong types, missing and extra
//! fields, oversized values, bad and swapped signatures, wrong currencies and amounts, revoked,
//! not yet valid and expired denominations, unknown accounts, merchants and deposits, replays with
//! one field altered, and the operator's token. Each gets its documented status and code, as
//! JSON, with a message of bounded length, and leaves every role's DB as it was, record for
//! record, but for what it is documented to keep: the answer of a deposit whose coins were
//! refused one by one, kept for its retries. Replays get the first answer and change nothing.
//!
//! Extra fields: the API's own bodies (accounts, credits, merchants) and queries refuse them with
//! `request.malformed`. The protocol's signed messages (withdrawals, deposits) ignore them, as
//! their OpenAPI schemas allow: what is signed, and what counts, is the canonical binary encoding,
//! which has no room for them. So a replay with extra fields gets the answer the request got.

mod acquirer;
mod clearing;
mod fixtures;
mod issuer;
mod recoup;
mod swaps;
mod table;

use std::sync::Arc;

use semper_actors::clock::ManualClock;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::MerchantId;
use semper_protocol::messages::read::ReadSubject;
use serde_json::{Value, json};

use crate::client::ResponseExt;
use crate::world::{Embedded, TOKEN, now, run, serve, settings};
use fixtures::{Fixtures, deposit, withdraw};
use table::{coin_refused, refused, run_table};

#[test]
fn http_bad_requests_get_their_codes_and_change_nothing() {
    run(async {
        let clock = Arc::new(ManualClock::new(now()));
        let env = Embedded::start_at("bad", clock.clone()).await;
        let f = Fixtures::set_up(&env, &clock).await;
        let mut cases = clearing::cases();
        cases.extend(issuer::cases(&f));
        cases.extend(recoup::cases(&f));
        cases.extend(acquirer::cases(&f));
        cases.extend(swaps::cases(&f));
        run_table(&env, cases).await;

        // Past the tenths' withdraw window, inside their deposit window; then past that too.
        clock.set(f.tenth.fields().withdraw_until.plus_ms(1));
        let late = f
            .wallet
            .withdraw(f.wallet.account, std::slice::from_ref(&f.tenth));
        let expired = vec![refused(
            "withdraw: a denomination past its withdraw window",
            withdraw(&late),
            410,
            "denomination.withdraw_expired",
        )];
        run_table(&env, expired).await;
        clock.set(f.tenth.fields().deposit_until.plus_ms(1));
        let too_late = f.merchant.deposit(vec![f.pay(f.unspent(), f.merchant.id)]);
        let expired = vec![coin_refused(
            "deposit: a coin past its denomination's deposit window",
            deposit(&too_late),
            "denomination.deposit_expired",
        )];
        run_table(&env, expired).await;

        // The wallet and the merchant hold what they held before any of it.
        let account: Value = env.operator.get(&f.account_path()).await.json();
        assert_eq!(account, f.account_json);
        let merchant: Value = env.operator.get(&f.merchant_path()).await.json();
        assert_eq!(merchant, f.merchant_json);
        env.stop().await;
    });
}

#[test]
fn http_roles_not_hosted_and_operator_disabled() {
    run(async {
        let (api, client) = serve(&settings(64, None), Default::default());
        for path in ["/v1/issuer/denominations", "/v1/clearing/cycle"] {
            client.get(path).await.assert_error(404, "role.not_hosted");
        }
        // A merchant's signed read reaches the missing role; the operator's reads do not.
        let merchant = MerchantId([5; 16]);
        let merchant_path = format!("/v1/acquirer/merchants/{merchant}");
        let key = SigningKey::from_seed(&[5; 32]);
        client
            .get_signed(&merchant_path, ReadSubject::Merchant(merchant), &key, now())
            .await
            .assert_error(404, "role.not_hosted");
        client
            .with_token(TOKEN)
            .get("/v1/acquirer/outbox")
            .await
            .assert_error(403, "auth.operator_disabled");
        client
            .get("/v1/acquirer/outbox")
            .await
            .assert_error(403, "auth.operator_disabled");
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

/// A 405 says which methods the path has (RFC 9110 §15.5.6), as JSON like every refusal.
#[test]
fn http_method_not_allowed_carries_allow() {
    run(async {
        let (api, client) = serve(&settings(64, None), Default::default());
        for (method, path, allow) in [
            ("PUT", "/v1/issuer/denominations", "GET, POST"),
            ("DELETE", "/v1/issuer/accounts", "POST"),
            ("PUT", "/v1/clearing/cycle/cut", "POST"),
        ] {
            let response = client.send(method, path, &[], Vec::new()).await;
            assert_eq!(response.status, 405, "{method} {path}");
            assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
            let body: Value = response.json();
            assert_eq!(body["code"], "route.method_not_allowed");
        }
        api.stop().await;
    });
}
