//! Opening a role's DB, checking its schema, and reading from it.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

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
}

impl Role {
    /// The name recorded in the DB.
    pub fn name(self) -> &'static str {
        match self {
            Role::Issuer => "issuer",
            Role::Acquirer => "acquirer",
            Role::Clearing => "clearing",
        }
    }
}

/// An open DB. Cheap to clone; RocksDB itself is safe to read from many threads.
#[derive(Clone)]
pub struct Store {
    db: Arc<DB>,
    role: Role,
    spent_filter: Arc<SpentFilter>,
}

impl Store {
    /// Opens (or creates) the DB of `role` at `path`, and checks its schema version and role.
    ///
    /// Everything a node needs is recovered from the DB itself: RocksDB replays its WAL, and no
    /// state lives outside it.
    pub fn open(path: &Path, role: Role) -> Result<Self, StorageError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_paranoid_checks(true);
        memory::bound_db(&mut options);
        let cache = memory::block_cache();
        // A newer schema may have added column families: open them too, so the version check
        // below can give a clear answer instead of RocksDB's refusal.
        let mut names: Vec<String> = Column::ALL.iter().map(|c| c.name().to_owned()).collect();
        if let Ok(existing) = DB::list_cf(&options, path) {
            for name in existing {
                if name != "default" && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let descriptors = names.iter().map(|name| {
            let column = Column::ALL.iter().find(|c| c.name() == name);
            ColumnFamilyDescriptor::new(name, memory::column_options(column.copied(), &cache))
        });
        let db = DB::open_cf_descriptors(&options, path, descriptors)?;
        let store = Self {
            db: Arc::new(db),
            role,
            // Only issuers keep a spent set.
            spent_filter: Arc::new(SpentFilter::new(if role == Role::Issuer {
                SPENT_FILTER_BITS
            } else {
                64
            })),
        };
        store.check_schema()?;
        store.load_spent_filter()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StorageError> {
        match self.get(Column::Meta, META_SCHEMA_VERSION)? {
            None => {
                let mut batch = WriteBatch::default();
                let meta = self.column(Column::Meta)?;
                batch.put_cf(meta, META_SCHEMA_VERSION, SCHEMA_VERSION.to_be_bytes());
                batch.put_cf(meta, META_ROLE, self.role.name());
                self.write_synced(batch)
            }
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
        let iterator = self
            .db
            .iterator_cf(self.column(Column::SpentCoins)?, IteratorMode::Start);
        for item in iterator {
            let (key, _) = item?;
            self.spent_filter.insert(&key);
        }
        Ok(())
    }

    /// The in-memory filter of spent coins.
    pub fn spent_filter(&self) -> &SpentFilter {
        &self.spent_filter
    }

    /// What RocksDB holds in memory for this DB now.
    pub fn memory_usage(&self) -> memory::MemoryUsage {
        memory::usage(&self.db)
    }

    /// The role this DB belongs to.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Reads one record.
    pub fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get_cf(self.column(column)?, key)?)
    }

    /// Reads many records of one column in one call.
    pub fn multi_get(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        let handle = self.column(column)?;
        self.db
            .batched_multi_get_cf(handle, keys.iter().copied(), false)
            .into_iter()
            .map(|value| Ok(value?.map(|slice| slice.to_vec())))
            .collect()
    }

    /// Up to `limit` records whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        let iterator = self.db.iterator_cf(
            self.column(column)?,
            IteratorMode::From(prefix, Direction::Forward),
        );
        let mut records = Vec::new();
        for item in iterator {
            let (key, value) = item?;
            if !key.starts_with(prefix) || records.len() == limit {
                break;
            }
            records.push((key.into_vec(), value.into_vec()));
        }
        Ok(records)
    }

    /// Up to `limit` records from key `start` on, in key order.
    pub fn scan_from(
        &self,
        column: Column,
        start: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        let iterator = self.db.iterator_cf(
            self.column(column)?,
            IteratorMode::From(start, Direction::Forward),
        );
        let mut records = Vec::new();
        for item in iterator.take(limit) {
            let (key, value) = item?;
            records.push((key.into_vec(), value.into_vec()));
        }
        Ok(records)
    }

    /// Writes `batch` atomically and waits for the WAL fsync.
    pub fn write_synced(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        Ok(self.db.write_opt(batch, &options)?)
    }

    /// The RocksDB handle of `column`.
    pub fn column(&self, column: Column) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db
            .cf_handle(column.name())
            .ok_or_else(|| StorageError::Rocks(format!("column family {} missing", column.name())))
    }
}
