//! Support for semper's benchmarks: the benchmark ids, the data they run on, the raw OpenSSL
//! reference they are measured against, and the in-process gateways between their actors.
//!
//! - [`ids`]: every benchmark's criterion id, shared by `benches/crypto` and `bench-ratios`.
//! - [`fixtures`]: keys, coins, signatures and deposit permissions, built once before timing.
//! - [`reference`]: plain RSA-2048 PKCS#1 v1.5 signing and verification with OpenSSL.
//! - [`in_process`]: issuers, a clearing house and a report sink, reached without a link.
//! - [`in_flight`]: requests kept in flight, as concurrent clients send them.
//! - [`settlement`]: the settlement market, its submissions, and the checks on receipts and
//!   reports (`bench-settlement`, `bench-atm`).
//! - [`load_phase`]: the load tester's phases as the end-to-end benchmarks run them.
//! - [`link_node`]: a node on its own thread serving a link, and the market's link identities.
//! - [`sink`]: a link handler that answers each request with its digest.
//! - [`atm_host`]: a thread that runs emulated ATM sockets' tasks.
//! - [`cell_rate`]: the ATM emulator's own cell rate, sans IO.
//! - [`crc_reference`]: the hand-written AAL5 CRC-32 the `crc` crate replaced, as a yardstick.
//! - [`usage`]: a process's CPU time, sampled while a benchmark's work runs.
//! - [`embedded`]: the embedded default started for an end-to-end run over HTTP, its command
//!   line and its table (`bench-refund`, `bench-swap`).

#![warn(missing_docs)]

pub mod atm_host;
pub mod cell_rate;
pub mod crc_reference;
pub mod embedded;
pub mod fixtures;
pub mod ids;
pub mod in_flight;
pub mod in_process;
pub mod link_node;
pub mod load_phase;
pub mod reference;
pub mod settlement;
pub mod sink;
pub mod usage;
