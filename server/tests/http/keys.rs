//! Key discovery and the served denomination ids: `GET /v1/keys` serves the keys that verify
//! what the node signs, and each served denomination carries the id its fields give.

use semper_client::Api;
use semper_client::views::KeysView;
use semper_protocol::denomination::SignedDenominationSet;
use semper_server::http::views::DenominationSetView;
use serde_json::{Value, json};

use crate::client::ResponseExt;
use crate::world::{Embedded, run, serve, settings};

#[test]
fn http_keys_verify_the_denomination_set_whose_ids_are_served() {
    run(async {
        let env = Embedded::start("keys").await;
        let keys = env.public.get("/v1/keys").await;
        assert_eq!(keys.status, 200);
        let keys: KeysView = keys.json();
        // semper-client reads the same keys, typed.
        let addr = env.public.addr;
        let through_client =
            actix_web::rt::task::spawn_blocking(move || Api::new(addr, None).keys())
                .await
                .unwrap()
                .unwrap();
        assert_eq!(through_client, keys);
        let issuer = keys.issuer.expect("the embedded default hosts an issuer");
        let roles = env.deployment.roles();
        let issuer_state = roles.issuer.as_ref().unwrap().state();
        assert_eq!(issuer.bank, issuer_state.id);
        // The confirmation key signs bank-to-bank messages only: it is the issuer's own.
        assert_eq!(
            issuer.confirmation_key,
            issuer_state.public_keys.confirmation
        );
        let acquirer = keys
            .acquirer
            .expect("the embedded default hosts an acquirer");
        assert_eq!(acquirer.bank, env.acquirer_bank());
        assert!(keys.clearing.is_some());

        // The served set verifies with the served master key, whose bank issued it.
        let served = env.public.get("/v1/issuer/denominations").await;
        assert_eq!(served.status, 200);
        let set: SignedDenominationSet = served.json();
        set.verify(&issuer.master_key).unwrap();
        assert_eq!(set.body().fields().issuer, issuer.bank);

        // Each denomination carries, as lower-case hex, the id its signed fields give.
        let denominations = &set.body().fields().denominations;
        assert!(!denominations.is_empty());
        let raw: Value = served.json();
        let view: DenominationSetView = served.json();
        assert_eq!(view.body.denominations.len(), denominations.len());
        for (at, denomination) in denominations.iter().enumerate() {
            let id = denomination.id();
            assert_eq!(
                raw["body"]["denominations"][at]["id"],
                json!(id.to_string())
            );
            assert_eq!(view.body.denominations[at].id, id);
            assert_eq!(&view.body.denominations[at].denomination, denomination);
        }
        drop(roles);
        env.stop().await;
    });
}

#[test]
fn http_keys_of_a_node_without_roles_are_empty() {
    run(async {
        let (api, client) = serve(&settings(64, None), Default::default());
        let keys = client.get("/v1/keys").await;
        assert_eq!(keys.status, 200);
        assert_eq!(keys.json::<Value>(), json!({}));
        api.stop().await;
    });
}
