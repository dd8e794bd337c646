//! EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with SHA-384, MGF1-SHA-384 and a 48-byte salt: the padding
//! check of the coin-verification fast path. The RSA operation itself (RSAVP1) runs in OpenSSL.
//!
//! Doing the padding here rather than through OpenSSL's `EVP_PKEY` verifier skips a context and
//! three parameter settings per call, which cost about a tenth of a 2048-bit verification. Public
//! verification handles no secret, so nothing here needs to be constant-time. The tests check
//! every verdict against OpenSSL's own PSS verifier and the pure-Rust path.

use sha2::{Digest as _, Sha384};

/// SHA-384's output length, in bytes.
const HASH_BYTES: usize = 48;
/// The salt length of RFC 9474's PSS variants: the hash length.
pub const SALT_BYTES: usize = HASH_BYTES;

/// Whether `encoded` (the RSAVP1 output, as long as the modulus) is a valid PSS encoding of
/// `message` for a modulus of `modulus_bits` bits.
pub fn verify(message: &[u8], encoded: &[u8], modulus_bits: usize) -> bool {
    let em_bits = modulus_bits - 1;
    let em_len = em_bits.div_ceil(8);
    // RSAVP1 output is as long as the modulus; when emLen is shorter, the extra byte must be zero.
    let Some(extra) = encoded.len().checked_sub(em_len) else {
        return false;
    };
    if encoded[..extra].iter().any(|b| *b != 0) {
        return false;
    }
    let em = &encoded[extra..];
    if em_len < HASH_BYTES + SALT_BYTES + 2 || em[em_len - 1] != 0xbc {
        return false;
    }
    let db_len = em_len - HASH_BYTES - 1;
    let (masked_db, rest) = em.split_at(db_len);
    let h = &rest[..HASH_BYTES];
    let unused_top_bits = 8 * em_len - em_bits;
    let top_mask = 0xffu8 >> unused_top_bits;
    if masked_db[0] & !top_mask != 0 {
        return false;
    }
    let mut db = mgf1_sha384(h, db_len);
    for (d, m) in db.iter_mut().zip(masked_db) {
        *d ^= m;
    }
    db[0] &= top_mask;
    let padding_len = db_len - SALT_BYTES - 1;
    if db[..padding_len].iter().any(|b| *b != 0) || db[padding_len] != 0x01 {
        return false;
    }
    let salt = &db[db_len - SALT_BYTES..];
    let message_hash = Sha384::digest(message);
    let mut hasher = Sha384::new();
    hasher.update([0u8; 8]);
    hasher.update(message_hash);
    hasher.update(salt);
    hasher.finalize().as_slice() == h
}

/// MGF1 with SHA-384: `len` bytes of mask from `seed`.
fn mgf1_sha384(seed: &[u8], len: usize) -> Vec<u8> {
    let mut mask = Vec::with_capacity(len + HASH_BYTES);
    let mut counter: u32 = 0;
    while mask.len() < len {
        let mut hasher = Sha384::new();
        hasher.update(seed);
        hasher.update(counter.to_be_bytes());
        mask.extend_from_slice(&hasher.finalize());
        counter += 1;
    }
    mask.truncate(len);
    mask
}
