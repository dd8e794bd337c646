//! The `semper` binary's library: everything `main` runs, so that tests can run it too.

pub mod config;
pub mod deployment;
pub mod http;
pub mod interbank;
pub mod keytool;
pub mod node;
pub mod telemetry;
