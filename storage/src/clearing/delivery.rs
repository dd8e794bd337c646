//! Which cut cycles' reports are not yet delivered. The cut writes a mark beside the report, in
//! the same write ([`super::CutCycle`]); the delivery removes it once every participant's
//! delivery ended ([`ReportDelivered`]). A clearing house that died between the two leaves the
//! mark, and whichever process cuts next (the new lease holder, or the same one restarted) reads
//! [`undelivered`] and delivers those reports again, from the database alone. A participant
//! records a report once and answers a re-delivery as a duplicate, so delivering twice is safe.

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::schema::{Column, UNDELIVERED_PREFIX, undelivered_key};
use crate::store::Store;

/// Stages the mark of cycle `sequence`'s report as not yet delivered.
pub(super) fn mark_undelivered(writes: &mut WriteSet, sequence: u64) {
    writes.put(
        Column::Cycles,
        undelivered_key(sequence).to_vec(),
        Vec::new(),
    );
}

/// Removes the mark of cycle `sequence`'s report: its delivery to every participant ended.
/// Removing a mark that is gone changes nothing.
#[derive(Clone, Copy, Debug)]
pub struct ReportDelivered {
    /// The cycle.
    pub sequence: u64,
}

impl Transaction for ReportDelivered {
    type Output = ();

    fn apply(self, _reader: &GroupReader<'_>) -> Result<((), WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        writes.delete(Column::Cycles, undelivered_key(self.sequence).to_vec());
        Ok(((), writes))
    }
}

/// The numbers of the cut cycles whose report is not yet delivered, oldest first: at most
/// `limit`.
pub fn undelivered(store: &Store, limit: usize) -> Result<Vec<u64>, StorageError> {
    store
        .scan_prefix(Column::Cycles, UNDELIVERED_PREFIX, limit)?
        .into_iter()
        .map(|(key, _)| {
            key.get(UNDELIVERED_PREFIX.len()..)
                .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StorageError::Corrupt {
                    column: "cycles",
                    reason: "an undelivered mark's key is not a cycle number".into(),
                })
        })
        .collect()
}
