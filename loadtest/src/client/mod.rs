//! A client of semper's HTTP API: the blocking HTTP/1.1 transport (plain or TLS) and the typed calls.

pub mod api;
pub mod http;

pub use api::{Api, ApiError, Encoded};
pub use http::{HttpClient, HttpError, Response, Tls, TlsSetupError, read_response};
