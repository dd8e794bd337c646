//! Account openings over HTTP: each client address opens a bounded number of accounts a minute;
//! beyond it, 429 with `Retry-After`, and no account is opened. The operator is not counted.

use semper_protocol::amount::Currency;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::AccountId;
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::signed::Signed;

use crate::client::{Client, Response, ResponseExt};
use crate::world::{Embedded, run};

/// Openings one address may make a minute, in this test.
const PER_MIN: u32 = 3;

/// Opens a fresh account, signed by its own key, through `client`.
async fn open(client: &Client) -> (AccountId, Response) {
    let key = SigningKey::generate(&mut rand::rng());
    let account = AccountId(rand::random());
    let opening = Signed::sign(
        OpenAccountRequest {
            account,
            public_key: *key.verifying_key(),
            currency: Currency::new("EUR").unwrap(),
        },
        &key,
    );
    (account, client.post("/v1/issuer/accounts", &opening).await)
}

#[test]
fn http_account_opens_are_bounded_per_client_address() {
    run(async {
        let env = Embedded::start_configured("opens", |config| {
            config.http.account_opens_per_client_per_min = PER_MIN;
        })
        .await;
        for _ in 0..PER_MIN {
            let (_, opened) = open(&env.public).await;
            assert_eq!(opened.status, 200, "{}", opened.text());
        }
        let (refused_account, refused) = open(&env.public).await;
        refused.assert_error(429, "account.opens_limited");
        let retry_after: u64 = refused
            .header("retry-after")
            .expect("a 429 says when to retry")
            .parse()
            .unwrap();
        assert!(retry_after >= 1);
        // Nothing was opened.
        env.operator
            .get(&format!("/v1/issuer/accounts/{refused_account}"))
            .await
            .assert_error(404, "account.unknown");
        // The operator provisions accounts in bulk, uncounted.
        for _ in 0..PER_MIN + 1 {
            let (_, opened) = open(&env.operator).await;
            assert_eq!(opened.status, 200, "{}", opened.text());
        }
        env.stop().await;
    });
}
