//! Where a role's records live. Every backend offers the same few operations over the same
//! columns and keys, so that the transactions above ([`crate::commit::Transaction`]) are written
//! once and mean the same on each: reads of single records, of many, and of key ranges; and one
//! atomic, durable write of a group's changes.
//!
//! RocksDB ([`RocksBackend`]) is the embedded default; PostgreSQL ([`PostgresBackend`]) keeps
//! the records in a (replicated) database server.

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

    /// What the backend holds in this process's memory now.
    fn memory_usage(&self) -> MemoryUsage;
}
