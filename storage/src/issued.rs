//! The issuer's books of issued coins: how many coins of each denomination it blind-signed and
//! recorded, counted in the very write that records the withdrawal or the swap, so that a replay
//! (which writes nothing) never counts, and a count never runs ahead of, or behind, the records.
//! An auditor holds these books against the signer's journal (SECURITY.md, "The signer").
//!
//! # One counter per writer
//!
//! Key: [`issued_key`] (denomination id ‖ writer, [`crate::Store::writer`]); value: coins (u64,
//! big-endian). A denomination's count is the sum of its writers' rows.
//!
//! Why not one counter per denomination: its read-modify-write would be exact (a group's read of
//! it is checked at the write like any other, see [`crate::backend`]), but with two issuer
//! processes over one PostgreSQL database every group of each would read and write the same few
//! rows, so any two groups that overlap in time would conflict, and each conflict applies the
//! whole group again (at most [`crate::commit::CONFLICT_ATTEMPTS_MAX`] times, then
//! `storage.conflict` to the wallet): the processes' withdrawals would be serialized on the
//! counter. Why not a row per withdrawal: the read would scan every withdrawal ever made.
//!
//! A writer's rows are written by its own committer only, one group after another, so their
//! read-modify-write is never raced; their reads are still checked at the write, so the count
//! stays exact even if two writers drew the same number (they would only contend). A RocksDB has
//! one writer, number 0. Over a shared store each process start adds a row per denomination it
//! issues.
//!
//! The cost on the hot path: one multi-get of the request's denominations' rows (one round trip
//! on PostgreSQL) and one put per denomination, per request, not per coin.

use std::collections::BTreeMap;

use semper_protocol::ids::DenominationId;

use crate::commit::{GroupReader, WriteSet};
use crate::error::StorageError;
use crate::schema::{Column, issued_key};

/// Rows read per page by [`issued`].
const PAGE_RECORDS: usize = 1024;

/// The coins one request blind-signs, per denomination: what recording it adds to the books.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Issued(BTreeMap<DenominationId, u64>);

impl Issued {
    /// The counts of a request whose coins are of `denominations`, one item per coin.
    pub fn of<'a>(denominations: impl IntoIterator<Item = &'a DenominationId>) -> Self {
        let mut counts = BTreeMap::new();
        for denomination in denominations {
            *counts.entry(*denomination).or_insert(0) += 1;
        }
        Self(counts)
    }

    /// The request's coins, of every denomination.
    pub fn coins(&self) -> u64 {
        self.0.values().sum()
    }
}

/// A denomination's count in the books.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuedCount {
    /// The denomination.
    pub denomination: DenominationId,
    /// Coins of it blind-signed in recorded withdrawals and swaps, ever.
    pub coins: u64,
}

/// Adds `issued` to this store's writer's rows, in the write of the request that signed
/// `signatures` coins. Counts that do not match the signatures are the caller's error: refused,
/// so that the books never disagree with the records.
pub(crate) fn stage(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    issued: &Issued,
    signatures: usize,
) -> Result<(), StorageError> {
    let corrupt = |reason: String| StorageError::Corrupt {
        column: "issued_coins",
        reason,
    };
    if issued.coins() != signatures as u64 {
        return Err(corrupt(format!(
            "a request's counts ({}) differ from its signatures ({signatures})",
            issued.coins()
        )));
    }
    let writer = reader.store().writer();
    let keys: Vec<[u8; 40]> = issued
        .0
        .keys()
        .map(|denomination| issued_key(denomination, writer))
        .collect();
    let key_refs: Vec<&[u8]> = keys.iter().map(|key| key.as_slice()).collect();
    let values = reader.multi_get(Column::IssuedCoins, &key_refs)?;
    for ((key, value), added) in keys.iter().zip(values).zip(issued.0.values()) {
        let before = value.as_deref().map(decode).transpose()?.unwrap_or(0);
        let after = before
            .checked_add(*added)
            .ok_or_else(|| corrupt("a count overflows u64".to_owned()))?;
        writes.put(
            Column::IssuedCoins,
            key.to_vec(),
            after.to_be_bytes().to_vec(),
        );
    }
    Ok(())
}

/// The books: every denomination's count, summed over its writers, in denomination id order.
pub fn issued(store: &crate::Store) -> Result<Vec<IssuedCount>, StorageError> {
    let mut counts: BTreeMap<DenominationId, u64> = BTreeMap::new();
    let mut start = Vec::new();
    loop {
        let page = store.scan_from(Column::IssuedCoins, &start, PAGE_RECORDS)?;
        for (key, value) in &page {
            let denomination = key
                .get(..32)
                .and_then(|id| <[u8; 32]>::try_from(id).ok())
                .filter(|_| key.len() == 40)
                .map(DenominationId)
                .ok_or_else(|| StorageError::Corrupt {
                    column: "issued_coins",
                    reason: format!("a key of {} bytes", key.len()),
                })?;
            let sum = counts.entry(denomination).or_insert(0);
            *sum = sum.saturating_add(decode(value)?);
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE_RECORDS => {
                // The first key after `last`.
                start = last.clone();
                start.push(0);
            }
            _ => break,
        }
    }
    Ok(counts
        .into_iter()
        .map(|(denomination, coins)| IssuedCount {
            denomination,
            coins,
        })
        .collect())
}

fn decode(value: &[u8]) -> Result<u64, StorageError> {
    <[u8; 8]>::try_from(value)
        .map(u64::from_be_bytes)
        .map_err(|_| StorageError::Corrupt {
            column: "issued_coins",
            reason: format!("a count of {} bytes", value.len()),
        })
}
