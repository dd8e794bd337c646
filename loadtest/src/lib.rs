//! `semper-load`: simulated wallets, merchants and banks that drive a running deployment over its
//! real APIs, with reports and plots.
//!
//! So far it holds [`client`], the typed client of the HTTP API that the load generator, the
//! server's binary tests and the multi-bank tests drive a deployment with.

pub mod client;
pub mod parties;
