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
//!
//! # Several gateways of one acquirer
//!
//! Any number of acquirer processes (gateways) may serve one acquirer over one shared
//! (PostgreSQL) store, each taking any merchant's deposits. They share its bank key (the key
//! store of `data_dir/keys`: the same directory or a copy), which signs spend checks and
//! submissions. What a gateway keeps in memory, and why that is safe while others write the
//! same store:
//! - *Merchants, balances, deposits, the coin index, the outbox, submissions, reports*:
//!   nothing. A micro-batch reads them and its one write ([`semper_storage::acquirer::deposits`])
//!   reads them again and checks them at the write: a deposit id is answered once (the other
//!   gateway's attempt gets the stored answer), a coin is credited once, and a confirmation is
//!   claimed only if every coin it lists is credited under it, so a coin deposited through two
//!   gateways at once is neither credited nor claimed twice.
//! - *Deposits and coins in flight, the micro-batch being filled*: this gateway's own requests.
//!   They keep one gateway from sending a coin to its issuer twice at a time; across gateways the
//!   store and the issuer decide, as above.
//! - *The issuers' denomination sets*: each gateway fetches, checks and stores them itself, on
//!   its refresh timer.
//! - *The outbox driver*: only the holder of the outbox lease runs it (see [`outbox`]), and the
//!   catch-up on settlement reports that follows each pass; the store says what is pending.

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
