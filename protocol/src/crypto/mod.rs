//! The cryptography of semper: Ed25519 for every party's signing key, blind RSA for coins.

pub mod bisect;
pub mod blind_rsa;
pub mod ed25519;
pub mod hash;
pub mod pss;
