//! Reads inside a group: the DB, as changed by the group's earlier transactions.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::backend::Read;
use crate::error::StorageError;
use crate::schema::Column;
use crate::spent_filter::SpentFilter;
use crate::store::Store;

/// What a transaction reads: the DB plus the not-yet-written effects of earlier transactions in
/// the same group, so a group behaves exactly as its transactions one after another.
///
/// Over a shared store it also records what it read from the store, for the write to check that
/// no other writer changed it meanwhile (see [`crate::backend`]).
pub struct GroupReader<'a> {
    store: &'a Store,
    /// Whether coins the spent filter has not seen may be decided unspent without a read (see
    /// [`GroupReader::spent_filter`]).
    trust_filter: bool,
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
    /// A reader for one attempt at a group; `first_attempt` is false when the group is applied
    /// again after a conflict.
    pub(super) fn new(store: &'a Store, first_attempt: bool) -> Self {
        Self {
            store,
            trust_filter: first_attempt || !store.shared(),
            staged: HashMap::new(),
            reads: store.shared().then(RefCell::default),
        }
    }

    /// The store read from.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// The spent filter by which a coin it has not seen is decided unspent without a read, if
    /// the group may do so.
    ///
    /// Over an unshared store the filter holds every spent coin, so such a coin is certainly
    /// unspent. Over a shared store it holds only the coins this process spent or read (other
    /// writers spend coins too), so such a coin is only probably unspent: the group then
    /// assumes it absent ([`GroupReader::assume_absent`]) and inserts it, and the write's insert
    /// without `ON CONFLICT` is the check, as for a coin read as absent. When the guess was
    /// wrong (another writer spent the coin) the write is a conflict and the group is applied
    /// again, and this time (`None`) every coin is read.
    pub(crate) fn spent_filter(&self) -> Option<&SpentFilter> {
        self.trust_filter.then(|| self.store.spent_filter())
    }

    /// Notes that the group decided `key` of `column` absent without reading it (see
    /// [`GroupReader::spent_filter`]): over a shared store the write checks it as it checks a
    /// record read as absent. The group must insert the key, which is what makes that check
    /// complete.
    pub(crate) fn assume_absent(&self, column: Column, key: &[u8]) {
        // An earlier transaction of the group that wrote the key put it in the filter: it is
        // read (from the group's writes), never assumed.
        debug_assert!(!self.staged.contains_key(&(column, key.to_vec())));
        self.record(column, key, &None);
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
