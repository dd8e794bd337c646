//! The yardstick of the RSA targets: plain RSA-2048 PKCS#1 v1.5 SHA-256 signing and verification
//! with OpenSSL, called the way the protocol calls OpenSSL (a fresh `Signer` or `Verifier` per
//! operation).

use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};

/// Modulus size of the reference key, in bits.
pub const REFERENCE_RSA_BITS: u32 = 2048;

/// An RSA-2048 key pair, the public half parsed on its own as a verifier would hold it.
pub struct ReferenceKey {
    private: PKey<Private>,
    public: PKey<Public>,
}

impl ReferenceKey {
    /// A fresh key from OpenSSL's generator.
    pub fn generate() -> Result<Self, ErrorStack> {
        let rsa = Rsa::generate(REFERENCE_RSA_BITS)?;
        let public = PKey::from_rsa(Rsa::public_key_from_der_pkcs1(
            &rsa.public_key_to_der_pkcs1()?,
        )?)?;
        Ok(Self {
            private: PKey::from_rsa(rsa)?,
            public,
        })
    }

    /// Signs `message`: SHA-256, PKCS#1 v1.5 padding, RSA private operation.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ErrorStack> {
        let mut signer = Signer::new(MessageDigest::sha256(), &self.private)?;
        signer.update(message)?;
        signer.sign_to_vec()
    }

    /// Whether `signature` is a valid signature on `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<bool, ErrorStack> {
        let mut verifier = Verifier::new(MessageDigest::sha256(), &self.public)?;
        verifier.update(message)?;
        verifier.verify(signature)
    }
}
