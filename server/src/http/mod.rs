//! The HTTP API that wallets, merchants and operators use: JSON over HTTP/1.1, described by
//! `server/openapi.json` (served at `/openapi.json`).
//!
//! Each role's endpoints answer only when this process hosts the role (`role.not_hosted`
//! otherwise). Every error is `{"code", "message"}` with the status that [`codes`] gives its code,
//! in one table. Operator endpoints take `Authorization: Bearer <token>`; reads of one account's or
//! merchant's data take that token or a read signed by the subject's key.
//!
//! - [`server`]: [`HttpApi`], which binds, serves and stops; [`HttpSettings`], its bounds.
//! - [`routes`]: every endpoint, registered through one recording builder that the OpenAPI
//!   document is checked against.
//! - [`issuer`], [`acquirer`], [`clearing`], [`node`]: the handlers; [`views`]: their JSON bodies.
//! - [`keys`]: key discovery, the public keys of the roles hosted.
//! - [`auth`]: the operator token; [`owner`]: signed reads; [`account_opens`]: the bound on
//!   account openings per client address; [`overload`]: the bounds on requests in progress, and
//!   the body read before admission; [`clients`]: the bounds per client address;
//!   [`observe`]: per-request metrics and logs.
//! - [`tls`]: HTTPS, from the config's certificate and key files.
//! - [`error`] and [`codes`]: the JSON error and the status of each code.

pub mod account_opens;
pub mod acquirer;
pub mod auth;
pub mod clearing;
pub mod clients;
pub mod codes;
pub mod error;
pub mod issuer;
pub mod keys;
pub mod node;
pub mod observe;
pub mod overload;
pub mod owner;
pub mod routes;
pub mod server;
pub mod tls;
pub mod views;

pub use auth::{OperatorToken, TokenError};
pub use clients::ClientBounds;
pub use observe::{HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL};
pub use server::{HttpApi, HttpSettings, MetricsRender};
pub use tls::{TlsError, TlsFiles};

/// The OpenAPI 3.0 document of this API, as served at `/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");
