//! A swap's first step when the spent set is split over shard groups (docs/protocol.md §7.25):
//! in each coin's own group, the coins given in are spent by the swap, insert-if-absent, with the
//! digest of the swap request's body in place of their permissions' (so that only a retry of
//! that very request finds its own entry again), and a refunded coin's refund allowance, which
//! lives in the coin's group, is used up there, with a mark of the swap that used it (so that
//! the retry replays it rather than finding it used). The swap's record is written afterwards
//! in the issuer's own store ([`RecordSwap`](crate::swaps::RecordSwap), spending nothing).

use semper_protocol::amount::Amount;
use semper_protocol::codec::Encode;
use semper_protocol::ids::{CoinId, DenominationId, Digest};

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::refund_allowances::stage_allowance_use;
use crate::schema::{Column, spent_key};
use crate::spent::{SpendEntry, SpendOutcome, check_and_insert};
use crate::store::Store;
use crate::swaps::spent_permission;

/// A coin given in to a swap, for its group's part of the swap's first step.
#[derive(Clone, Debug)]
pub struct SwapCoin {
    /// The coin and its signed swap permission; `permission_digest` is the swap request's
    /// digest, and `amount` what it is given in for.
    pub entry: SpendEntry,
    /// Given in for its refund allowance (spent already, by its deposit): `amount` of the
    /// allowance is used instead of spending the coin.
    pub refunded: bool,
}

/// One group's part of a swap's first step: each coin's verdict, in order. A new coin is
/// spent (or its allowance used) now; a coin this swap spent before replays; any other is a
/// conflict with the permission that spent it as proof (for a refunded coin whose allowance is
/// used up or too small, its deposit's). Every coin is decided alone: a conflict does not stop
/// the others (docs/protocol.md §7.25 says why that loses no honest holder's value).
#[derive(Clone, Debug)]
pub struct SpendSwapCoins {
    /// The digest of the swap request's body.
    pub swap: Digest,
    /// The group's coins.
    pub coins: Vec<SwapCoin>,
}

impl Transaction for SpendSwapCoins {
    type Output = Vec<SpendOutcome>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        let fresh: Vec<SpendEntry> = self
            .coins
            .iter()
            .filter(|coin| !coin.refunded)
            .map(|coin| coin.entry.clone())
            .collect();
        let mut fresh = check_and_insert(&fresh, reader, &mut writes)?.into_iter();
        let mut outcomes = Vec::with_capacity(self.coins.len());
        for coin in &self.coins {
            let outcome = if coin.refunded {
                use_allowance(&self.swap, &coin.entry, reader, &mut writes)?
            } else {
                fresh.next().ok_or(StorageError::Corrupt {
                    column: "spent_coins",
                    reason: "no outcome for a swapped coin".to_owned(),
                })?
            };
            outcomes.push(outcome);
        }
        Ok((outcomes, writes))
    }
}

/// Uses `entry.amount` of the coin's refund allowance for `swap`, once: the mark of the use
/// makes the same swap's retry a replay.
fn use_allowance(
    swap: &Digest,
    entry: &SpendEntry,
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
) -> Result<SpendOutcome, StorageError> {
    let key = use_key(swap, &entry.denomination, &entry.coin);
    if reader.get(Column::Swaps, &key)?.is_some() {
        return Ok(SpendOutcome::Replay);
    }
    let coin = CoinId(entry.coin);
    match stage_allowance_use(reader, writes, &entry.denomination, &coin, entry.amount)? {
        Ok(()) => {
            writes.put(Column::Swaps, key, entry.amount.to_bytes());
            Ok(SpendOutcome::New)
        }
        // Swapped for its refund already (or refunded less than asked): the deposit that spent
        // it is the proof.
        Err(_) => Ok(SpendOutcome::Conflict {
            earlier: spent_permission(reader, entry)?,
        }),
    }
}

/// The mark's key, in the group's `swaps` column (which holds only these marks there): the swap
/// request's digest, then the coin's spent-set key.
fn use_key(swap: &Digest, denomination: &DenominationId, coin: &[u8; 32]) -> Vec<u8> {
    let mut key = swap.as_bytes().to_vec();
    key.extend_from_slice(&spent_key(denomination, coin));
    key
}

/// What of the coin's (`denomination`, `coin`) refund allowance the swap of digest `swap` used
/// in `store` (the coin's group), if it did: its retry gives the coin in for that again.
pub fn allowance_used_by(
    store: &Store,
    swap: &Digest,
    denomination: &DenominationId,
    coin: &CoinId,
) -> Result<Option<Amount>, StorageError> {
    store
        .get(Column::Swaps, &use_key(swap, denomination, coin.as_bytes()))?
        .map(|bytes| decode_record("swaps", &bytes))
        .transpose()
}
