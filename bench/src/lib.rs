//! Support for semper's benchmarks: the benchmark ids, the data they run on, and the raw OpenSSL
//! reference they are measured against.
//!
//! - [`ids`]: every benchmark's criterion id, shared by `benches/crypto` and `bench-ratios`.
//! - [`fixtures`]: keys, coins, signatures and deposit permissions, built once before timing.
//! - [`reference`]: plain RSA-2048 PKCS#1 v1.5 signing and verification with OpenSSL.

#![warn(missing_docs)]

pub mod fixtures;
pub mod ids;
pub mod reference;
