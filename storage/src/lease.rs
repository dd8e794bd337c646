//! Leases: which one of several processes serving a role over one shared store does a job that
//! must run in one place at a time (the clearing house's cut-offs, the acquirer's outbox, the
//! issuer's key rotation), with another taking over once the holder stops renewing.
//!
//! A lease is a record in the store's meta column: its holder (a number each process draws at
//! start), a generation, and when it expires. [`TakeLease`] takes it when it is free or
//! expired, and renews it for its holder; the generation changes whenever the holder does, so a
//! holder and a generation name one tenure, never two. A job's own transaction carries a
//! [`Fence`] and calls [`check`] first: it reads the record, and the shared store's write checks
//! that read like any other (see [`crate::backend`]), so the job commits only if the record still
//! names that tenure when it commits. A process that lost its lease (it stalled past the expiry
//! and another took over) is refused in that transaction, whatever it believed.
//!
//! Why a record rather than a PostgreSQL advisory lock on a session of its own: an advisory lock
//! lives in one server's memory and is not replicated, so after a failover to a standby every
//! process's lock is gone, and a holder learns it only when its dedicated session errors; a
//! holder behind a half-open connection keeps it until TCP keepalives give up. Checking a lock
//! held by another session inside the job's transaction would also take backend-specific SQL.
//! The record is replicated with the data it guards, checked in the very transaction that writes
//! that data, works the same over RocksDB, and costs one small write per renewal.
//!
//! Expiry is judged by the clock of the process that takes the lease. Clocks that disagree only
//! move the takeover earlier or later: mutual exclusion rests on the fence, not on the clock.

use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::Column;

/// A lease record, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The process holding it: a number it drew at start.
    pub holder: u64,
    /// Changes whenever the holder does: holder and generation name one tenure.
    pub generation: u64,
    /// Unix ms from which another process may take it.
    pub expires_at_ms: u64,
}

codec_struct!(LeaseRecord {
    holder,
    generation,
    expires_at_ms
});

/// The meta key of the lease named `name`.
pub fn lease_key(name: &str) -> Vec<u8> {
    let mut key = b"lease/".to_vec();
    key.extend_from_slice(name.as_bytes());
    key
}

/// One tenure of a lease: what a fenced transaction checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The lease's name.
    pub name: &'static str,
    /// The holder.
    pub holder: u64,
    /// The generation it took the lease at.
    pub generation: u64,
}

/// The lease is not (or no longer) held by the fence's tenure: nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("lease {name} is not held by this process")]
pub struct NotHolder {
    /// The lease's name.
    pub name: &'static str,
}

impl NotHolder {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        "lease.not_holder"
    }
}

/// Reads the lease record inside a transaction.
fn read(reader: &GroupReader<'_>, name: &str) -> Result<Option<LeaseRecord>, StorageError> {
    reader
        .get(Column::Meta, &lease_key(name))?
        .map(|bytes| decode_record("meta", &bytes))
        .transpose()
}

/// Whether `fence`'s tenure still holds its lease, read inside the caller's transaction (which
/// a shared store's write then checks).
pub fn check(
    reader: &GroupReader<'_>,
    fence: &Fence,
) -> Result<Result<(), NotHolder>, StorageError> {
    let held = read(reader, fence.name)?.is_some_and(|record| {
        record.holder == fence.holder && record.generation == fence.generation
    });
    Ok(if held {
        Ok(())
    } else {
        Err(NotHolder { name: fence.name })
    })
}

/// Takes the lease `name` for `holder` until `now_ms + ttl_ms` if it is free, expired, or held by
/// `holder` already (a renewal). The answer is the tenure held, or `None` while another process
/// holds it.
#[derive(Clone, Debug)]
pub struct TakeLease {
    /// The lease's name.
    pub name: &'static str,
    /// The process asking.
    pub holder: u64,
    /// Now, in Unix ms, by the asking process's clock.
    pub now_ms: u64,
    /// How long the lease lasts without a renewal, in ms.
    pub ttl_ms: u64,
}

impl Transaction for TakeLease {
    type Output = Option<Fence>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let stored = read(reader, self.name)?;
        let generation = match stored {
            Some(record) if record.holder == self.holder => record.generation,
            Some(record) if self.now_ms < record.expires_at_ms => {
                return Ok((None, WriteSet::new()));
            }
            Some(record) => record.generation.wrapping_add(1),
            None => 1,
        };
        let record = LeaseRecord {
            holder: self.holder,
            generation,
            expires_at_ms: self.now_ms.saturating_add(self.ttl_ms),
        };
        let mut writes = WriteSet::new();
        writes.put(Column::Meta, lease_key(self.name), record.to_bytes());
        Ok((
            Some(Fence {
                name: self.name,
                holder: self.holder,
                generation,
            }),
            writes,
        ))
    }
}

/// The lease record `name`, read directly from the store (status pages, tests).
pub fn lease(store: &crate::Store, name: &str) -> Result<Option<LeaseRecord>, StorageError> {
    store
        .get(Column::Meta, &lease_key(name))?
        .map(|bytes| decode_record("meta", &bytes))
        .transpose()
}
