//! The RocksDB backend: one DB per role, a column family per [`Column`], one `WriteBatch` per
//! group written with a WAL fsync.

use std::path::Path;

use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

use super::{Backend, Change};
use crate::error::StorageError;
use crate::memory::{self, MemoryUsage};
use crate::schema::Column;
use crate::store::Records;

/// An open RocksDB holding one role's records.
pub struct RocksBackend {
    db: DB,
    /// Opened by [`RocksBackend::open_read_only`].
    read_only: bool,
}

impl RocksBackend {
    /// Opens (or creates) the DB at `path`, with every column family this build knows and any a
    /// newer build added (so that the schema check can refuse it with a clear answer, rather than
    /// RocksDB with its own).
    ///
    /// RocksDB replays its WAL on open: every write acknowledged before a crash is there.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_paranoid_checks(true);
        memory::bound_db(&mut options);
        let cache = memory::block_cache();
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
        Ok(Self {
            db,
            read_only: false,
        })
    }

    /// Opens the existing DB at `path` read only, for an operator's or an auditor's read: its
    /// records as they stand at open (the WAL replayed in memory, no file written), without the
    /// lock, so the process that writes it may be running. It says it is
    /// [`Backend::shared`]: another process may write these records, so nothing is inferred from
    /// what this one holds; a write is refused by RocksDB.
    pub fn open_read_only(path: &Path) -> Result<Self, StorageError> {
        let mut options = Options::default();
        options.set_paranoid_checks(true);
        // Every file held open from the start: the writer's compactions may unlink them.
        options.set_max_open_files(-1);
        let cache = memory::block_cache();
        let descriptors = DB::list_cf(&options, path)?.into_iter().map(|name| {
            let column = Column::ALL.iter().find(|c| c.name() == name);
            let options = memory::column_options(column.copied(), &cache);
            ColumnFamilyDescriptor::new(name, options)
        });
        let db = DB::open_cf_descriptors_read_only(&options, path, descriptors, false)?;
        Ok(Self {
            db,
            read_only: true,
        })
    }

    /// The RocksDB handle of `column`.
    fn column(&self, column: Column) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db
            .cf_handle(column.name())
            .ok_or_else(|| StorageError::Rocks(format!("column family {} missing", column.name())))
    }

    /// Up to `limit` records from `start` on, while `keep` holds for their key.
    fn scan_while(
        &self,
        column: Column,
        start: &[u8],
        limit: usize,
        keep: impl Fn(&[u8]) -> bool,
    ) -> Result<Records, StorageError> {
        let iterator = self.db.iterator_cf(
            self.column(column)?,
            IteratorMode::From(start, Direction::Forward),
        );
        let mut records = Vec::new();
        for item in iterator {
            let (key, value) = item?;
            if records.len() == limit || !keep(&key) {
                break;
            }
            records.push((key.into_vec(), value.into_vec()));
        }
        Ok(records)
    }
}

impl Backend for RocksBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get_cf(self.column(column)?, key)?)
    }

    fn multi_get(
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

    fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.scan_while(column, prefix, limit, |key| key.starts_with(prefix))
    }

    fn scan_from(
        &self,
        column: Column,
        start: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.scan_while(column, start, limit, |_| true)
    }

    fn for_each_key(
        &self,
        column: Column,
        visit: &mut dyn FnMut(&[u8]),
    ) -> Result<(), StorageError> {
        for item in self
            .db
            .iterator_cf(self.column(column)?, IteratorMode::Start)
        {
            let (key, _) = item?;
            visit(&key);
        }
        Ok(())
    }

    fn write_synced(&self, changes: &[Change]) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        for (column, key, value) in changes {
            let handle = self.column(*column)?;
            match value {
                Some(value) => batch.put_cf(handle, key, value),
                None => batch.delete_cf(handle, key),
            }
        }
        let mut options = WriteOptions::default();
        options.set_sync(true);
        Ok(self.db.write_opt(batch, &options)?)
    }

    fn shared(&self) -> bool {
        self.read_only
    }

    fn memory_usage(&self) -> MemoryUsage {
        memory::usage(&self.db)
    }
}
