//! The signer over a PKCS#11 token (issue 22, item 2), against a real SoftHSM2 token made for
//! this test in a temp directory: the keys are made in the token, sensitive and never
//! extractable; blind signatures made through it verify under the denomination's public key;
//! the confirmation key signs with CKM_EDDSA; the signer's rules (window, revocation,
//! destruction by C_DestroyObject, counts across a restart) hold as they do over files.
//!
//! One test function: SoftHSM2 reads SOFTHSM2_CONF once, when the module is first initialised
//! in this process, so the variable is set before anything else runs and no other test shares
//! the process.

use std::path::PathBuf;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use semper_actors::clock::ManualClock;
use semper_actors::signer::pkcs11::denomination_label;
use semper_actors::signer::pkcs11::softhsm::{SOFTHSM_MODULE, SoftHsm};
use semper_actors::signer::{DenominationSpec, Signer, SignerError, SignerLimits, TokenSigner};
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::denomination::DenominationFees;
use semper_protocol::ids::{BankId, BatchId, CoinId, DenominationId, Digest};
use semper_protocol::messages::refund::RefundConfirmation;
use semper_protocol::messages::spend::SpendConfirmation;
use semper_protocol::time::Timestamp;

const HOUR_MS: u64 = 3_600_000;
const T0: u64 = 1_800_000_000_000;

/// A temp directory, removed when dropped.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spec(from_ms: u64, until_ms: u64) -> DenominationSpec {
    DenominationSpec {
        issuer: BankId([1; 16]),
        value: "EUR:1.00".parse().unwrap(),
        key_size: RsaKeySize::Bits2048,
        valid_from: Timestamp::from_unix_ms(from_ms),
        withdraw_until: Timestamp::from_unix_ms(until_ms),
        deposit_until: Timestamp::from_unix_ms(until_ms + HOUR_MS),
        retain_until: Timestamp::from_unix_ms(until_ms + 2 * HOUR_MS),
        fees: DenominationFees {
            withdraw: "EUR:0.01".parse().unwrap(),
            deposit: "EUR:0.00".parse().unwrap(),
            swap: "EUR:0.02".parse().unwrap(),
            refund: "EUR:0.00".parse().unwrap(),
        },
    }
}

#[test]
fn the_token_signer_signs_verifiably_keeps_its_keys_in_the_token_and_keeps_the_rules() {
    let dir = Dir(std::env::temp_dir().join(format!("semper-pkcs11-{}", rand::random::<u64>())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let hsm = SoftHsm::init(&dir.0, "semper-test", "1234").unwrap();
    // SAFETY: the only test of this binary, before any thread or the module reads it.
    unsafe { std::env::set_var(SoftHsm::CONF_ENV, hsm.conf()) };
    let journal = dir.0.join("signer.journal");
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_ms(T0)));
    let open = || {
        TokenSigner::open_token(
            &hsm.token_config(),
            &journal,
            clock.clone(),
            SignerLimits::default(),
        )
        .unwrap()
    };
    let signer = open();

    // Signing through the token verifies under the public key, end to end with the wallet's
    // pure-Rust blinding.
    let now = signer.create_denomination(&spec(T0, T0 + HOUR_MS)).unwrap();
    let next = signer
        .create_denomination(&spec(T0 + HOUR_MS, T0 + 2 * HOUR_MS))
        .unwrap();
    let public = now.fields().public_key.clone();
    let mut rng = rand::rng();
    let coins: Vec<_> = (0..4u8)
        .map(|n| {
            let message = vec![n; 32];
            let (blinded, secret) = public.blind(&mut rng, &message).unwrap();
            (message, blinded, secret)
        })
        .collect();
    let batch: Vec<_> = coins.iter().map(|(_, b, _)| (now.id(), b)).collect();
    let signatures = signer.blind_sign(&batch).unwrap();
    for ((message, _, secret), blind) in coins.iter().zip(&signatures) {
        let signature = public.finalize(blind, secret, message).unwrap();
        public.verify(message, &signature).unwrap();
    }
    // A blinded message not below the modulus is the message's fault, found before the token.
    let too_big = semper_protocol::crypto::blind_rsa::BlindedMessage(vec![0xff; 256]);
    assert!(matches!(
        signer.blind_sign(&[(now.id(), &too_big)]),
        Err(SignerError::BadBlindedMessage { index: 0, .. })
    ));

    // The confirmation key is an Ed25519 key in the token (CKM_EDDSA).
    let keys = signer.keys().unwrap();
    let confirmation = SpendConfirmation {
        issuer: BankId([1; 16]),
        acquirer: BankId([2; 16]),
        batch_id: BatchId([3; 16]),
        confirmed_at: Timestamp::from_unix_ms(T0),
        entries: Default::default(),
    };
    let signed = signer.sign_confirmation(confirmation).unwrap();
    signed.verify(&keys.confirmation).unwrap();
    // A refund confirmation is signed by the same key, through the same backend call.
    let refund = RefundConfirmation {
        issuer: BankId([1; 16]),
        acquirer: BankId([2; 16]),
        refund: Digest([4; 32]),
        denomination: now.id(),
        coin: CoinId([5; 32]),
        amount: "EUR:0.40".parse().unwrap(),
        fee: "EUR:0.00".parse().unwrap(),
        confirmed_at: Timestamp::from_unix_ms(T0),
    };
    let signed = signer.sign_refund_confirmation(refund).unwrap();
    signed.verify(&keys.confirmation).unwrap();
    // The fees asked for are the denomination's.
    assert_eq!(now.fields().fees.swap, "EUR:0.02".parse().unwrap());

    // The keys are in the token: private, sensitive, never extractable, made there; the
    // private exponent cannot be read.
    let pkcs11 = Pkcs11::new(SOFTHSM_MODULE).unwrap();
    let _ = pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|slot| pkcs11.get_token_info(*slot).unwrap().label() == "semper-test")
        .unwrap();
    let session = pkcs11.open_ro_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&AuthPin::from("1234".to_owned())));
    let find = |id: &DenominationId| {
        session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(denomination_label(id)),
            ])
            .unwrap()
    };
    let [key] = find(&now.id())[..] else {
        panic!("not exactly one private key for the denomination in the token")
    };
    let flags = session
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::AlwaysSensitive,
                AttributeType::Local,
            ],
        )
        .unwrap();
    for flag in &flags {
        match flag {
            Attribute::Sensitive(b) | Attribute::NeverExtractable(b) => assert!(*b, "{flag:?}"),
            Attribute::AlwaysSensitive(b) | Attribute::Local(b) => assert!(*b, "{flag:?}"),
            Attribute::Extractable(b) => assert!(!*b, "{flag:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(flags.len(), 5);
    let exponent = session.get_attributes(key, &[AttributeType::PrivateExponent]);
    assert!(
        !matches!(exponent.as_deref(), Ok([Attribute::PrivateExponent(_)])),
        "the private exponent was readable: {exponent:?}"
    );

    // The rules: before its window the next key refuses; a key never made is unknown.
    let message = &coins[0].1;
    assert_eq!(
        signer.blind_sign(&[(now.id(), message), (next.id(), message)]),
        Err(SignerError::OutsideWindow { index: 1 })
    );
    assert_eq!(
        signer.blind_sign(&[(DenominationId([9; 32]), message)]),
        Err(SignerError::UnknownKey { index: 0 })
    );
    // The window closes: the key is destroyed in the token (C_DestroyObject), the next signs.
    clock.set(Timestamp::from_unix_ms(T0 + HOUR_MS));
    assert_eq!(
        signer.blind_sign(&[(now.id(), message)]),
        Err(SignerError::OutsideWindow { index: 0 })
    );
    assert!(
        find(&now.id()).is_empty(),
        "the closed key is still in the token"
    );
    let next_message = next.fields().public_key.blind(&mut rng, b"next").unwrap().0;
    signer.blind_sign(&[(next.id(), &next_message)]).unwrap();
    // Revoked: never again, and its key is gone from the token, even across a restart.
    signer.revoke(next.id()).unwrap();
    assert!(
        find(&next.id()).is_empty(),
        "the revoked key is still in the token"
    );
    drop(signer);
    let signer = open();
    assert_eq!(
        signer.keys().unwrap(),
        keys,
        "the Ed25519 keys changed across a restart"
    );
    assert_eq!(
        signer.blind_sign(&[(next.id(), &next_message)]),
        Err(SignerError::Revoked { index: 0 })
    );
    let counts = signer.counts().unwrap();
    let of = |id: DenominationId| {
        counts
            .iter()
            .find(|c| c.denomination == id)
            .unwrap()
            .clone()
    };
    assert_eq!((of(now.id()).signatures, of(now.id()).destroyed), (4, true));
    assert_eq!((of(next.id()).signatures, of(next.id()).revoked), (1, true));

    // A key made after the restart is found again by its label after another.
    let later = signer
        .create_denomination(&spec(T0 + HOUR_MS, T0 + 3 * HOUR_MS))
        .unwrap();
    drop(signer);
    let signer = open();
    let later_message = later
        .fields()
        .public_key
        .blind(&mut rng, b"later")
        .unwrap()
        .0;
    signer.blind_sign(&[(later.id(), &later_message)]).unwrap();
}
