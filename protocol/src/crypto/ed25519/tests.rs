use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use rand::Rng as _;

use super::*;

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// The eight points of order dividing 8, from the order-8 point with y = 26e8…
fn torsion_points() -> Vec<EdwardsPoint> {
    let t8 = CompressedEdwardsY(hex32(
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    ))
    .decompress()
    .unwrap();
    (0..8u64).map(|i| t8 * Scalar::from(i)).collect()
}

#[test]
fn rfc8032_test_vector_1_verifies() {
    let seed = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let key = SigningKey::from_seed(&seed);
    assert_eq!(
        hex::encode(key.verifying_key().as_bytes()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let signature = key.sign(b"");
    assert_eq!(
        hex::encode(signature.0),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    assert_eq!(key.verifying_key().verify(b"", &signature), Ok(()));
    assert_eq!(
        key.verifying_key().verify(b"x", &signature),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn debug_never_shows_the_secret() {
    let key = SigningKey::from_seed(&[7u8; 32]);
    let shown = format!("{key:?}");
    assert!(shown.contains("redacted"));
    assert!(!shown.contains(&hex::encode([7u8; 32])));
}

#[test]
fn small_order_and_non_canonical_keys_are_refused_at_parse() {
    for point in torsion_points() {
        let bytes = point.compress().to_bytes();
        assert_eq!(
            VerifyingKey::from_bytes(&bytes),
            Err(SignatureError::WeakKey)
        );
    }
    // y = p + 1 encodes the identity non-canonically.
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    assert_eq!(
        VerifyingKey::from_bytes(&non_canonical),
        Err(SignatureError::KeyNotCanonical)
    );
    // A key that is a point with a torsion component is not of small order: it parses, and the
    // verification paths below must agree on it.
    let mixed = ED25519_BASEPOINT_POINT + torsion_points()[1];
    assert!(VerifyingKey::from_bytes(&mixed.compress().to_bytes()).is_ok());
}

/// The canonical-encoding check agrees with the definition, re-compressing the decompressed
/// point, on every encoding near the edges (y near 0, 1, p − 1 and p, both sign bits) and on
/// random ones.
#[test]
fn the_canonical_check_agrees_with_recompression() {
    let by_definition = |bytes: &[u8; 32]| {
        CompressedEdwardsY(*bytes)
            .decompress()
            .map(|point| point.compress().to_bytes() == *bytes)
    };
    let mut edges = Vec::new();
    for low in 0u8..=20 {
        let mut small = [0u8; 32];
        small[0] = low;
        edges.push(small);
        let mut near_p = [0xffu8; 32];
        near_p[31] = 0x7f;
        near_p[0] = 0xff - low;
        edges.push(near_p);
    }
    let random = (0..2000).map(|_| rand::random::<[u8; 32]>());
    let mut checked = 0;
    for mut bytes in edges.into_iter().chain(random) {
        for sign in [0u8, 0x80] {
            bytes[31] = (bytes[31] & 0x7f) | sign;
            if let Some(canonical) = by_definition(&bytes) {
                assert_eq!(
                    super::is_canonical_encoding(&bytes),
                    canonical,
                    "{bytes:02x?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked} encodings were points");
}

/// A signature built by hand, so that `A` and `R` can carry torsion components.
struct Crafted {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Signature,
}

fn craft(
    a: Scalar,
    key_torsion: EdwardsPoint,
    r: Scalar,
    r_bytes: Option<[u8; 32]>,
    r_torsion: EdwardsPoint,
) -> Crafted {
    let key_point = ED25519_BASEPOINT_POINT * a + key_torsion;
    let key = VerifyingKey::from_bytes(&key_point.compress().to_bytes()).unwrap();
    let r_point = ED25519_BASEPOINT_POINT * r + r_torsion;
    let r_bytes = r_bytes.unwrap_or(r_point.compress().to_bytes());
    let message = b"crafted".to_vec();
    let k = challenge(&r_bytes, key.as_bytes(), &message);
    let s = r + k * a;
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r_bytes);
    signature[32..].copy_from_slice(s.as_bytes());
    Crafted {
        key,
        message,
        signature: Signature(signature),
    }
}

/// Every edge case we can name, valid and invalid under ZIP-215.
fn edge_cases() -> Vec<Crafted> {
    let torsion = torsion_points();
    let mut rng = rand::rng();
    let mut random_scalar = || {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        Scalar::from_bytes_mod_order_wide(&wide)
    };
    let mut cases = Vec::new();
    for (i, key_torsion) in torsion.iter().enumerate() {
        for r_torsion in &torsion {
            cases.push(craft(
                random_scalar(),
                *key_torsion,
                random_scalar(),
                None,
                *r_torsion,
            ));
        }
        // R small order: r = 0.
        cases.push(craft(
            random_scalar(),
            *key_torsion,
            Scalar::ZERO,
            None,
            torsion[i],
        ));
    }
    // R as a non-canonical encoding of the identity (y = p + 1), with and without the sign bit.
    let mut identity_p1 = [0xffu8; 32];
    identity_p1[0] = 0xee;
    identity_p1[31] = 0x7f;
    let mut identity_p1_signed = identity_p1;
    identity_p1_signed[31] |= 0x80;
    let mut identity_signed = [0u8; 32];
    identity_signed[0] = 1;
    identity_signed[31] = 0x80;
    for r_bytes in [identity_p1, identity_p1_signed, identity_signed] {
        for key_torsion in &torsion {
            cases.push(craft(
                random_scalar(),
                *key_torsion,
                Scalar::ZERO,
                Some(r_bytes),
                EdwardsPoint::default(),
            ));
        }
    }
    // s not reduced: s + ℓ.
    let mut unreduced = craft(
        random_scalar(),
        torsion[0],
        random_scalar(),
        None,
        torsion[0],
    );
    let ell = hex32("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    let mut s = [0u8; 32];
    s.copy_from_slice(&unreduced.signature.0[32..]);
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(ell[i]) + carry;
        s[i] = sum as u8;
        carry = sum >> 8;
    }
    if carry == 0 {
        unreduced.signature.0[32..].copy_from_slice(&s);
        cases.push(unreduced);
    }
    // R not on the curve (y = 2 has no x), and tampered messages.
    let mut off_curve = craft(
        random_scalar(),
        torsion[0],
        random_scalar(),
        None,
        torsion[0],
    );
    let mut two = [0u8; 32];
    two[0] = 2;
    off_curve.signature.0[..32].copy_from_slice(&two);
    cases.push(off_curve);
    for key_torsion in &torsion {
        let mut tampered = craft(
            random_scalar(),
            *key_torsion,
            random_scalar(),
            None,
            torsion[3],
        );
        tampered.message.push(0);
        cases.push(tampered);
    }
    cases
}

#[test]
fn batch_and_single_agree_on_every_edge_case() {
    let honest_keys: Vec<SigningKey> = (0..7u8).map(|i| SigningKey::from_seed(&[i; 32])).collect();
    let honest: Vec<(Vec<u8>, Signature)> = honest_keys
        .iter()
        .map(|k| (b"honest".to_vec(), k.sign(b"honest")))
        .collect();
    let (mut accepted, mut rejected) = (0, 0);
    for case in edge_cases() {
        let single = case.key.verify(&case.message, &case.signature).is_ok();
        if single {
            accepted += 1
        } else {
            rejected += 1
        }
        let alone = [BatchItem {
            key: &case.key,
            message: &case.message,
            signature: &case.signature,
        }];
        // The coefficients are random: repeat, so a 1-in-8 disagreement could not hide.
        for _ in 0..16 {
            assert_eq!(verify_batch(&alone), single);
            let mut mixed: Vec<BatchItem<'_>> = honest_keys
                .iter()
                .zip(&honest)
                .map(|(k, (m, s))| BatchItem {
                    key: k.verifying_key(),
                    message: m,
                    signature: s,
                })
                .collect();
            mixed.insert(3, alone[0]);
            assert_eq!(verify_batch(&mixed), single);
            let each = verify_each(&mixed);
            assert_eq!(each[3], single);
            assert!(each.iter().enumerate().all(|(i, ok)| i == 3 || *ok));
        }
    }
    // The cases cover both verdicts, so the agreement above is not vacuous.
    assert!(
        accepted > 50 && rejected >= 9,
        "accepted {accepted}, rejected {rejected}"
    );
}

#[test]
fn honest_signatures_agree_with_ed25519_dalek() {
    let mut rng = rand::rng();
    for len in [0usize, 1, 31, 200] {
        let key = SigningKey::generate(&mut rng);
        let mut message = vec![0u8; len];
        rng.fill_bytes(&mut message);
        let signature = key.sign(&message);
        let dalek_key =
            ed25519_dalek::VerifyingKey::from_bytes(key.verifying_key().as_bytes()).unwrap();
        let dalek_signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        assert!(dalek_key.verify_strict(&message, &dalek_signature).is_ok());
        assert!(key.verifying_key().verify(&message, &signature).is_ok());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// In random batches with k bad items, exactly those k are reported.
    #[test]
    fn verify_each_reports_exactly_the_bad_items(
        len in 1usize..80,
        bad in proptest::collection::vec(0usize..80, 0..8),
        seed in proptest::prelude::any::<[u8; 32]>(),
    ) {
        let keys: Vec<SigningKey> = (0..len)
            .map(|i| { let mut s = seed; s[0] ^= i as u8; s[1] ^= (i >> 8) as u8; SigningKey::from_seed(&s) })
            .collect();
        let messages: Vec<Vec<u8>> = (0..len).map(|i| format!("message {i}").into_bytes()).collect();
        let mut signatures: Vec<Signature> = keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
        let bad: std::collections::BTreeSet<usize> = bad.into_iter().filter(|i| *i < len).collect();
        for &i in &bad {
            signatures[i].0[40] ^= 1;
        }
        let items: Vec<BatchItem<'_>> = (0..len)
            .map(|i| BatchItem { key: keys[i].verifying_key(), message: &messages[i], signature: &signatures[i] })
            .collect();
        let each = verify_each(&items);
        for (i, ok) in each.iter().enumerate() {
            proptest::prop_assert_eq!(*ok, !bad.contains(&i));
        }
    }
}
