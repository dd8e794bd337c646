//! The issuer: customer accounts, withdrawals, spend checks of its own coins, the life of its
//! denomination keys, and the reconciliation of settlement reports. See DESIGN.md, flows 1, 3
//! and 4.
//!
//! - [`config`]: what the issuer is started with.
//! - [`state`]: everything it holds, recovered at start from its DB and key store alone.
//! - [`lifecycle`]: denomination keys generated ahead and rotated.
//! - [`publish`]: the set to sign exported, a set signed by the master key taken and published
//!   (with the revocations it brings), and the embedded default's local signing.
//! - [`withdraw`], [`swap`] and [`spend`]: the request paths, run on the pool and the committer;
//!   [`refund`]: an acquirer's refund notice, which lets a spent coin be swapped once more;
//!   [`recoup`]: a withdrawn coin of a revoked denomination credited back to its account.
//! - [`reconcile`]: settlement reports from the clearing house, checked against the books.
//! - [`actor`]: the actix shell with its bounded mailbox, and [`IssuerHandle`] to call it.
//!
//! # Several processes of one issuer
//!
//! Any number of issuer processes may serve one issuer over one shared (PostgreSQL) store, each
//! taking any withdrawal and any spend check. They must share its keys: one signer
//! (`signer_socket`, a `semper signer` process or a token), whose keys are the denominations',
//! the master's and the confirmation key; and the key store of `data_dir/keys` (the spent-set
//! shard secret), the same directory or a copy. What a process keeps in memory, and why that is
//! safe while others write the same store:
//! - *Accounts, withdrawals, the spent set, confirmed batches, reports*: nothing. A request
//!   reads the store, and its write checks what it read (`semper_storage::backend`): two
//!   withdrawals from one account debit it one after the other, a request id is taken once (the
//!   other process answers the stored signatures as a replay), and of two spend checks of one coin
//!   exactly one is `accepted`, the other a `replay` or a `conflict` with the first permission as
//!   proof. A shared store keeps no spent filter (it could not know the others' coins).
//! - *Denominations and the published set* ([`state::Denominations`]): a copy of the store,
//!   reloaded every second when the set's sequence number moved, and rebuilt from the store
//!   after each change here. Only the holder of the rotation lease makes keys ([`lifecycle`]).
//! - *Requests in flight* (`in_flight`): this process's own bound on its own work.

pub mod actor;
pub mod config;
mod error;
pub mod lifecycle;
pub mod publish;
pub mod reconcile;
pub mod recoup;
pub mod refund;
pub mod spend;
pub mod state;
pub mod swap;
pub mod withdraw;

pub use crate::keystore;
pub use actor::{IssuerActor, IssuerHandle};
pub use config::{DenominationSchedule, IssuerConfig, MasterKey, SpentShardsConfig};
pub use error::IssuerError;
pub use state::{IssuerPublicKeys, IssuerState};
