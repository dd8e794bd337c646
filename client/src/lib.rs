//! `semper-client`: a client of semper's HTTP API, for wallets, merchants and tools.
//!
//! - [`views`]: the JSON bodies the API defines itself (the server serves the same types);
//! - [`http`]: a blocking HTTP/1.1 transport, plain or TLS; [`api`]: the typed calls over it;
//! - [`parties`]: a wallet and a merchant that speak the real protocol through [`Api`];
//!   [`change`]: the wallet's change making (which coins to swap for which, fees shown first).
//!
//! Light on purpose: no storage engine, no actix, no async runtime; the protocol's types, codec
//! and crypto come from `semper-protocol`.

pub mod api;
pub mod change;
pub mod http;
pub mod parties;
pub mod views;

pub use api::{Api, ApiError, Encoded, SwapError};
pub use http::{HttpClient, HttpError, Response, Tls, TlsSetupError, read_response};
