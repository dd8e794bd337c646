//! Where a role's records live. Every backend offers the same few operations over the same
//! columns and keys, so that the transactions above ([`crate::commit::Transaction`]) are written
//! once and mean the same on each: reads of single records, of many, and of key ranges; and one
//! atomic, durable write of a group's changes.
//!
//! RocksDB ([`RocksBackend`]) is the embedded default; PostgreSQL ([`PostgresBackend`]) keeps
//! the records in a (replicated) database server.
//!
//! # Several writers: optimistic concurrency
//!
//! A RocksDB has one writer, the committer of the process that opened it: a transaction's reads
//! cannot change before its group is written, so check-then-write needs nothing more. A
//! PostgreSQL database may be written by several `semper` processes (several Stores) at once, so
//! a backend says whether it is [`Backend::shared`], and a shared one is written with
//! [`Backend::write_checked`]: the group's writes, together with what its transactions read from
//! the store (each record's column, key, and the value seen, or its absence). Inside the write's
//! own SQL transaction the backend
//! - inserts the records read as absent without `ON CONFLICT`, so that a concurrent writer's
//!   insert of the same key (committed, or committing) fails one of the two with a unique
//!   violation, a conflict: that insert is the whole check of such a record;
//! - locks every other record read (`SELECT … FOR UPDATE`, in key order) and compares it with
//!   what was seen: a changed or vanished record, or one that appeared, is a conflict.
//!
//! On a conflict nothing of the group is written ([`StorageError::Conflict`]), and the committer
//! applies the group's transactions again against fresh reads, a bounded number of times. So
//! each group commits only if the state it decided on is still the state it writes over, and the
//! groups of all writers are serializable over the records they read: a coin is inserted by one
//! writer only, an idempotency key is taken once, and a balance debited by two writers is debited
//! from the value the other left. The one thing not checked is a record read as absent and not
//! written (a concurrent insert of it may commit first): no transaction decides to write money
//! state on such an absence alone; the ones that write on absence write that very key.
//!
//! The in-memory spent filter of a shared store holds only the coins this process spent or
//! read, so a coin it has not seen is only probably unspent. Such a coin is not read: the group
//! assumes it absent and inserts it, which checks it as above, and a wrong guess (another
//! writer spent it) is a conflict, after which the group is applied again reading every coin
//! (see `GroupReader::spent_filter`). So a spend check of fresh coins costs one insert, with one
//! writer or several: reading them first, and locking them again at the write, made `make
//! bench-pg` 15 times slower (BENCHMARKS.md).

mod postgres;
mod rocks;

pub use self::postgres::PostgresBackend;
pub use rocks::RocksBackend;

use crate::error::StorageError;
use crate::memory::MemoryUsage;
use crate::schema::Column;
use crate::store::Records;

/// One record's change: its column, its key, and its new value (`None` deletes it).
pub type Change = (Column, Vec<u8>, Option<Vec<u8>>);

/// One record as a group read it from the store: its column, its key, and the value seen
/// (`None`: absent).
pub type Read = (Column, Vec<u8>, Option<Vec<u8>>);

/// The operations a storage backend provides to [`crate::Store`].
pub trait Backend: Send + Sync {
    /// Reads one record.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Reads many records of one column; the answers come back in the order of `keys`.
    fn multi_get(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError>;

    /// Up to `limit` records whose key starts with `prefix`, in key order.
    fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError>;

    /// Up to `limit` records from key `start` on, in key order.
    fn scan_from(
        &self,
        column: Column,
        start: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError>;

    /// Calls `visit` with every key of `column`, in key order: recovery's full read.
    fn for_each_key(
        &self,
        column: Column,
        visit: &mut dyn FnMut(&[u8]),
    ) -> Result<(), StorageError>;

    /// Applies `changes` in order, all or none, and returns once they are durable.
    fn write_synced(&self, changes: &[Change]) -> Result<(), StorageError>;

    /// Whether other processes (other Stores) may write the same records: then a group is
    /// written with [`Backend::write_checked`], and nothing is known without reading it.
    fn shared(&self) -> bool {
        false
    }

    /// Like [`Backend::write_synced`], provided every record in `reads` still holds the value
    /// read; otherwise nothing is written and the answer is [`StorageError::Conflict`]. See the
    /// module's documentation. A backend with one writer has nothing to check.
    fn write_checked(&self, reads: &[Read], changes: &[Change]) -> Result<(), StorageError> {
        let _ = reads;
        self.write_synced(changes)
    }

    /// What the backend holds in this process's memory now.
    fn memory_usage(&self) -> MemoryUsage;
}
