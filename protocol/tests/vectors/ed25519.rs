//! `ed25519.json`: public keys and signatures that a verifier must accept or refuse, each with the
//! code semper answers, so that a third-party verifier can check its key validation (§6.1 of the
//! specification) against the code's.

use semper_protocol::crypto::ed25519::{Signature, VerifyingKey};
use serde_json::{Value, json};

use crate::fixtures::Parties;
use crate::out::hex_of;

/// ℓ, the order of the base point, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The code semper gives `key`, or "ok".
fn key_verdict(key: &[u8; 32]) -> &'static str {
    VerifyingKey::from_bytes(key).map_or_else(|e| e.code(), |_| "ok")
}

/// `a + b` as 256-bit little-endian numbers (no overflow for the values used here).
fn add_le(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// The file.
pub fn file(parties: &Parties) -> Value {
    let mut keys: Vec<(&str, [u8; 32])> = vec![(
        "an honest key (issuer-master of keys.json)",
        *parties.master.key.verifying_key().as_bytes(),
    )];
    let mut identity = [0u8; 32];
    identity[0] = 1;
    keys.push(("the identity point (y = 1): small order", identity));
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    keys.push(("the point of order 2 (y = p - 1): small order", minus_one));
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    keys.push(("y = p (y not reduced below p)", p));
    let mut signed_zero = identity;
    signed_zero[31] |= 0x80;
    keys.push((
        "y = 1 with the sign bit set (x = 0 has no negative)",
        signed_zero,
    ));
    let off_curve = (2u8..=255)
        .map(|y| {
            let mut key = [0u8; 32];
            key[0] = y;
            key
        })
        .find(|key| key_verdict(key) == "ed25519.key_not_on_curve")
        .expect("a small y off the curve");
    keys.push((
        "the smallest y > 1 that is on no point of the curve",
        off_curve,
    ));
    let mut vectors: Vec<Value> = keys
        .iter()
        .map(|(name, key)| {
            json!({"name": name, "public_key": hex_of(key), "expected": key_verdict(key)})
        })
        .collect();

    let signer = &parties.master.key;
    let message = b"semper vectors: ed25519";
    let honest = signer.sign(message);
    let mut malleated = honest;
    malleated.0[32..].copy_from_slice(&add_le(&honest.0[32..], &ELL));
    let mut altered = honest;
    altered.0[0] ^= 1;
    vectors.extend(
        [
            ("an honest signature", honest),
            ("the same with s + ℓ (s not reduced)", malleated),
            ("the same with one bit of R flipped", altered),
        ]
        .into_iter()
        .map(|(name, signature): (&str, Signature)| {
            let verdict = signer
                .verifying_key()
                .verify(message, &signature)
                .map_or_else(|e| e.code(), |_| "ok");
            json!({
                "name": name,
                "public_key": hex_of(signer.verifying_key().as_bytes()),
                "message": hex_of(message),
                "signature": hex_of(&signature.0),
                "expected": verdict,
            })
        }),
    );
    json!({
        "domain": null,
        "version": null,
        "domain_header": null,
        "signed_by": null,
        "about": "Ed25519 keys and signatures a verifier must accept (\"ok\") or refuse, with the code \
                  semper answers (docs/protocol.md §6.1): keys are refused when parsed if not canonical, \
                  not on the curve, or of small order; a signature whose s is not below ℓ is malformed. \
                  A vector with only a public key is about parsing the key.",
        "vectors": vectors,
    })
}
