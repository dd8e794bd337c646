//! The acquirer: the merchants' bank. It takes their deposits, has each coin checked by its
//! issuer in micro-batches, credits the merchants, and settles the issuers' confirmations through
//! the clearing house, exactly once, and reconciles the clearing house's reports against the claims
//! it counted. See DESIGN.md, flows 2 to 4.
//!
//! - [`config`]: what the acquirer is started with.
//! - [`state`]: everything it holds, recovered at start from its DB and key store alone.
//! - `intake`: a deposit request's checks, before it joins a micro-batch.
//! - `batch`: one micro-batch: batch verification, one spend check per issuer, one write.
//! - [`outbox`]: submissions to the clearing house, stored before they are sent, retried as is.
//! - `refunds`: merchants' refunds, debited at once, and their notices forwarded to the issuers.
//! - `denominations`: the issuers' denomination sets, fetched and checked.
//! - `reconcile`: settlement reports checked against the claims counted per cycle, and caught up.
//! - [`actor`]: the actix shell with its bounded mailbox, and [`AcquirerHandle`] to call it.

pub mod actor;
mod batch;
pub mod config;
mod denominations;
mod error;
mod intake;
mod metrics;
pub mod outbox;
mod reconcile;
mod refunds;
pub mod state;

pub use actor::{AcquirerActor, AcquirerHandle, DepositStatus};
pub use config::{AcquirerConfig, TrustedClearing, TrustedIssuer};
pub use error::AcquirerError;
pub use outbox::OutboxStatus;
pub use state::{AcquirerState, BANK_KEY};
