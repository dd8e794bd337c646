//! Support for semper's benchmarks: the benchmark ids, the data they run on, the raw OpenSSL
//! reference they are measured against, and the in-process gateways between their actors.
//!
//! - [`ids`]: every benchmark's criterion id, shared by `benches/crypto` and `bench-ratios`.
//! - [`fixtures`]: keys, coins, signatures and deposit permissions, built once before timing.
//! - [`reference`]: plain RSA-2048 PKCS#1 v1.5 signing and verification with OpenSSL.
//! - [`in_process`]: issuers, a clearing house and a report sink, reached without a link.
//! - [`in_flight`]: requests kept in flight, as concurrent clients send them.

#![warn(missing_docs)]

pub mod fixtures;
pub mod ids;
pub mod in_flight;
pub mod in_process;
pub mod reference;
