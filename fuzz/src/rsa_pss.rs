//! The PSS padding check of the coin-verification fast path (`semper_protocol::crypto::pss`),
//! against an EMSA-PSS encoder written here from RFC 8017 §9.1.1.

use semper_protocol::crypto::pss;
use sha2::{Digest as _, Sha384};

use crate::input::Input;

/// SHA-384's output length, in bytes.
const HASH_BYTES: usize = 48;
/// The modulus sizes a denomination key may have (`RsaKeySize`).
const MODULUS_BITS: [usize; 3] = [2048, 3072, 4096];

/// Reads a modulus size, a salt, a byte to change and a message: the encoding of the message
/// verifies, the changed encoding does not, and the raw input as an encoding gets an answer.
pub fn rsa_pss(data: &[u8]) {
    let mut input = Input::new(data);
    let Some(size) = input.byte() else {
        return;
    };
    let modulus_bits = MODULUS_BITS[usize::from(size) % MODULUS_BITS.len()];
    let Some(salt) = input.array::<HASH_BYTES>() else {
        return;
    };
    let (Some(position), Some(flip)) = (input.u16(), input.byte()) else {
        return;
    };
    let message = input.rest();

    let encoded = encode(message, &salt, modulus_bits);
    assert!(
        pss::verify(message, &encoded, modulus_bits),
        "a PSS encoding made to RFC 8017 does not verify"
    );
    if flip != 0 {
        let mut changed = encoded.clone();
        let at = usize::from(position) % changed.len();
        changed[at] ^= flip;
        assert!(
            !pss::verify(message, &changed, modulus_bits),
            "a changed PSS encoding still verifies"
        );
    }
    // Any bytes at all, of any length, get an answer.
    let _ = pss::verify(&salt, message, modulus_bits);
}

/// EMSA-PSS-ENCODE with SHA-384, MGF1-SHA-384 and `salt`, left-padded to the modulus length.
fn encode(message: &[u8], salt: &[u8; HASH_BYTES], modulus_bits: usize) -> Vec<u8> {
    let em_bits = modulus_bits - 1;
    let em_len = em_bits.div_ceil(8);
    let mut prefixed = Sha384::new();
    prefixed.update([0u8; 8]);
    prefixed.update(Sha384::digest(message));
    prefixed.update(salt);
    let h = prefixed.finalize();
    let db_len = em_len - HASH_BYTES - 1;
    let mut db = vec![0u8; db_len];
    db[db_len - salt.len() - 1] = 0x01;
    db[db_len - salt.len()..].copy_from_slice(salt);
    for (i, mask) in mgf1(&h, db_len).into_iter().enumerate() {
        db[i] ^= mask;
    }
    db[0] &= 0xff >> (8 * em_len - em_bits);
    let mut encoded = vec![0u8; modulus_bits.div_ceil(8) - em_len];
    encoded.extend_from_slice(&db);
    encoded.extend_from_slice(&h);
    encoded.push(0xbc);
    encoded
}

/// MGF1 with SHA-384 (RFC 8017 §B.2.1).
fn mgf1(seed: &[u8], len: usize) -> Vec<u8> {
    let mut mask = Vec::with_capacity(len + HASH_BYTES);
    for counter in 0u32.. {
        if mask.len() >= len {
            break;
        }
        let mut hasher = Sha384::new();
        hasher.update(seed);
        hasher.update(counter.to_be_bytes());
        mask.extend_from_slice(&hasher.finalize());
    }
    mask.truncate(len);
    mask
}
