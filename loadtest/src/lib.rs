//! `semper-load`: simulated wallets, merchants and banks that drive a running deployment over its
//! real APIs, with reports and plots.
//!
//! - the typed HTTP client, the wallet and the merchant it drives come from `semper-client`;
//! - [`target`]: which node plays which role;
//! - [`workload`]: the operations and what each checks; [`driver`]: closed and open loop;
//! - [`recorder`], [`report`], [`plot`], [`progress`]: what the run measured, and how it is shown;
//! - [`settle`] and [`invariants`]: settling at the end and the verdicts over both sides' books;
//! - [`process`]: a `semper run` child process, for the benchmarks and the crash-kill soak;
//! - [`deployment`]: processes on data and ports of their own, each restartable where it was;
//!   [`multibank`]: the five banks of `config/multibank/` as one;
//! - [`soak`]: the crash-kill soak, SIGKILLs at random moments under load;
//! - [`refund_rate`]: refund throughput over HTTP against deposits of the same coins;
//!   [`swap_rate`]: swap throughput against withdrawals plus deposits of the same coins;
//!   [`http_rate`]: what the two share;
//! - [`revoke`]: a denomination revoked with an issuer's master key, for the recoups.
//!
//! [`run`] is the entry point: a [`LoadConfig`] in, a [`LoadReport`] out.

pub mod deployment;
pub mod driver;
pub mod failover;
pub mod http_rate;
pub mod invariants;
pub mod multibank;
pub mod plot;
pub mod process;
pub mod progress;
pub mod recorder;
pub mod refund_rate;
pub mod replicated;
pub mod report;
pub mod revoke;
mod run;
pub mod settle;
pub mod soak;
pub mod swap_rate;
pub mod target;
pub mod workload;

pub use report::LoadReport;
pub use run::{
    DEFAULT_RECOUP_SHARE, DEFAULT_REFUND_SHARE, DEFAULT_SWAP_SHARE, DURATION_MAX, LoadConfig,
    LoadError, LoadPhase, Mode, RECOUP_COINS_PER_WALLET, REFUND_SETTLE_ROUNDS_MAX, WORKERS_MAX,
    run,
};
