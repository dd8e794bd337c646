//! RFC 9474's blind RSA steps computed again from the specification's formulas, independently of
//! `blind-rsa-signatures`, so that a vector's salt and blinding factor are proven to be all a
//! third-party wallet needs: EM = EMSA-PSS-ENCODE(msg, salt), blinded = EM·rᵉ mod n,
//! blind_sig = blindedᵈ mod n, sig = blind_sig·r⁻¹ mod n.

use openssl::bn::{BigNum, BigNumContext};
use sha2::{Digest as _, Sha384};

/// SHA-384's output length, and the salt length of the variant.
const HASH_BYTES: usize = 48;

/// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-384, MGF1-SHA-384 and the given salt, for a modulus
/// of `modulus_bits` bits (emBits = modulus_bits − 1).
pub fn emsa_pss_encode(message: &[u8], salt: &[u8], modulus_bits: usize) -> Vec<u8> {
    let em_bits = modulus_bits - 1;
    let em_len = em_bits.div_ceil(8);
    let m_hash = Sha384::digest(message);
    let mut hasher = Sha384::new();
    hasher.update([0u8; 8]);
    hasher.update(m_hash);
    hasher.update(salt);
    let h = hasher.finalize();
    let db_len = em_len - HASH_BYTES - 1;
    let mut db = vec![0u8; db_len - salt.len() - 1];
    db.push(0x01);
    db.extend_from_slice(salt);
    let mask = mgf1_sha384(&h, db_len);
    for (byte, m) in db.iter_mut().zip(mask) {
        *byte ^= m;
    }
    db[0] &= 0xff >> (8 * em_len - em_bits);
    let mut em = db;
    em.extend_from_slice(&h);
    em.push(0xbc);
    em
}

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

/// The RSA key's numbers, big-endian.
pub struct RsaNumbers {
    /// The modulus.
    pub n: BigNum,
    /// The public exponent.
    pub e: BigNum,
    /// The private exponent.
    pub d: BigNum,
}

/// The values of one blinding, computed from the formulas, each as long as the modulus.
pub struct Blinding {
    /// EMSA-PSS-ENCODE(msg, salt).
    pub encoded_message: Vec<u8>,
    /// r⁻¹ mod n.
    pub r_inv: Vec<u8>,
    /// EM · rᵉ mod n.
    pub blinded: Vec<u8>,
    /// blindedᵈ mod n.
    pub blind_signature: Vec<u8>,
    /// blind_signature · r⁻¹ mod n.
    pub signature: Vec<u8>,
}

/// Blinds, signs and unblinds `message` with `salt` and `r`, by the formulas.
pub fn by_the_formulas(key: &RsaNumbers, message: &[u8], salt: &[u8], r: &[u8]) -> Blinding {
    let len = key.n.num_bytes() as usize;
    let bits = key.n.num_bits() as usize;
    let mut ctx = BigNumContext::new().unwrap();
    let big = |bytes: &[u8]| BigNum::from_slice(bytes).unwrap();
    let padded = |n: &BigNum| n.to_vec_padded(len as i32).unwrap();
    let encoded_message = emsa_pss_encode(message, salt, bits);
    let r = big(r);
    let mut r_inv = BigNum::new().unwrap();
    r_inv.mod_inverse(&r, &key.n, &mut ctx).unwrap();
    let mut r_e = BigNum::new().unwrap();
    r_e.mod_exp(&r, &key.e, &key.n, &mut ctx).unwrap();
    let mut blinded = BigNum::new().unwrap();
    blinded
        .mod_mul(&big(&encoded_message), &r_e, &key.n, &mut ctx)
        .unwrap();
    let mut blind_signature = BigNum::new().unwrap();
    blind_signature
        .mod_exp(&blinded, &key.d, &key.n, &mut ctx)
        .unwrap();
    let mut signature = BigNum::new().unwrap();
    signature
        .mod_mul(&blind_signature, &r_inv, &key.n, &mut ctx)
        .unwrap();
    Blinding {
        encoded_message,
        r_inv: padded(&r_inv),
        blinded: padded(&blinded),
        blind_signature: padded(&blind_signature),
        signature: padded(&signature),
    }
}
