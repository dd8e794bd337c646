//! The HTTP API over a real deployment (the embedded issuer, acquirer and clearing house over
//! loopback QUIC) and over bare servers: the happy path, refused requests, overload, slow
//! clients and HTTPS.

mod account_opens;
mod bad_requests;
mod client;
mod happy_path;
mod keys;
mod overload;
mod slowloris;
#[path = "../support/state.rs"]
mod state;
#[path = "../support/mod.rs"]
mod support;
mod swaps;
mod tls;
mod world;
