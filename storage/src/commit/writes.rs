//! What a transaction writes.

use super::reader::GroupReader;
use crate::backend::Change;
use crate::schema::Column;

/// The records one transaction writes or deletes; all of a group's are written in one atomic,
/// durable write, in the order given.
#[derive(Debug, Default)]
pub struct WriteSet {
    /// Each record's new value; `None` deletes it.
    changes: Vec<Change>,
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

    /// Adds the writes to the group's changes and, when later transactions of the group will
    /// read (`reader` is given), makes them visible to those through it.
    pub(super) fn stage(self, group: &mut Vec<Change>, mut reader: Option<&mut GroupReader<'_>>) {
        for (column, key, value) in self.changes {
            if let Some(reader) = reader.as_mut() {
                reader.overlay(column, key.clone(), value.clone());
            }
            group.push((column, key, value));
        }
    }
}
