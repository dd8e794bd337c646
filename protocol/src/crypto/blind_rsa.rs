//! Blind RSA signatures for coins: RFC 9474, variant **RSABSSA-SHA384-PSS-Deterministic**.
//!
//! # Why the Deterministic variant
//!
//! The Randomized variants prefix the message with 32 random bytes so that a signer cannot choose
//! or predict what it signs. A coin's message already holds the coin's fresh Ed25519 public key,
//! 32 bytes that the wallet draws at random and the issuer never sees before the coin is spent:
//! it has all the entropy that prefix would add (RFC 9474 §4.1 allows the identity preparation for
//! such messages). Randomizing again would only add 32 bytes to every coin and deposit. The PSS salt
//! (48 bytes) still makes every signature probabilistic.
//!
//! # Two implementations that must agree
//!
//! - The wallet blinds and finalizes with `blind-rsa-signatures` (pure Rust): it runs where OpenSSL
//!   may not, and its cost is the wallet's.
//! - The issuer's private operation (RSASP1) and the hot path's RSA public operation (RSAVP1) use
//!   OpenSSL through the `openssl` crate; the hot path checks the PSS padding itself
//!   ([`crate::crypto::pss`]), and the tests hold its verdicts to OpenSSL's own PSS verifier. OpenSSL's RSA private operation is constant-time and uses base
//!   blinding (`RSA_FLAG_BLINDING`, on by default), which matters here because the input is chosen
//!   by the client; the pure-Rust `rsa` crate is flagged for exactly that (RUSTSEC-2023-0071).
//!   OpenSSL also checks its CRT result against the public exponent before releasing it.
//!
//! The RFC 9474 test vectors pass on both paths, and coins made on one verify on the other (see the
//! tests).

use std::fmt;
use std::sync::Arc;

use blind_rsa_signatures::{BlindSignature as LibBlindSignature, BlindingResult};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Verifier};
use rand::CryptoRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::crypto::pss;

/// The pure-Rust scheme the wallet uses: SHA-384, PSS with a 48-byte salt, identity preparation.
type WalletKey = blind_rsa_signatures::PublicKeySha384PSSDeterministic;

/// PSS salt length in bytes: the SHA-384 output length, as RFC 9474's PSS variants fix it.
pub const PSS_SALT_BYTES: i32 = pss::SALT_BYTES as i32;
/// Public exponent of every denomination key.
pub const PUBLIC_EXPONENT: u32 = 65537;
/// Largest RSA value (modulus-sized byte string) any decoder accepts: 4096 bits.
pub const RSA_VALUE_MAX_BYTES: usize = 512;
/// Largest DER-encoded public key any decoder accepts.
pub const PUBLIC_KEY_DER_MAX_BYTES: usize = 600;

/// Why an RSA operation or key was refused. Each variant has a stable [`RsaError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RsaError {
    /// The key is not an RSA key semper accepts (2048, 3072 or 4096 bits, e = 65537, canonical DER).
    #[error("unsupported RSA key: {0}")]
    UnsupportedKey(String),
    /// A value was not exactly as long as the modulus.
    #[error("expected {expected} bytes, got {found}")]
    WrongLength {
        /// The modulus length.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A blinded message was not below the modulus.
    #[error("blinded message is not below the modulus")]
    OutOfRange,
    /// The signature does not verify.
    #[error("RSA signature does not verify")]
    Invalid,
    /// The private operation's result failed its own check (a fault): nothing was released.
    #[error("RSA signing failed its self-check")]
    SigningFault,
    /// Blinding or finalization failed in the wallet.
    #[error("blind RSA wallet operation failed: {0}")]
    Wallet(String),
    /// OpenSSL reported an error it should not have.
    #[error("OpenSSL error: {0}")]
    Backend(String),
}

impl RsaError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedKey(_) => "rsa.unsupported_key",
            Self::WrongLength { .. } => "rsa.wrong_length",
            Self::OutOfRange => "rsa.out_of_range",
            Self::Invalid => "rsa.invalid_signature",
            Self::SigningFault => "rsa.signing_fault",
            Self::Wallet(_) => "rsa.wallet",
            Self::Backend(_) => "rsa.backend",
        }
    }
}

fn backend(error: openssl::error::ErrorStack) -> RsaError {
    RsaError::Backend(error.to_string())
}

/// The RSA modulus sizes semper issues coins under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RsaKeySize {
    /// 2048-bit modulus: the default.
    #[default]
    #[serde(rename = "2048")]
    Bits2048,
    /// 3072-bit modulus.
    #[serde(rename = "3072")]
    Bits3072,
    /// 4096-bit modulus: accepted (RFC 9474's test vectors use it), never the default.
    #[serde(rename = "4096")]
    Bits4096,
}

impl RsaKeySize {
    /// The modulus length in bits.
    pub fn bits(self) -> u32 {
        match self {
            Self::Bits2048 => 2048,
            Self::Bits3072 => 3072,
            Self::Bits4096 => 4096,
        }
    }

    /// The size with `bits` bits, if semper supports it.
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            2048 => Some(Self::Bits2048),
            3072 => Some(Self::Bits3072),
            4096 => Some(Self::Bits4096),
            _ => None,
        }
    }
}

/// Defines a modulus-sized RSA value with a bounded codec and hex JSON.
macro_rules! rsa_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub Vec<u8>);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let head = &self.0[..self.0.len().min(8)];
                write!(f, "{}({}…, {} bytes)", stringify!($name), hex::encode(head), self.0.len())
            }
        }

        impl Encode for $name {
            fn encode_to(&self, writer: &mut Writer) {
                writer.bytes(&self.0);
            }
        }

        impl Decode for $name {
            fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self(reader.bytes(RSA_VALUE_MAX_BYTES, stringify!($name))?.to_vec()))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                crate::hex_serde::serialize(&self.0, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let bytes = crate::hex_serde::deserialize(deserializer)?;
                if bytes.len() > RSA_VALUE_MAX_BYTES {
                    return Err(serde::de::Error::custom(format!(
                        "{} is longer than {RSA_VALUE_MAX_BYTES} bytes",
                        stringify!($name)
                    )));
                }
                Ok(Self(bytes))
            }
        }
    };
}

rsa_value!(
    /// A blinded coin message, as the wallet sends it to the issuer.
    BlindedMessage
);
rsa_value!(
    /// The issuer's signature over a blinded message.
    BlindSignature
);
rsa_value!(
    /// An unblinded RSA-PSS signature: the issuer's signature on a coin.
    RsaSignature
);
rsa_value!(
    /// The inverse `r⁻¹ mod n` of a coin's blinding factor `r` (RFC 9474's `inv`), which the
    /// wallet keeps to unblind, and shows the issuer to recoup the coin: with it the issuer
    /// blinds the coin again and finds the blinded message it signed.
    BlindingInverse
);

/// A denomination's RSA public key: canonical PKCS#1 DER, 2048 (default), 3072 or 4096 bits,
/// e = 65537.
#[derive(Clone)]
pub struct DenominationPublicKey {
    der: Arc<[u8]>,
    rsa: Rsa<Public>,
    pkey: PKey<Public>,
    size: RsaKeySize,
}

impl DenominationPublicKey {
    /// Parses and validates PKCS#1 DER (`RSAPublicKey`).
    pub fn from_der(der: &[u8]) -> Result<Self, RsaError> {
        let unsupported = |why: &str| RsaError::UnsupportedKey(why.to_owned());
        if der.len() > PUBLIC_KEY_DER_MAX_BYTES {
            return Err(unsupported("DER too long"));
        }
        let rsa = Rsa::public_key_from_der_pkcs1(der).map_err(|_| unsupported("not PKCS#1 DER"))?;
        let size = u32::try_from(rsa.n().num_bits())
            .ok()
            .and_then(RsaKeySize::from_bits)
            .ok_or_else(|| unsupported("modulus must be 2048, 3072 or 4096 bits"))?;
        if rsa.e().to_vec() != PUBLIC_EXPONENT.to_be_bytes()[1..] {
            return Err(unsupported("public exponent must be 65537"));
        }
        if rsa.public_key_to_der_pkcs1().map_err(backend)? != der {
            return Err(unsupported("DER is not canonical"));
        }
        let pkey = PKey::from_rsa(rsa.clone()).map_err(backend)?;
        Ok(Self {
            der: der.into(),
            rsa,
            pkey,
            size,
        })
    }

    /// Builds the key from its modulus and public exponent (big-endian), as an HSM reports
    /// them; the same checks as [`DenominationPublicKey::from_der`] apply.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, RsaError> {
        let big = |bytes: &[u8]| BigNum::from_slice(bytes).map_err(backend);
        let rsa = Rsa::from_public_components(big(n)?, big(e)?).map_err(backend)?;
        Self::from_der(&rsa.public_key_to_der_pkcs1().map_err(backend)?)
    }

    /// Checks a blinded message before a private operation on it: of the modulus' length and
    /// below the modulus (a raw RSA input must be).
    pub fn check_blinded(&self, blinded: &BlindedMessage) -> Result<(), RsaError> {
        self.check_length(blinded.0.len())?;
        // Both big-endian and of the same length: byte order is numeric order.
        if blinded.0.as_slice() >= self.rsa.n().to_vec().as_slice() {
            return Err(RsaError::OutOfRange);
        }
        Ok(())
    }

    /// Checks a blind signature made by a private operation elsewhere (an HSM): RSAVP1 of it
    /// must give back the blinded message, so a faulty signature never leaves the signer.
    pub fn check_blind_signature(
        &self,
        blinded: &BlindedMessage,
        signature: &BlindSignature,
    ) -> Result<(), RsaError> {
        let size = self.modulus_bytes();
        if signature.0.len() != size {
            return Err(RsaError::SigningFault);
        }
        let mut check = vec![0u8; size];
        let written = self
            .rsa
            .public_encrypt(&signature.0, &mut check, Padding::NONE)
            .map_err(|_| RsaError::SigningFault)?;
        if written != size || check != blinded.0 {
            return Err(RsaError::SigningFault);
        }
        Ok(())
    }

    /// The canonical PKCS#1 DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The modulus size.
    pub fn size(&self) -> RsaKeySize {
        self.size
    }

    /// The modulus length in bytes: the length of every blinded message and signature.
    pub fn modulus_bytes(&self) -> usize {
        self.size.bits() as usize / 8
    }

    /// Verifies an RSASSA-PSS (SHA-384, MGF1-SHA-384, 48-byte salt) signature: the hot path.
    ///
    /// RSAVP1 runs in OpenSSL; the PSS padding check is [`crate::crypto::pss`].
    pub fn verify(&self, message: &[u8], signature: &RsaSignature) -> Result<(), RsaError> {
        self.check_length(signature.0.len())?;
        let mut encoded = vec![0u8; self.modulus_bytes()];
        // Raw RSA (no padding): OpenSSL refuses a signature that is not below n.
        let written = self
            .rsa
            .public_encrypt(&signature.0, &mut encoded, Padding::NONE)
            .map_err(|_| RsaError::Invalid)?;
        if written == encoded.len() && pss::verify(message, &encoded, self.size.bits() as usize) {
            Ok(())
        } else {
            Err(RsaError::Invalid)
        }
    }

    /// Verifies the same signature with OpenSSL's own `EVP` RSA-PSS verifier: a second opinion
    /// for tests and benchmarks, slower than [`DenominationPublicKey::verify`].
    pub fn verify_openssl_evp(
        &self,
        message: &[u8],
        signature: &RsaSignature,
    ) -> Result<(), RsaError> {
        self.check_length(signature.0.len())?;
        let mut verifier = Verifier::new(MessageDigest::sha384(), &self.pkey).map_err(backend)?;
        verifier
            .set_rsa_padding(Padding::PKCS1_PSS)
            .map_err(backend)?;
        verifier
            .set_rsa_pss_saltlen(RsaPssSaltlen::custom(PSS_SALT_BYTES))
            .map_err(backend)?;
        verifier
            .set_rsa_mgf1_md(MessageDigest::sha384())
            .map_err(backend)?;
        verifier.update(message).map_err(backend)?;
        // A malformed signature makes OpenSSL report an error rather than `false`: both are "invalid".
        match verifier.verify(&signature.0) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(RsaError::Invalid),
        }
    }

    /// Verifies the same signature with the pure-Rust `blind-rsa-signatures` path.
    pub fn verify_pure_rust(
        &self,
        message: &[u8],
        signature: &RsaSignature,
    ) -> Result<(), RsaError> {
        self.check_length(signature.0.len())?;
        let signature = blind_rsa_signatures::Signature(signature.0.clone());
        self.wallet_key()?
            .verify(&signature, None, message)
            .map_err(|_| RsaError::Invalid)
    }

    /// Blinds `message` for signing (wallet side, pure Rust). Keep the secret to finalize.
    pub fn blind<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        message: &[u8],
    ) -> Result<(BlindedMessage, BlindingSecret), RsaError> {
        let result = self
            .wallet_key()?
            .blind(rng, message)
            .map_err(|e| RsaError::Wallet(e.to_string()))?;
        let blinded = BlindedMessage(result.blind_message.0.clone());
        Ok((blinded, BlindingSecret(result)))
    }

    /// Unblinds the issuer's answer into a coin signature and checks it (wallet side, pure Rust).
    pub fn finalize(
        &self,
        blind_signature: &BlindSignature,
        secret: &BlindingSecret,
        message: &[u8],
    ) -> Result<RsaSignature, RsaError> {
        self.check_length(blind_signature.0.len())?;
        let signature = self
            .wallet_key()?
            .finalize(
                &LibBlindSignature(blind_signature.0.clone()),
                &secret.0,
                message,
            )
            .map_err(|_| RsaError::Invalid)?;
        Ok(RsaSignature(signature.0))
    }

    /// Blinds a coin's signature again, as its wallet blinded it: `sig^e · r^e mod n` with `r`
    /// the inverse of `inverse`. `sig^e` is the coin's PSS-encoded message, so this is the
    /// blinded message the wallet sent, exactly when `signature` was unblinded with `inverse`.
    /// The caller has verified `signature`; an `inverse` not as long as the modulus, not below
    /// it, or not invertible is refused.
    pub fn reblind(
        &self,
        signature: &RsaSignature,
        inverse: &BlindingInverse,
    ) -> Result<BlindedMessage, RsaError> {
        self.check_length(signature.0.len())?;
        self.check_length(inverse.0.len())?;
        let n = self.rsa.n();
        let big = |bytes: &[u8]| BigNum::from_slice(bytes).map_err(backend);
        let (signature, inverse) = (big(&signature.0)?, big(&inverse.0)?);
        let below_n = |value: &BigNum| value.ucmp(n) == std::cmp::Ordering::Less;
        if !below_n(&inverse) || !below_n(&signature) {
            return Err(RsaError::OutOfRange);
        }
        let mut ctx = openssl::bn::BigNumContext::new().map_err(backend)?;
        let mut r = BigNum::new().map_err(backend)?;
        // Zero, and any value sharing a factor with n, has no inverse.
        r.mod_inverse(&inverse, n, &mut ctx)
            .map_err(|_| RsaError::OutOfRange)?;
        let mut encoded = BigNum::new().map_err(backend)?;
        encoded
            .mod_exp(&signature, self.rsa.e(), n, &mut ctx)
            .map_err(backend)?;
        let mut factor = BigNum::new().map_err(backend)?;
        factor
            .mod_exp(&r, self.rsa.e(), n, &mut ctx)
            .map_err(backend)?;
        let mut blinded = BigNum::new().map_err(backend)?;
        blinded
            .mod_mul(&encoded, &factor, n, &mut ctx)
            .map_err(backend)?;
        let length = i32::try_from(self.modulus_bytes())
            .map_err(|_| RsaError::UnsupportedKey("modulus too long".into()))?;
        Ok(BlindedMessage(
            blinded.to_vec_padded(length).map_err(backend)?,
        ))
    }

    fn wallet_key(&self) -> Result<WalletKey, RsaError> {
        WalletKey::from_der(&self.der).map_err(|e| RsaError::UnsupportedKey(e.to_string()))
    }

    fn check_length(&self, found: usize) -> Result<(), RsaError> {
        let expected = self.modulus_bytes();
        if found == expected {
            Ok(())
        } else {
            Err(RsaError::WrongLength { expected, found })
        }
    }
}

impl PartialEq for DenominationPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for DenominationPublicKey {}

impl fmt::Debug for DenominationPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digest = crate::crypto::hash::sha256(&[&self.der]);
        write!(
            f,
            "DenominationPublicKey(rsa-{}, {})",
            self.size.bits(),
            hex::encode(&digest[..8])
        )
    }
}

impl Encode for DenominationPublicKey {
    fn encode_to(&self, writer: &mut Writer) {
        writer.bytes(&self.der);
    }
}

impl Decode for DenominationPublicKey {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let der = reader.bytes(PUBLIC_KEY_DER_MAX_BYTES, "rsa public key")?;
        Self::from_der(der).map_err(|e| DecodeError::invalid("rsa public key", e))
    }
}

impl Serialize for DenominationPublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::hex_serde::serialize(&self.der, serializer)
    }
}

impl<'de> Deserialize<'de> for DenominationPublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let der = crate::hex_serde::deserialize(deserializer)?;
        Self::from_der(&der).map_err(serde::de::Error::custom)
    }
}

/// The wallet's blinding secret for one coin. Its `Debug` form never shows it.
#[derive(Clone)]
pub struct BlindingSecret(BlindingResult);

impl BlindingSecret {
    /// The inverse of the blinding factor, as the wallet keeps it to recoup the coin.
    pub fn inverse(&self) -> BlindingInverse {
        BlindingInverse(self.0.secret.0.clone())
    }
}

impl fmt::Debug for BlindingSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindingSecret(<redacted>)")
    }
}

/// A denomination's RSA private key, held by its issuer. Its `Debug` form never shows it.
pub struct DenominationSecretKey {
    rsa: Rsa<Private>,
    public: DenominationPublicKey,
}

impl DenominationSecretKey {
    /// A fresh key of `size` from OpenSSL's generator.
    pub fn generate(size: RsaKeySize) -> Result<Self, RsaError> {
        let exponent = BigNum::from_u32(PUBLIC_EXPONENT).map_err(backend)?;
        let rsa = Rsa::generate_with_e(size.bits(), &exponent).map_err(backend)?;
        Self::from_rsa(rsa)
    }

    /// Parses PKCS#1 DER (`RSAPrivateKey`), checking the key's consistency.
    pub fn from_der(der: &[u8]) -> Result<Self, RsaError> {
        let rsa = Rsa::private_key_from_der(der)
            .map_err(|_| RsaError::UnsupportedKey("not PKCS#1 private key DER".into()))?;
        Self::from_rsa(rsa)
    }

    /// Builds a key from its components (e.g. RFC 9474 test vectors), deriving the CRT values.
    pub fn from_components(
        n: &[u8],
        e: &[u8],
        d: &[u8],
        p: &[u8],
        q: &[u8],
    ) -> Result<Self, RsaError> {
        let big = |bytes: &[u8]| BigNum::from_slice(bytes).map_err(backend);
        let (n, e, d, p, q) = (big(n)?, big(e)?, big(d)?, big(p)?, big(q)?);
        let mut ctx = openssl::bn::BigNumContext::new().map_err(backend)?;
        let one = BigNum::from_u32(1).map_err(backend)?;
        let mut p1 = BigNum::new().map_err(backend)?;
        p1.checked_sub(&p, &one).map_err(backend)?;
        let mut q1 = BigNum::new().map_err(backend)?;
        q1.checked_sub(&q, &one).map_err(backend)?;
        let mut dp = BigNum::new().map_err(backend)?;
        dp.nnmod(&d, &p1, &mut ctx).map_err(backend)?;
        let mut dq = BigNum::new().map_err(backend)?;
        dq.nnmod(&d, &q1, &mut ctx).map_err(backend)?;
        let mut qinv = BigNum::new().map_err(backend)?;
        qinv.mod_inverse(&q, &p, &mut ctx).map_err(backend)?;
        let rsa = Rsa::from_private_components(n, e, d, p, q, dp, dq, qinv).map_err(backend)?;
        Self::from_rsa(rsa)
    }

    fn from_rsa(rsa: Rsa<Private>) -> Result<Self, RsaError> {
        if !rsa
            .check_key()
            .map_err(|_| RsaError::UnsupportedKey("inconsistent key".into()))?
        {
            return Err(RsaError::UnsupportedKey("inconsistent key".into()));
        }
        let public =
            DenominationPublicKey::from_der(&rsa.public_key_to_der_pkcs1().map_err(backend)?)?;
        Ok(Self { rsa, public })
    }

    /// The PKCS#1 DER encoding, for the issuer's key store. Handle with care.
    pub fn to_der(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, RsaError> {
        Ok(zeroize::Zeroizing::new(
            self.rsa.private_key_to_der().map_err(backend)?,
        ))
    }

    /// The matching public key.
    pub fn public_key(&self) -> &DenominationPublicKey {
        &self.public
    }

    /// RFC 9474 BlindSign with OpenSSL: RSASP1 on the blinded message, then RSAVP1 to check the
    /// result before it leaves the issuer.
    pub fn blind_sign(&self, blinded: &BlindedMessage) -> Result<BlindSignature, RsaError> {
        let size = self.public.modulus_bytes();
        self.public.check_length(blinded.0.len())?;
        let mut signature = vec![0u8; size];
        // Raw RSA (no padding): OpenSSL refuses an input that is not below n.
        let written = self
            .rsa
            .private_decrypt(&blinded.0, &mut signature, Padding::NONE)
            .map_err(|_| RsaError::OutOfRange)?;
        if written != size {
            return Err(RsaError::SigningFault);
        }
        let signature = BlindSignature(signature);
        self.public.check_blind_signature(blinded, &signature)?;
        Ok(signature)
    }
}

impl fmt::Debug for DenominationSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DenominationSecretKey(public: {:?}, secret: <redacted>)",
            self.public
        )
    }
}

#[cfg(test)]
mod tests;
