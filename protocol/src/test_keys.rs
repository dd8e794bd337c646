//! Keys shared by the unit tests: RSA generation is slow, so each size is made once per process.

use std::sync::OnceLock;

use crate::crypto::blind_rsa::{DenominationSecretKey, RsaKeySize};

/// A 2048-bit denomination key.
pub fn rsa_2048() -> &'static DenominationSecretKey {
    static KEY: OnceLock<DenominationSecretKey> = OnceLock::new();
    KEY.get_or_init(|| DenominationSecretKey::generate(RsaKeySize::Bits2048).unwrap())
}

/// A 3072-bit denomination key.
pub fn rsa_3072() -> &'static DenominationSecretKey {
    static KEY: OnceLock<DenominationSecretKey> = OnceLock::new();
    KEY.get_or_init(|| DenominationSecretKey::generate(RsaKeySize::Bits3072).unwrap())
}
