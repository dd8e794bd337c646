//! Opening a role's store, checking its schema, and reading from it.

use std::path::Path;
use std::sync::Arc;

use crate::backend::{Backend, Change, Read, RocksBackend};
use crate::error::StorageError;
use crate::memory;
use crate::schema::{Column, META_ROLE, META_SCHEMA_VERSION, SCHEMA_VERSION};
use crate::spent_filter::{SPENT_FILTER_BITS, SpentFilter};

/// A record as read: its key and its value.
pub type Record = (Vec<u8>, Vec<u8>);
/// Records read by a scan, in key order.
pub type Records = Vec<Record>;

/// The role a DB belongs to. Each role has its own DB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A bank that mints coins.
    Issuer,
    /// A merchant's bank.
    Acquirer,
    /// The clearing house.
    Clearing,
    /// One shard group of an issuer's spent set (see `spent_shards`).
    SpentShard,
}

impl Role {
    /// The name recorded in the DB.
    pub fn name(self) -> &'static str {
        match self {
            Role::Issuer => "issuer",
            Role::Acquirer => "acquirer",
            Role::Clearing => "clearing",
            Role::SpentShard => "spent_shard",
        }
    }
}

/// An open store: a role's records in one backend. Cheap to clone; every backend is safe to read
/// from many threads.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    role: Role,
    spent_filter: Arc<SpentFilter>,
    /// This store's number among the writers of a shared store (see [`Store::writer`]).
    writer: u64,
}

impl Store {
    /// Opens (or creates) the RocksDB of `role` at `path`, and checks its schema version and role.
    ///
    /// Everything a node needs is recovered from the DB itself: RocksDB replays its WAL, and no
    /// state lives outside it.
    pub fn open(path: &Path, role: Role) -> Result<Self, StorageError> {
        Self::with_backend(Arc::new(RocksBackend::open(path)?), role)
    }

    /// Opens the existing RocksDB of `role` at `path` read only, as it stands now, even while
    /// the process that writes it runs ([`RocksBackend::open_read_only`]): for reads such as
    /// `semper issuer issued`.
    pub fn open_read_only(path: &Path, role: Role) -> Result<Self, StorageError> {
        Self::with_backend(Arc::new(RocksBackend::open_read_only(path)?), role)
    }

    /// The store of `role` over `backend`: checks (or, when empty, writes) its schema version and
    /// role, and loads what is kept in memory.
    pub fn with_backend(backend: Arc<dyn Backend>, role: Role) -> Result<Self, StorageError> {
        // Only issuers and their shard groups keep a spent set. A shared store's filter starts
        // empty: loading it would not make it complete (the other writers go on spending), and
        // a coin it misses costs a conflict, not a wrong answer (see
        // `GroupReader::spent_filter`).
        let filtered = matches!(role, Role::Issuer | Role::SpentShard);
        let load = filtered && !backend.shared();
        let writer = if backend.shared() { draw_writer() } else { 0 };
        let store = Self {
            backend,
            role,
            writer,
            spent_filter: Arc::new(SpentFilter::new(if filtered {
                SPENT_FILTER_BITS
            } else {
                64
            })),
        };
        store.check_schema()?;
        if load {
            store.load_spent_filter()?;
        }
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StorageError> {
        match self.get(Column::Meta, META_SCHEMA_VERSION)? {
            None => self.write_synced(&[
                (
                    Column::Meta,
                    META_SCHEMA_VERSION.to_vec(),
                    Some(SCHEMA_VERSION.to_be_bytes().to_vec()),
                ),
                (
                    Column::Meta,
                    META_ROLE.to_vec(),
                    Some(self.role.name().as_bytes().to_vec()),
                ),
            ]),
            Some(bytes) => {
                let version = <[u8; 4]>::try_from(bytes.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StorageError::Corrupt {
                        column: "meta",
                        reason: "schema version is not 4 bytes".into(),
                    })?;
                if version > SCHEMA_VERSION {
                    return Err(StorageError::SchemaTooNew {
                        found: version,
                        supported: SCHEMA_VERSION,
                    });
                }
                let role = self.get(Column::Meta, META_ROLE)?.unwrap_or_default();
                if role != self.role.name().as_bytes() {
                    return Err(StorageError::WrongRole {
                        expected: self.role.name(),
                        found: String::from_utf8_lossy(&role).into_owned(),
                    });
                }
                Ok(())
            }
        }
    }

    /// Fills the spent filter from the spent-coin column.
    fn load_spent_filter(&self) -> Result<(), StorageError> {
        let filter = &self.spent_filter;
        self.backend
            .for_each_key(Column::SpentCoins, &mut |key| filter.insert(key))
    }

    /// The in-memory filter of spent coins: every one when the store is not [`Store::shared`],
    /// else the ones this process spent or read (the other writers' are not in it).
    pub fn spent_filter(&self) -> &SpentFilter {
        &self.spent_filter
    }

    /// Whether other processes may write the same records (see [`Backend::shared`]).
    pub fn shared(&self) -> bool {
        self.backend.shared()
    }

    /// This store's number among the writers of its records: 0 for a store with one writer, a
    /// number drawn at open for a [`Store::shared`] one. Records that each writer keeps apart,
    /// so that writers do not contend for them (`issued`), are keyed by it.
    pub fn writer(&self) -> u64 {
        self.writer
    }

    /// What the backend holds in memory for this store now.
    pub fn memory_usage(&self) -> memory::MemoryUsage {
        self.backend.memory_usage()
    }

    /// The role this store belongs to.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Reads one record.
    pub fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.backend.get(column, key)
    }

    /// Reads many records of one column in one call.
    pub fn multi_get(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        self.backend.multi_get(column, keys)
    }

    /// Up to `limit` records whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.backend.scan_prefix(column, prefix, limit)
    }

    /// Up to `limit` records from key `start` on, in key order.
    pub fn scan_from(
        &self,
        column: Column,
        start: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.backend.scan_from(column, start, limit)
    }

    /// Applies `changes` atomically, in order, and returns once they are durable.
    pub fn write_synced(&self, changes: &[Change]) -> Result<(), StorageError> {
        self.backend.write_synced(changes)
    }

    /// Applies `changes` like [`Store::write_synced`] if every record of `reads` still holds
    /// the value read, else writes nothing and answers [`StorageError::Conflict`].
    pub fn write_checked(&self, reads: &[Read], changes: &[Change]) -> Result<(), StorageError> {
        self.backend.write_checked(reads, changes)
    }
}

/// A number for a writer of a shared store: random (std's hasher keys are drawn from the OS),
/// mixed with the process and the time. Two writers that drew the same would only contend for
/// their records, whose reads are checked at the write like any other.
fn draw_writer() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    hasher.write_u128(now);
    hasher.finish()
}
