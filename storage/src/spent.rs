//! The spent-coin set: atomic check-and-insert of a batch of coins, with what the issuer confirms
//! for the batch (its totals and its digest) in the same write.

use std::collections::HashMap;

use semper_protocol::amount::Amount;
use semper_protocol::ids::{BankId, BatchId, DenominationId, Digest};

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::confirmed_batches;
use crate::error::StorageError;
use crate::schema::{Column, confirmed_batch_key, spent_key};

/// One coin to mark spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendEntry {
    /// The coin's denomination.
    pub denomination: DenominationId,
    /// The coin's public key.
    pub coin: [u8; 32],
    /// Digest of the (deposit or swap) permission that spends it: what makes a retry a replay.
    pub permission_digest: Digest,
    /// The signed deposit or swap permission, canonically encoded (its domain tag says which):
    /// the proof returned on a conflict.
    pub permission: Vec<u8>,
    /// The value spent.
    pub amount: Amount,
}

/// What the spent set said about one coin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpendOutcome {
    /// Not spent before: now it is.
    New,
    /// Spent before with the same permission: nothing changed.
    Replay,
    /// Spent before with another permission, returned as proof of the double spend.
    Conflict {
        /// The earlier signed permission, canonically encoded.
        earlier: Vec<u8>,
    },
}

/// Checks every coin and inserts the new ones, in one atomic write.
///
/// Transactions are applied one at a time by the committer, and a shared store's write checks
/// what they read (see [`crate::backend`]), so among concurrent batches that hold the same coin,
/// in one process or several, exactly one gets [`SpendOutcome::New`]. A coin listed twice is new
/// at most once.
#[derive(Clone, Debug)]
pub struct CheckAndInsert {
    /// The coins, in the order their outcomes come back.
    pub entries: Vec<SpendEntry>,
}

impl Transaction for CheckAndInsert {
    type Output = Vec<SpendOutcome>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        let outcomes = check_and_insert(&self.entries, reader, &mut writes)?;
        Ok((outcomes, writes))
    }
}

/// An acquirer's spend-check batch: its id, and a digest of the coins it was sent with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendBatch {
    /// The acquirer that sent it.
    pub acquirer: BankId,
    /// Its id, fresh per batch; every retry reuses it with the same body.
    pub batch: BatchId,
    /// A digest of what it holds: the same for every retry, another for other coins.
    pub digest: Digest,
}

/// The batch id was answered before, for another body, and confirmed coins: nothing was checked
/// or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchIdReused;

/// A spend-check batch's [`CheckAndInsert`], in the same write as what the issuer confirms for
/// it: the totals, per currency, of the coins that are new or replayed (the coins its
/// confirmation lists), and the batch's digest. A retry of the batch (same id, same body) is a
/// batch of replays; the same id with another body is refused whole.
#[derive(Clone, Debug)]
pub struct CheckBatch {
    /// The batch.
    pub batch: SpendBatch,
    /// Its coins that passed every check, in the order their outcomes come back.
    pub entries: Vec<SpendEntry>,
}

impl Transaction for CheckBatch {
    type Output = Result<Vec<SpendOutcome>, BatchIdReused>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        if id_reused(
            &self.batch,
            reader.get(Column::SpendBatches, &batch_key(&self.batch))?,
        ) {
            return Ok((Err(BatchIdReused), WriteSet::new()));
        }
        let mut writes = WriteSet::new();
        let outcomes = check_and_insert(&self.entries, reader, &mut writes)?;
        stage_confirmation(
            &self.batch,
            confirmed_amounts(self.entries.iter().map(|e| e.amount), &outcomes),
            &mut writes,
        );
        Ok((Ok(outcomes), writes))
    }
}

/// The record of a spend-check batch whose coins were checked in shard groups of their own
/// (see `spent_shards`): its digest and confirmed totals, in the issuer's main store, written
/// once every shard has answered. The same id with another body recorded meanwhile is refused
/// whole, as [`CheckBatch`] refuses it.
#[derive(Clone, Debug)]
pub struct ConfirmBatch {
    /// The batch.
    pub batch: SpendBatch,
    /// The amounts of the coins its confirmation lists (new or replayed).
    pub confirmed: Vec<Amount>,
}

impl Transaction for ConfirmBatch {
    type Output = Result<(), BatchIdReused>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        if id_reused(
            &self.batch,
            reader.get(Column::SpendBatches, &batch_key(&self.batch))?,
        ) {
            return Ok((Err(BatchIdReused), WriteSet::new()));
        }
        let mut writes = WriteSet::new();
        stage_confirmation(&self.batch, self.confirmed, &mut writes);
        Ok((Ok(()), writes))
    }
}

/// Whether `batch`'s id was answered before for another body, from its stored digest.
pub(crate) fn id_reused(batch: &SpendBatch, stored: Option<Vec<u8>>) -> bool {
    stored.is_some_and(|earlier| earlier.as_slice() != batch.digest.as_bytes())
}

/// The key of `batch`'s digest and totals.
pub(crate) fn batch_key(batch: &SpendBatch) -> [u8; 32] {
    confirmed_batch_key(&batch.acquirer, &batch.batch)
}

/// The amounts of the coins a confirmation lists (the new and the replayed ones), from every
/// coin's amount and outcome.
pub(crate) fn confirmed_amounts(
    amounts: impl IntoIterator<Item = Amount>,
    outcomes: &[SpendOutcome],
) -> Vec<Amount> {
    amounts
        .into_iter()
        .zip(outcomes)
        .filter(|(_, outcome)| matches!(outcome, SpendOutcome::New | SpendOutcome::Replay))
        .map(|(amount, _)| amount)
        .collect()
}

/// Stages `batch`'s confirmed totals and its digest.
fn stage_confirmation(batch: &SpendBatch, confirmed: Vec<Amount>, writes: &mut WriteSet) {
    // What is guarded is the confirmed totals: a batch that confirms nothing (every coin
    // refused, or a double spend) leaves no record.
    if confirmed_batches::stage(writes, &batch.acquirer, &batch.batch, confirmed) {
        writes.put(
            Column::SpendBatches,
            batch_key(batch).to_vec(),
            batch.digest.as_bytes().to_vec(),
        );
    }
}

/// Stages the new coins of `entries` into `writes`, and says what the spent set held for each
/// (each coin decided by [`may_spend`]).
pub(crate) fn check_and_insert(
    entries: &[SpendEntry],
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
) -> Result<Vec<SpendOutcome>, StorageError> {
    let keys: Vec<[u8; 64]> = entries
        .iter()
        .map(|e| spent_key(&e.denomination, &e.coin))
        .collect();
    // Only coins the filter may have seen need a read; the others are new: certainly over an
    // unshared store, and over a shared one as a guess that the write checks (see
    // `GroupReader::spent_filter`). A group applied again after a conflict reads every coin.
    let filter = reader.spent_filter();
    let (maybe_spent, unseen): (Vec<usize>, Vec<usize>) =
        (0..keys.len()).partition(|i| filter.is_none_or(|filter| filter.may_contain(&keys[*i])));
    for i in unseen {
        reader.assume_absent(Column::SpentCoins, &keys[i]);
    }
    let key_refs: Vec<&[u8]> = maybe_spent.iter().map(|i| keys[*i].as_slice()).collect();
    let mut stored: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
    for (i, value) in maybe_spent
        .into_iter()
        .zip(reader.multi_get(Column::SpentCoins, &key_refs)?)
    {
        stored[i] = value;
    }
    let mut inserted: HashMap<[u8; 64], usize> = HashMap::with_capacity(entries.len());
    let mut outcomes = Vec::with_capacity(entries.len());
    for (index, (entry, key)) in entries.iter().zip(&keys).enumerate() {
        let earlier = match inserted.get(key) {
            Some(first) => {
                let first = &entries[*first];
                Some((first.permission_digest, first.permission.clone()))
            }
            None => stored[index].as_deref().map(decode_spent).transpose()?,
        };
        let outcome = may_spend(earlier, entry);
        if outcome == SpendOutcome::New || stored[index].is_some() {
            // Into the filter before the write: a failed write only leaves a false positive. A
            // coin found spent goes in too: over a shared store it may be another writer's,
            // and the next check of it then reads it rather than guessing.
            reader.store().spent_filter().insert(key);
        }
        if outcome == SpendOutcome::New {
            writes.put(Column::SpentCoins, key.to_vec(), encode_spent(entry));
            inserted.insert(*key, index);
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Whether the coin of `entry` may be spent by it now, from what the spent set holds for the
/// coin (`earlier`: the digest and the stored signed permission of its first spend, if any). The
/// one place that decides it, for deposits (spend checks) and swaps alike.
///
/// Today a coin may be spent once: never spent, it is spent now ([`SpendOutcome::New`]); spent
/// with the same permission, the same answer again ([`SpendOutcome::Replay`]); spent with
/// another, the earlier permission is the proof of the double spend
/// ([`SpendOutcome::Conflict`]). A refunded coin, which may be swapped once more for the
/// refunded value, does not come here: the swap gives it in for its refund allowance
/// ([`crate::swaps::RecordSwap::refunded`]), and its record here stays the deposit's.
fn may_spend(earlier: Option<(Digest, Vec<u8>)>, entry: &SpendEntry) -> SpendOutcome {
    match earlier {
        None => SpendOutcome::New,
        Some((digest, _)) if digest == entry.permission_digest => SpendOutcome::Replay,
        Some((_, earlier)) => SpendOutcome::Conflict { earlier },
    }
}

fn encode_spent(entry: &SpendEntry) -> Vec<u8> {
    let mut value = Vec::with_capacity(32 + entry.permission.len());
    value.extend_from_slice(entry.permission_digest.as_bytes());
    value.extend_from_slice(&entry.permission);
    value
}

/// What the spent set of `store` holds for the coin at `key` (a
/// [`spent_key`](crate::schema::spent_key)): the digest of the permission that spent it and that
/// signed permission's encoding; `None` for a coin not spent.
pub fn spent_by(
    store: &crate::Store,
    key: &[u8],
) -> Result<Option<(Digest, Vec<u8>)>, StorageError> {
    store
        .get(Column::SpentCoins, key)?
        .as_deref()
        .map(decode_spent)
        .transpose()
}

/// A spent-set record: the permission's digest, and the signed permission's encoding.
pub(crate) fn decode_spent(value: &[u8]) -> Result<(Digest, Vec<u8>), StorageError> {
    if value.len() < 32 {
        return Err(StorageError::Corrupt {
            column: "spent_coins",
            reason: format!("record of {} bytes", value.len()),
        });
    }
    let (digest, permission) = value.split_at(32);
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest);
    Ok((Digest(bytes), permission.to_vec()))
}
