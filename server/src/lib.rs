//! The `semper` binary's library: everything `main` runs, so that tests can run it too.
//!
//! Until storage, the actors and the HTTP API exist, this holds only [`demo`]: the protocol core's
//! withdraw → deposit → spend check, in one process, with real keys and real signatures.

pub mod config;
pub mod demo;
pub mod deployment;
pub mod http;
pub mod interbank;
pub mod keytool;
pub mod node;
pub mod telemetry;
