//! The clearing house: settlement submissions claimed into cycles, each cycle cut off into a
//! signed report of obligations and net positions, delivered to every participant. See DESIGN.md,
//! flow 4.
//!
//! - [`config`]: what the clearing house is started with.
//! - [`state`]: what it holds, recovered at start from its DB and key store alone.
//! - [`submit`]: the submission path: checks on the pool, one atomic claim, a signed receipt.
//! - [`cycle`]: the cut-off, by count, by time or by the operator, and the signed report.
//! - [`deliver`]: each report pushed to every participant, with bounded retries; a report whose
//!   cutter died before it was delivered is delivered by the next cutter.
//! - [`actor`]: the actix shell with its bounded mailbox and cut-off timer, and [`ClearingHandle`].
//! - [`gateway`]: the handle as a [`crate::gateway::ClearingGateway`], for in-process callers.
//!
//! # Several processes of the clearing house
//!
//! Any number of processes may serve the clearing house over one shared (PostgreSQL) store, each
//! taking any submission and serving any report; they share its key (the key store of
//! `data_dir/keys`, the same directory or a copy). What a process keeps in memory, and why that
//! is safe while others write the same store:
//! - *Submissions, claims, the open cycle, reports*: nothing. Each submission's one write reads
//!   the open cycle and the claims and checks them at the write, so a confirmation or a coin is
//!   claimed once, and every claim lands in exactly one cycle.
//! - *Who cuts the cycles*: only the holder of the cut-off lease ([`state::CYCLES_LEASE`],
//!   `crate::leader`), by time or by count from its timer; the lease's tenure is checked in the
//!   cut's own write, so a process that lost the lease cuts nothing and no cycle is cut twice.
//!   When the holder dies, another takes the lease within its time to live (3 s), delivers the
//!   reports the dead one cut and had not delivered (marked so in the database, [`deliver`]),
//!   and cuts the next cycle. An operator's cut asked of another process is refused as
//!   `clearing.not_leader` (retryable).

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
