//! Reads inside a group: the DB, as changed by the group's earlier transactions.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::backend::Read;
use crate::error::StorageError;
use crate::schema::Column;
use crate::store::Store;

/// What a transaction reads: the DB plus the not-yet-written effects of earlier transactions in
/// the same group, so a group behaves exactly as its transactions one after another.
///
/// Over a shared store it also records what it read from the store, for the write to check that
/// no other writer changed it meanwhile (see [`crate::backend`]).
pub struct GroupReader<'a> {
    store: &'a Store,
    /// Records the group has written (`Some`) or deleted (`None`) so far.
    staged: HashMap<(Column, Vec<u8>), Option<Vec<u8>>>,
    /// What was read from the store, when it is shared.
    reads: Option<RefCell<ReadLog>>,
}

/// The records a group read from the store, each with the value first seen.
#[derive(Default)]
struct ReadLog {
    seen: HashMap<(Column, Vec<u8>), Option<Vec<u8>>>,
    /// A record read twice with two values: another writer changed it mid-group.
    torn: bool,
}

impl<'a> GroupReader<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self {
            store,
            staged: HashMap::new(),
            reads: store.shared().then(RefCell::default),
        }
    }

    /// The store read from.
    pub fn store(&self) -> &Store {
        self.store
    }

    pub(super) fn overlay(&mut self, column: Column, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.staged.insert((column, key), value);
    }

    /// What the group read from the store, to check at the write; a conflict already when a
    /// record read twice changed in between.
    pub(super) fn into_reads(self) -> Result<Vec<Read>, StorageError> {
        let Some(log) = self.reads else {
            return Ok(Vec::new());
        };
        let log = log.into_inner();
        if log.torn {
            return Err(StorageError::Conflict(
                "a record changed while the group read it".into(),
            ));
        }
        Ok(log
            .seen
            .into_iter()
            .map(|((column, key), value)| (column, key, value))
            .collect())
    }

    /// Notes that `key` of `column` was read from the store as `value`.
    fn record(&self, column: Column, key: &[u8], value: &Option<Vec<u8>>) {
        let Some(log) = &self.reads else { return };
        let mut log = log.borrow_mut();
        match log.seen.get(&(column, key.to_vec())) {
            Some(first) => {
                if first != value {
                    log.torn = true;
                }
            }
            None => {
                log.seen.insert((column, key.to_vec()), value.clone());
            }
        }
    }

    /// Reads one record from the store, noting it.
    fn read(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let value = self.store.get(column, key)?;
        self.record(column, key, &value);
        Ok(value)
    }

    /// Reads many records from the store, noting them.
    fn read_many(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        let values = self.store.multi_get(column, keys)?;
        if self.reads.is_some() {
            for (key, value) in keys.iter().zip(&values) {
                self.record(column, key, value);
            }
        }
        Ok(values)
    }

    /// Reads one record.
    pub fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if self.staged.is_empty() {
            return self.read(column, key);
        }
        if let Some(value) = self.staged.get(&(column, key.to_vec())) {
            return Ok(value.clone());
        }
        self.read(column, key)
    }

    /// Reads many records of one column: one RocksDB multi-get for those the group has not
    /// written.
    pub fn multi_get(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        if self.staged.is_empty() {
            return self.read_many(column, keys);
        }
        let staged: Vec<Option<Option<Vec<u8>>>> = keys
            .iter()
            .map(|key| self.staged.get(&(column, key.to_vec())).cloned())
            .collect();
        let missing: Vec<usize> = (0..keys.len()).filter(|i| staged[*i].is_none()).collect();
        let mut values: Vec<Option<Vec<u8>>> = staged.into_iter().map(Option::flatten).collect();
        if missing.is_empty() {
            return Ok(values);
        }
        let missing_keys: Vec<&[u8]> = missing.iter().map(|i| keys[*i]).collect();
        for (i, value) in missing
            .into_iter()
            .zip(self.read_many(column, &missing_keys)?)
        {
            values[i] = value;
        }
        Ok(values)
    }
}
