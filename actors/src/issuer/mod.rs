//! The issuer: customer accounts, withdrawals, spend checks of its own coins, the life of its
//! denomination keys, and the reconciliation of settlement reports. See DESIGN.md, flows 1, 3
//! and 4.
//!
//! - [`config`]: what the issuer is started with.
//! - [`state`]: everything it holds, recovered at start from its DB and key store alone.
//! - [`lifecycle`]: denomination keys generated ahead, rotated, revoked, and the signed set.
//! - [`withdraw`], [`swap`] and [`spend`]: the request paths, run on the pool and the committer.
//! - [`reconcile`]: settlement reports from the clearing house, checked against the books.
//! - [`actor`]: the actix shell with its bounded mailbox, and [`IssuerHandle`] to call it.

pub mod actor;
pub mod config;
mod error;
pub mod lifecycle;
pub mod reconcile;
pub mod spend;
pub mod state;
pub mod swap;
pub mod withdraw;

pub use crate::keystore;
pub use actor::{IssuerActor, IssuerHandle};
pub use config::{DenominationSchedule, IssuerConfig, SpentShardsConfig};
pub use error::IssuerError;
pub use state::{IssuerPublicKeys, IssuerState};
