//! semper's actors: the imperative shell around `semper-protocol`.
//!
//! An actor owns a role's state (its store, keys and denomination book), takes requests through a
//! bounded mailbox, and hands every piece of crypto to its rayon pool and every write to its
//! store's committer. Its own thread never waits on either: results come back through one-shot
//! channels. A full mailbox, pool or commit queue answers "busy" instead of queueing more.
//!
//! - [`issuer`]: accounts, withdrawals, spend checks, the denomination key lifecycle and the
//!   reconciliation of settlement reports.
//! - [`acquirer`]: merchants, micro-batched deposits, the settlement outbox and the
//!   reconciliation of settlement reports.
//! - [`clearing`]: settlement submissions claimed into cycles, and each cycle's signed report.
//! - [`gateway`]: how one bank's actor reaches another, whatever the carrier; [`retry`]: how a
//!   call to it is retried.
//! - [`keystore`]: a bank's private keys on disk, owner-only.
//! - [`leader`]: which of several processes sharing a role's store runs its one-at-a-time jobs.
//! - [`offline`]: the master key, kept offline, which signs the issuer's denomination sets.
//! - [`signer`]: the issuer's private-key operations behind one interface, in process or not.
//! - [`reconcile`]: what every participant does with the discrepancies of a recorded report.
//! - [`metrics`]: the name of every metric the actors record; [`mailbox`] counts each mailbox's
//!   depth.

pub mod acquirer;
pub mod clearing;
pub mod clock;
pub mod gateway;
pub mod in_flight;
pub mod issuer;
pub mod keystore;
pub mod leader;
pub mod mailbox;
pub mod metrics;
pub mod offline;
pub mod reconcile;
pub mod retry;
pub mod signer;

/// Opens a role's store: at `location` when one is given, else the RocksDB in `data_dir/db`.
pub fn open_store(
    data_dir: &std::path::Path,
    location: Option<&semper_storage::Location>,
    role: semper_storage::Role,
) -> Result<semper_storage::Store, semper_storage::StorageError> {
    match location {
        Some(location) => location.open(role),
        None => semper_storage::Store::open(&data_dir.join("db"), role),
    }
}
