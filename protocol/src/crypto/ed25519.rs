//! Ed25519 for coin, account, bank and confirmation keys: signing with ed25519-dalek, verification
//! with ZIP-215 semantics on curve25519-dalek, single and batch.
//!
//! # Why ZIP-215, and why not `ed25519_dalek::verify_batch`
//!
//! Batch verification must never accept what single verification rejects; otherwise an acquirer
//! (batching) and an issuer (bisecting down to single checks) could disagree about the same coin.
//! ed25519-dalek's single verification is *cofactorless* (`[s]B = R + [k]A`) while a random-linear-
//! combination batch only agrees with the *cofactored* equation (`[8][s]B = [8]R + [8][k]A`): a key
//! or `R` with a small-order component makes the two differ, and dalek's batch derives its
//! coefficients deterministically, so the difference can be ground out by an attacker.
//!
//! semper therefore uses the ZIP-215 rules for both paths, which make them agree:
//! - `s` must be canonical (`s < ℓ`);
//! - `A` and `R` are decoded as ZIP-215 allows (non-canonical `y` accepted), and `k` hashes their
//!   bytes as sent;
//! - both single and batch check the cofactored equation, the batch with independent random
//!   128-bit coefficients.
//!
//! On top of ZIP-215, a [`VerifyingKey`] must be canonically encoded and not of small order: those
//! keys are refused when they are parsed, before either path sees them, so that one point has one
//! key encoding and no key verifies every message.

use std::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::Signer as _;
use rand::{CryptoRng, Rng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha512};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::crypto::bisect;

/// Why a key or signature was refused. Each variant has a stable [`SignatureError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key is not a valid curve point.
    #[error("public key is not a curve point")]
    KeyNotOnCurve,
    /// The public key is not in canonical encoding.
    #[error("public key is not canonically encoded")]
    KeyNotCanonical,
    /// The public key has small order and would verify forged signatures.
    #[error("public key is of small order")]
    WeakKey,
    /// The signature's `R` is not a curve point, or its `s` is not reduced.
    #[error("signature is malformed")]
    MalformedSignature,
    /// The signature does not verify.
    #[error("signature does not verify")]
    Invalid,
}

impl SignatureError {
    /// The refusals of a public key's parse. A key inside a JSON body is refused with a serde
    /// error whose message starts with the refusal's code, so that the HTTP layer can answer it.
    pub const KEY_REFUSALS: [Self; 3] = [Self::KeyNotOnCurve, Self::KeyNotCanonical, Self::WeakKey];

    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyNotOnCurve => "ed25519.key_not_on_curve",
            Self::KeyNotCanonical => "ed25519.key_not_canonical",
            Self::WeakKey => "ed25519.weak_key",
            Self::MalformedSignature => "ed25519.malformed_signature",
            Self::Invalid => "ed25519.invalid_signature",
        }
    }
}

/// A secret Ed25519 key. Its `Debug` form never shows the secret.
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
    public: VerifyingKey,
}

impl SigningKey {
    /// A fresh key from a cryptographic RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The key whose 32-byte seed is `seed` (RFC 8032's secret key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let inner = ed25519_dalek::SigningKey::from_bytes(seed);
        let public_bytes = inner.verifying_key().to_bytes();
        // An honestly generated key is a multiple of the base point: canonical and of prime order.
        let point = CompressedEdwardsY(public_bytes)
            .decompress()
            .unwrap_or(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
        Self {
            inner,
            public: VerifyingKey {
                bytes: public_bytes,
                point,
            },
        }
    }

    /// The 32-byte seed, for storing the key. Handle with care.
    pub fn to_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.inner.to_bytes())
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// Signs `message` (RFC 8032, deterministic).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.inner.sign(message).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey(public: {:?}, secret: <redacted>)",
            self.public
        )
    }
}

/// A validated Ed25519 public key: a canonical encoding of a point that is not of small order.
#[derive(Clone, Copy)]
pub struct VerifyingKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
}

impl VerifyingKey {
    /// Parses and validates a public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SignatureError> {
        if !is_canonical_encoding(bytes) {
            return Err(SignatureError::KeyNotCanonical);
        }
        let point = CompressedEdwardsY(*bytes)
            .decompress()
            .ok_or(SignatureError::KeyNotOnCurve)?;
        if point.is_small_order() {
            return Err(SignatureError::WeakKey);
        }
        Ok(Self {
            bytes: *bytes,
            point,
        })
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Verifies one signature (ZIP-215, cofactored).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let parts = SignatureParts::parse(signature)?;
        let k = challenge(&signature.0[..32], &self.bytes, message);
        // [s]B - [k]A - R, times the cofactor, must be the identity.
        let s_b_minus_k_a =
            EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &(-self.point), &parts.s);
        if (s_b_minus_k_a - parts.r).mul_by_cofactor().is_identity() {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for VerifyingKey {}

impl std::hash::Hash for VerifyingKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", hex::encode(&self.bytes[..8]))
    }
}

impl Encode for VerifyingKey {
    fn encode_to(&self, writer: &mut Writer) {
        writer.fixed(&self.bytes);
    }
}

impl Decode for VerifyingKey {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes = reader.array("ed25519 public key")?;
        Self::from_bytes(&bytes).map_err(|e| DecodeError::invalid("ed25519 public key", e))
    }
}

impl Serialize for VerifyingKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::hex_serde::serialize(&self.bytes, serializer)
    }
}

impl<'de> Deserialize<'de> for VerifyingKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = crate::hex_serde::deserialize_array(deserializer)?;
        Self::from_bytes(&bytes)
            .map_err(|e| serde::de::Error::custom(format_args!("{}: {e}", e.code())))
    }
}

/// Length of an encoded signature, in bytes.
pub const SIGNATURE_BYTES: usize = 64;

/// An Ed25519 signature as sent: `R ‖ s`. It is only parsed when verified, so that single and
/// batch verification judge malformed signatures by the same code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_BYTES]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..8]))
    }
}

impl Encode for Signature {
    fn encode_to(&self, writer: &mut Writer) {
        writer.fixed(&self.0);
    }
}

impl Decode for Signature {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(reader.array("ed25519 signature")?))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::hex_serde::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::hex_serde::deserialize_array(deserializer).map(Self)
    }
}

/// Whether `bytes` is the one encoding of the point it decodes to, i.e. whether re-compressing
/// the point gives `bytes` back, checked without the field inversion that compressing costs
/// (a key is parsed once per coin at each bank, so that inversion was a tenth of a deposit's
/// time). Decompression keeps the sign bit as `x`'s parity, so only two things can differ:
/// - `y` not reduced, i.e. `y ≥ p = 2²⁵⁵ − 19`;
/// - the sign bit set on a point with `x = 0`, which are exactly `y = 1` and `y = p − 1`.
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] >> 7;
    let mut y = *bytes;
    y[31] &= 0x7f;
    // p is ed ff … ff 7f, little-endian: y ≥ p only when y's top 31 bytes are p's and y[0] ≥ 0xed.
    let reduced = !(y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed);
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let x_is_zero = y == one || y == minus_one;
    reduced && !(x_is_zero && sign == 1)
}

/// `R` and `s`, decoded under the ZIP-215 rules.
struct SignatureParts {
    r: EdwardsPoint,
    s: Scalar,
}

impl SignatureParts {
    fn parse(signature: &Signature) -> Result<Self, SignatureError> {
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&signature.0[..32]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&signature.0[32..]);
        let r = CompressedEdwardsY(r_bytes)
            .decompress()
            .ok_or(SignatureError::MalformedSignature)?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
            .ok_or(SignatureError::MalformedSignature)?;
        Ok(Self { r, s })
    }
}

/// `k = SHA-512(R ‖ A ‖ M) mod ℓ`, over the bytes as sent.
fn challenge(r_bytes: &[u8], key_bytes: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(r_bytes);
    hasher.update(key_bytes);
    hasher.update(message);
    let wide: [u8; 64] = hasher.finalize().into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// One signature to check in a batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The signer's key.
    pub key: &'a VerifyingKey,
    /// The signed message.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// True when every item verifies: one multi-scalar multiplication for the whole batch.
///
/// Accepts exactly when [`VerifyingKey::verify`] accepts every item, except with probability
/// 2⁻¹²⁸ per call from the random coefficients.
pub fn verify_batch(items: &[BatchItem<'_>]) -> bool {
    let mut rng = rand::rng();
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    let mut base_coefficient = Scalar::ZERO;
    scalars.push(Scalar::ZERO); // placeholder for the base point's coefficient
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    for item in items {
        let Ok(parts) = SignatureParts::parse(item.signature) else {
            return false;
        };
        let k = challenge(&item.signature.0[..32], &item.key.bytes, item.message);
        let z = random_coefficient(&mut rng);
        // Σ z·(R + k·A − s·B) = 0, times the cofactor.
        base_coefficient -= z * parts.s;
        scalars.push(z);
        points.push(parts.r);
        scalars.push(z * k);
        points.push(item.key.point);
    }
    scalars[0] = base_coefficient;
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

/// For each item, whether it verifies: one batch, bisected to the bad items when it fails.
pub fn verify_each(items: &[BatchItem<'_>]) -> Vec<bool> {
    bisect::find_good(items.len(), &mut |range| {
        if range.len() == 1 {
            let item = &items[range.start];
            item.key.verify(item.message, item.signature).is_ok()
        } else {
            verify_batch(&items[range])
        }
    })
}

fn random_coefficient(rng: &mut impl Rng) -> Scalar {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes[..16]);
    Scalar::from_bytes_mod_order(bytes)
}

#[cfg(test)]
mod tests;
