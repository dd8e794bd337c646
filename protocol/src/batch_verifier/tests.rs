use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::signed::Signed;
use crate::test_keys::{self, ACQUIRER};

/// How a test spoils one permission, and the verdict it must get.
#[derive(Clone, Copy, Debug)]
enum Fault {
    PermissionSignature,
    CoinSignature,
    UnknownDenomination,
    AmountMismatch,
    SwappedCoinKey,
}

fn spoil(
    permission: &mut SignedDepositPermission,
    fault: Fault,
    donor: &SignedDepositPermission,
) -> &'static str {
    let mut body = permission.body().clone();
    let mut signature = *permission.signature();
    let code = match fault {
        Fault::PermissionSignature => {
            signature.0[7] ^= 0x20;
            "deposit.invalid_permission_signature"
        }
        Fault::CoinSignature => {
            body.coin.signature.0[17] ^= 1;
            // Re-signing is impossible without the coin key, so the permission signature fails too;
            // the coin's own fault is reported first.
            "rsa.invalid_signature"
        }
        Fault::UnknownDenomination => {
            body.coin.denomination = DenominationId([0xee; 32]);
            "deposit.unknown_denomination"
        }
        Fault::AmountMismatch => {
            body.amount = "EUR:9.99".parse().unwrap();
            "deposit.amount_mismatch"
        }
        Fault::SwappedCoinKey => {
            // Another coin's key and RSA signature, with this permission's signature.
            body.coin = donor.body().coin.clone();
            body.amount = donor.body().amount;
            "deposit.invalid_permission_signature"
        }
    };
    *permission = Signed::from_parts(body, signature);
    code
}

struct Fixture {
    permissions: Vec<SignedDepositPermission>,
    lookup: HashMap<DenominationId, crate::denomination::Denomination>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let one = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
        let two = test_keys::denomination("EUR:2.00", test_keys::rsa_2048_other());
        let mut coins = test_keys::coins(&one, test_keys::rsa_2048(), 48);
        coins.extend(test_keys::coins(&two, test_keys::rsa_2048_other(), 48));
        Fixture {
            permissions: test_keys::permissions(&coins),
            lookup: test_keys::lookup(&[&one, &two]),
        }
    })
}

#[test]
fn a_clean_batch_passes_on_one_and_two_threads() {
    let f = fixture();
    for threads in [1, 2] {
        let verifier = BatchVerifier::new(threads).unwrap();
        let verdicts = verifier.verify(&f.permissions, &f.lookup);
        assert_eq!(verdicts.len(), f.permissions.len());
        assert!(verdicts.iter().all(Result::is_ok));
        assert_eq!(f.permissions[0].body().acquirer, ACQUIRER);
    }
}

#[test]
fn an_empty_batch_has_no_verdicts() {
    let f = fixture();
    assert!(
        BatchVerifier::new(2)
            .unwrap()
            .verify(&[], &f.lookup)
            .is_empty()
    );
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::PermissionSignature),
        Just(Fault::CoinSignature),
        Just(Fault::UnknownDenomination),
        Just(Fault::AmountMismatch),
        Just(Fault::SwappedCoinKey),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// In a random batch with k spoiled items, exactly those k are reported, each with its code.
    #[test]
    fn exactly_the_bad_items_are_reported(
        len in 1usize..96,
        faults in proptest::collection::vec((0usize..96, fault()), 0..10),
        threads in 1usize..3,
    ) {
        let f = fixture();
        let mut batch = f.permissions[..len].to_vec();
        let mut expected: BTreeMap<usize, &'static str> = BTreeMap::new();
        for (index, fault) in faults {
            if index >= len || expected.contains_key(&index) {
                continue;
            }
            let donor = &f.permissions[(index + 1) % f.permissions.len()];
            expected.insert(index, spoil(&mut batch[index], fault, donor));
        }
        let verdicts = BatchVerifier::new(threads).unwrap().verify(&batch, &f.lookup);
        prop_assert_eq!(verdicts.len(), len);
        for (index, verdict) in verdicts.iter().enumerate() {
            match expected.get(&index) {
                None => prop_assert!(verdict.is_ok(), "item {} wrongly refused: {:?}", index, verdict),
                Some(code) => prop_assert_eq!(verdict.as_ref().map_err(PermissionError::code), Err(*code)),
            }
        }
    }
}
