//! What a transaction writes.

use rocksdb::WriteBatch;

use super::reader::GroupReader;
use crate::error::StorageError;
use crate::schema::Column;
use crate::store::Store;

/// The records one transaction writes or deletes; all of a group's go into one atomic
/// `WriteBatch`, in the order given.
#[derive(Debug, Default)]
pub struct WriteSet {
    /// Each record's new value; `None` deletes it.
    changes: Vec<(Column, Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteSet {
    /// An empty write set: the transaction changes nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` at `key` in `column`.
    pub fn put(&mut self, column: Column, key: impl Into<Vec<u8>>, value: Vec<u8>) {
        self.changes.push((column, key.into(), Some(value)));
    }

    /// Deletes the record at `key` in `column`, if there is one.
    pub fn delete(&mut self, column: Column, key: impl Into<Vec<u8>>) {
        self.changes.push((column, key.into(), None));
    }

    /// Whether nothing is written.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Adds the writes to the group's batch and, when later transactions of the group will read
    /// (`reader` is given), makes them visible to those through it.
    pub(super) fn stage(
        self,
        store: &Store,
        batch: &mut WriteBatch,
        mut reader: Option<&mut GroupReader<'_>>,
    ) -> Result<(), StorageError> {
        for (column, key, value) in self.changes {
            match &value {
                Some(value) => batch.put_cf(store.column(column)?, &key, value),
                None => batch.delete_cf(store.column(column)?, &key),
            }
            if let Some(reader) = reader.as_mut() {
                reader.overlay(column, key, value);
            }
        }
        Ok(())
    }
}
