//! The clearing house: settlement submissions claimed into cycles, each cycle cut off into a
//! signed report of obligations and net positions, delivered to every participant. See DESIGN.md,
//! flow 4.
//!
//! - [`config`]: what the clearing house is started with.
//! - [`state`]: what it holds, recovered at start from its DB and key store alone.
//! - [`submit`]: the submission path: checks on the pool, one atomic claim, a signed receipt.
//! - [`cycle`]: the cut-off, by count, by time or by the operator, and the signed report.
//! - [`deliver`]: each report pushed to every participant, with bounded retries.
//! - [`actor`]: the actix shell with its bounded mailbox and cut-off timer, and [`ClearingHandle`].
//! - [`gateway`]: the handle as a [`crate::gateway::ClearingGateway`], for in-process callers.

pub mod actor;
pub mod config;
pub mod cycle;
pub mod deliver;
mod error;
pub mod gateway;
pub mod state;
pub mod submit;

pub use actor::{ClearingActor, ClearingHandle};
pub use config::ClearingConfig;
pub use error::ClearingError;
pub use state::ClearingState;
