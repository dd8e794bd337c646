//! Reads inside a group: the DB, as changed by the group's earlier transactions.

use std::collections::HashMap;

use crate::error::StorageError;
use crate::schema::Column;
use crate::store::Store;

/// What a transaction reads: the DB plus the not-yet-written effects of earlier transactions in
/// the same group, so a group behaves exactly as its transactions one after another.
pub struct GroupReader<'a> {
    store: &'a Store,
    /// Records the group has written (`Some`) or deleted (`None`) so far.
    staged: HashMap<(Column, Vec<u8>), Option<Vec<u8>>>,
}

impl<'a> GroupReader<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self {
            store,
            staged: HashMap::new(),
        }
    }

    /// The store read from.
    pub fn store(&self) -> &Store {
        self.store
    }

    pub(super) fn overlay(&mut self, column: Column, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.staged.insert((column, key), value);
    }

    /// Reads one record.
    pub fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if self.staged.is_empty() {
            return self.store.get(column, key);
        }
        if let Some(value) = self.staged.get(&(column, key.to_vec())) {
            return Ok(value.clone());
        }
        self.store.get(column, key)
    }

    /// Reads many records of one column: one RocksDB multi-get for those the group has not
    /// written.
    pub fn multi_get(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        if self.staged.is_empty() {
            return self.store.multi_get(column, keys);
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
            .zip(self.store.multi_get(column, &missing_keys)?)
        {
            values[i] = value;
        }
        Ok(values)
    }
}
