//! The spent-coin set: atomic check-and-insert of a batch of coins, with the totals the issuer
//! confirms for the batch in the same write.

use std::collections::HashMap;

use semper_protocol::amount::Amount;
use semper_protocol::ids::{BankId, BatchId, DenominationId, Digest};

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::confirmed_batches;
use crate::error::StorageError;
use crate::schema::{Column, spent_key};

/// One coin to mark spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendEntry {
    /// The coin's denomination.
    pub denomination: DenominationId,
    /// The coin's public key.
    pub coin: [u8; 32],
    /// Digest of the deposit permission that spends it: what makes a retry a replay.
    pub permission_digest: Digest,
    /// The signed deposit permission, canonically encoded: the proof returned on a conflict.
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

/// Checks every coin of a batch and inserts the new ones, in one atomic write.
///
/// Transactions are applied one at a time by the committer, so among concurrent batches that hold
/// the same coin exactly one gets [`SpendOutcome::New`]. A coin listed twice in one batch is new at
/// most once.
///
/// With a `batch`, the same write records what the issuer confirms for it: the totals, per
/// currency, of the coins that are new or replayed, which are the coins its confirmation lists.
#[derive(Clone, Debug)]
pub struct CheckAndInsert {
    /// The coins, in the order their outcomes come back.
    pub entries: Vec<SpendEntry>,
    /// The acquirer and batch whose confirmed totals to record; `None` records none.
    pub batch: Option<(BankId, BatchId)>,
}

impl Transaction for CheckAndInsert {
    type Output = Vec<SpendOutcome>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let keys: Vec<[u8; 64]> = self
            .entries
            .iter()
            .map(|e| spent_key(&e.denomination, &e.coin))
            .collect();
        // Only coins the filter may have seen need a read; the others are certainly new.
        let filter = reader.store().spent_filter();
        let maybe_spent: Vec<usize> = (0..keys.len())
            .filter(|i| filter.may_contain(&keys[*i]))
            .collect();
        let key_refs: Vec<&[u8]> = maybe_spent.iter().map(|i| keys[*i].as_slice()).collect();
        let mut stored: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        for (i, value) in maybe_spent
            .into_iter()
            .zip(reader.multi_get(Column::SpentCoins, &key_refs)?)
        {
            stored[i] = value;
        }
        let mut inserted: HashMap<[u8; 64], usize> = HashMap::with_capacity(self.entries.len());
        let mut writes = WriteSet::new();
        let mut outcomes = Vec::with_capacity(self.entries.len());
        for (index, (entry, key)) in self.entries.iter().zip(&keys).enumerate() {
            let earlier = match inserted.get(key) {
                Some(first) => {
                    let first = &self.entries[*first];
                    Some((first.permission_digest, first.permission.clone()))
                }
                None => stored[index].as_deref().map(decode_spent).transpose()?,
            };
            outcomes.push(match earlier {
                None => {
                    // Into the filter before the write: a failed write only leaves a false positive.
                    filter.insert(key);
                    writes.put(Column::SpentCoins, key.to_vec(), encode_spent(entry));
                    inserted.insert(*key, index);
                    SpendOutcome::New
                }
                Some((digest, _)) if digest == entry.permission_digest => SpendOutcome::Replay,
                Some((_, earlier)) => SpendOutcome::Conflict { earlier },
            });
        }
        if let Some((acquirer, batch)) = &self.batch {
            let confirmed = self
                .entries
                .iter()
                .zip(&outcomes)
                .filter(|(_, outcome)| matches!(outcome, SpendOutcome::New | SpendOutcome::Replay))
                .map(|(entry, _)| entry.amount);
            confirmed_batches::stage(&mut writes, acquirer, batch, confirmed);
        }
        Ok((outcomes, writes))
    }
}

fn encode_spent(entry: &SpendEntry) -> Vec<u8> {
    let mut value = Vec::with_capacity(32 + entry.permission.len());
    value.extend_from_slice(entry.permission_digest.as_bytes());
    value.extend_from_slice(&entry.permission);
    value
}

fn decode_spent(value: &[u8]) -> Result<(Digest, Vec<u8>), StorageError> {
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
