//! Swaps (change): the coins given in marked spent and the swap's blind signatures recorded and
//! counted in the books ([`crate::issued`]), in one atomic write keyed by the wallet's request
//! id, so that a replay gets the same signatures and spends and counts nothing again, and a swap
//! with a coin spent elsewhere changes nothing.
//!
//! A coin that was deposited and then refunded is spent already: it is given in for its refund
//! allowance instead, which the same write uses up ([`stage_allowance_use`]), so that it swaps
//! once for what was refunded, and its spent-set record (the deposit's permission, which later
//! refunds of it are checked against) stays as it is.
//!
//! With a sharded spent set, the coins' own groups spend them (and use the allowances) first
//! ([`SpendSwapCoins`](crate::swap_groups::SpendSwapCoins)), and this write, given no coins,
//! only records the swap (docs/protocol.md §7.25 says why the two steps are safe).

use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::crypto::blind_rsa::BlindSignature;
use semper_protocol::ids::{CoinId, Digest, RequestId};
use semper_protocol::limits::SWAP_OUTPUTS_MAX;
use semper_protocol::time::Timestamp;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::issued::{self, Issued};
use crate::ledger::decode_record;
use crate::refund_allowances::stage_allowance_use;
use crate::schema::{Column, spent_key};
use crate::spent::{SpendEntry, SpendOutcome, check_and_insert, decode_spent};

/// A swap as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwapRecord {
    /// Digest of the request's body: a retry must match it.
    pub request_digest: Digest,
    /// The blind signatures returned, in order.
    pub blind_signatures: BoundedVec<BlindSignature, SWAP_OUTPUTS_MAX>,
    /// When it was recorded.
    pub at: Timestamp,
}

codec_struct!(SwapRecord {
    request_digest,
    blind_signatures,
    at
});

/// What recording a swap did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwapOutcome {
    /// The coins are spent and the signatures recorded now.
    Recorded(SwapRecord),
    /// The same request was recorded before: its stored answer, and nothing spent again.
    Replayed(SwapRecord),
    /// The request id was recorded for another body: nothing written.
    RequestIdReused,
    /// Coin `index` was spent before by another permission (`earlier`, a signed deposit or swap
    /// permission, canonically encoded): nothing written.
    Conflict {
        /// The coin's position in the request.
        index: usize,
        /// The earlier signed permission.
        earlier: Vec<u8>,
    },
}

/// Spends every coin given in and records the swap's blind signatures, all or nothing.
#[derive(Clone, Debug)]
pub struct RecordSwap {
    /// The wallet's idempotency key.
    pub request_id: RequestId,
    /// What to store.
    pub record: SwapRecord,
    /// The coins given in, each with its signed swap permission.
    pub coins: Vec<SpendEntry>,
    /// The positions in `coins` of the coins given in for their refund allowance, each for its
    /// entry's `amount`; every other coin must be unspent.
    pub refunded: Vec<usize>,
    /// The signed outputs per denomination, one for each of the record's signatures.
    pub issued: Issued,
}

impl Transaction for RecordSwap {
    type Output = SwapOutcome;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        if let Some(earlier) = read(reader, &self.request_id)? {
            let outcome = if earlier.request_digest == self.record.request_digest {
                SwapOutcome::Replayed(earlier)
            } else {
                SwapOutcome::RequestIdReused
            };
            return Ok((outcome, WriteSet::new()));
        }
        let mut writes = WriteSet::new();
        let (refunded, fresh): (Vec<_>, Vec<_>) = self
            .coins
            .into_iter()
            .enumerate()
            .partition(|(index, _)| self.refunded.contains(index));
        let (positions, fresh): (Vec<usize>, Vec<SpendEntry>) = fresh.into_iter().unzip();
        let outcomes = check_and_insert(&fresh, reader, &mut writes)?;
        // A replayed coin without the swap's record cannot be (they are written together), so
        // only a conflict stops the swap; its staged writes are dropped with it.
        for (index, outcome) in positions.into_iter().zip(outcomes) {
            if let SpendOutcome::Conflict { earlier } = outcome {
                return Ok((SwapOutcome::Conflict { index, earlier }, WriteSet::new()));
            }
        }
        for (index, entry) in refunded {
            let coin = CoinId(entry.coin);
            let used = stage_allowance_use(
                reader,
                &mut writes,
                &entry.denomination,
                &coin,
                entry.amount,
            )?;
            if used.is_err() {
                // Swapped for its refund already (or refunded less than asked): the deposit that
                // spent it is the proof.
                let earlier = spent_permission(reader, &entry)?;
                return Ok((SwapOutcome::Conflict { index, earlier }, WriteSet::new()));
            }
        }
        let signatures = self.record.blind_signatures.len();
        issued::stage(reader, &mut writes, &self.issued, signatures)?;
        writes.put(
            Column::Swaps,
            self.request_id.as_bytes().to_vec(),
            self.record.to_bytes(),
        );
        Ok((SwapOutcome::Recorded(self.record), writes))
    }
}

/// The signed permission that first spent `entry`'s coin, as the spent set keeps it.
pub(crate) fn spent_permission(
    reader: &GroupReader<'_>,
    entry: &SpendEntry,
) -> Result<Vec<u8>, StorageError> {
    let key = spent_key(&entry.denomination, &entry.coin);
    match reader.get(Column::SpentCoins, &key)? {
        Some(bytes) => Ok(decode_spent(&bytes)?.1),
        // A refund allowance is only ever recorded for a coin in the spent set.
        None => Err(StorageError::Corrupt {
            column: "refund_allowances",
            reason: "an allowance for a coin never spent".to_owned(),
        }),
    }
}

fn read(reader: &GroupReader<'_>, id: &RequestId) -> Result<Option<SwapRecord>, StorageError> {
    reader
        .get(Column::Swaps, id.as_bytes())?
        .map(|bytes| decode_record("swaps", &bytes))
        .transpose()
}

/// A stored swap, read directly from the store.
pub fn swap(store: &crate::Store, id: &RequestId) -> Result<Option<SwapRecord>, StorageError> {
    store
        .get(Column::Swaps, id.as_bytes())?
        .map(|bytes| decode_record("swaps", &bytes))
        .transpose()
}
