//! The acquirer's records: merchants and their journal, deposits with the coin index that keeps a
//! coin from being credited twice, the outbox of issuer confirmations, settlement submissions with
//! their receipts, and the issuers' denomination sets.
//!
//! - [`merchants`]: registration, balances per currency and the journal of credits.
//! - [`deposits`]: one atomic write per micro-batch: results, credits, coin index and outbox.
//! - [`outbox`]: confirmations waiting, and their move into a submission.
//! - [`lanes`]: the queues' sequence numbers, a block for each writer of a shared store.
//! - [`refunds`]: merchants' refunds, debited at once, and their notices to the coins' issuers.
//! - [`submissions`]: submissions, their receipts, and the claims per cycle.
//! - [`issuer_sets`]: each trusted issuer's denomination set, as last verified.

pub mod deposits;
pub mod issuer_sets;
pub mod lanes;
pub mod merchants;
pub mod outbox;
pub mod refunds;
pub mod submissions;

use semper_protocol::codec::Encode;

use crate::commit::{GroupReader, WriteSet};
use crate::denominations::read_sequence;
use crate::error::StorageError;
use crate::schema::Column;

/// More currencies than semper knows: the bound of every per-currency list the acquirer stores.
pub const CURRENCIES_MAX: usize = 64;

/// Reads the counter at `meta_key` (0 when absent), and writes it back advanced by `count`: the
/// first of `count` fresh sequence numbers.
pub(crate) fn take_sequences(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    meta_key: &[u8],
    count: u64,
) -> Result<u64, StorageError> {
    let first = read_sequence(reader.get(Column::Meta, meta_key)?)?;
    let next = first.checked_add(count).ok_or(StorageError::Corrupt {
        column: "meta",
        reason: "sequence counter overflows".into(),
    })?;
    writes.put(Column::Meta, meta_key.to_vec(), next.to_bytes());
    Ok(first)
}

/// The sequence number a sequence-keyed record is stored under.
pub(crate) fn sequence_of(key: &[u8], column: &'static str) -> Result<u64, StorageError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| StorageError::Corrupt {
            column,
            reason: "key is not a sequence number".into(),
        })
}
