//! An issuer whose master key is offline: it publishes nothing until a set signed with that key is
//! uploaded, refuses a set signed by any other key or one that may not follow the published one
//! (and keeps what it had), and a revocation signed offline stops the signer before the set that
//! says so is served; all of it survives a restart.

// Only the issuer config and the euro helpers of the shared module are used here.
#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use semper_actors::clock::ManualClock;
use semper_actors::issuer::{IssuerHandle, IssuerState, MasterKey};
use semper_actors::offline::OfflineKey;
use semper_actors::signer::SignerError;
use semper_protocol::amount::Currency;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{AccountId, RequestId};
use semper_protocol::wallet;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("semper-offline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start(dir: &Path, master: &OfflineKey, clock: Arc<ManualClock>) -> IssuerHandle {
    let mut config = issuer_config(dir.join("issuer"), 64, &SigningKey::from_seed(&[3; 32]));
    config.master = MasterKey::Offline(master.public_key());
    IssuerHandle::start(IssuerState::open(&config, clock).unwrap(), 64)
}

#[test]
fn only_sets_the_offline_key_signed_are_published_and_a_signed_revocation_stops_the_signer() {
    let dir = dir("master");
    let master = OfflineKey::init(&dir.join("master")).unwrap();
    let wrong = OfflineKey::init(&dir.join("wrong")).unwrap();
    let clock = Arc::new(ManualClock::new(START));
    let account_key = SigningKey::from_seed(&[9; 32]);
    let account = AccountId([7; 16]);

    let revoked = actix::System::new().block_on(async {
        let issuer = start(&dir, &master, clock.clone());
        // Keys made ahead, none published: no local key, no set.
        assert!(!dir.join("issuer/offline").exists());
        assert_eq!(
            issuer.denomination_set().unwrap_err().code(),
            "set.unpublished"
        );
        let export = issuer.export().unwrap();
        let first = export.fields().sequence;
        assert!(!export.fields().denominations.is_empty());

        let forged = wrong.sign(export.clone()).unwrap();
        let refused = issuer.publish(forged).await.unwrap_err();
        assert_eq!(refused.code(), "set.invalid_signature");
        assert!(issuer.state().published_set().is_none());

        let signed = master.sign(export.clone()).unwrap();
        let published = issuer.publish(signed.clone()).await.unwrap();
        assert_eq!(*published, signed);
        let again = issuer.publish(signed.clone()).await.unwrap_err();
        assert_eq!(again.code(), "set.not_newer");

        // A withdrawal works with the published key.
        let denomination = export.fields().denominations[0].clone();
        let eur = Currency::new("EUR").unwrap();
        issuer
            .open_account(account, *account_key.verifying_key(), eur)
            .await
            .unwrap();
        issuer
            .credit(account, "transfer-1".into(), common::eur("5.00"))
            .await
            .unwrap();
        let prepare = |id: u8| {
            wallet::prepare_withdraw(
                &mut rand::rng(),
                &account_key,
                account,
                RequestId([id; 16]),
                std::slice::from_ref(&denomination),
            )
            .unwrap()
            .0
        };
        issuer.withdraw(prepare(1)).await.unwrap();

        // Without the master key, the issuer cannot revoke; the offline key's revocation is a
        // set listing it, and once published the signer signs nothing more with it.
        let id = denomination.id();
        assert_eq!(
            issuer.revoke(id).await.unwrap_err().code(),
            "set.master_offline"
        );
        let revocation = master.revoke(id, START.plus_ms(1)).unwrap();
        let published = issuer.publish(revocation).await.unwrap();
        assert!(published.body().is_revoked(&id));
        assert_eq!(published.body().fields().sequence, first + 1);
        let refused = issuer.withdraw(prepare(2)).await.unwrap_err();
        assert_eq!(refused.code(), "denomination.revoked");
        let request = prepare(3);
        let blinded = &request.body().coins[0].blinded;
        let signer = issuer.state().signer.clone();
        assert!(matches!(
            signer.blind_sign(&[(id, blinded)]),
            Err(SignerError::Revoked { .. })
        ));
        // The next export keeps the revocation: a set that undid it would be refused.
        assert!(issuer.export().unwrap().is_revoked(&id));
        issuer.stop();
        (id, first + 1, Arc::downgrade(issuer.state()))
    });
    let (id, sequence, state) = revoked;
    while state.upgrade().is_some() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    // After a restart the stored set is published as it was, revocation included.
    actix::System::new().block_on(async {
        let issuer = start(&dir, &master, clock.clone());
        let set = issuer.denomination_set().unwrap();
        assert_eq!(set.body().fields().sequence, sequence);
        assert!(set.body().is_revoked(&id));
        issuer.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_issuer_upgraded_in_place_keeps_the_master_key_its_card_pins() {
    let dir = dir("upgrade");
    let keys_dir = dir.join("issuer/keys");
    let old = semper_actors::keystore::KeyStore::open(&keys_dir)
        .unwrap()
        .signing_key("master", &mut rand::rng())
        .unwrap();
    let config = issuer_config(dir.join("issuer"), 64, &SigningKey::from_seed(&[3; 32]));
    let clock = Arc::new(ManualClock::new(START));
    let keys =
        IssuerState::provision(&config.data_dir, &config.signer, &config.master, clock).unwrap();
    assert_eq!(keys.master, *old.verifying_key());
    assert!(!keys_dir.join("master.ed25519").exists());
    assert!(dir.join("issuer/offline/master.ed25519").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
