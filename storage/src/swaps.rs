//! Swaps (change): the coins given in marked spent and the swap's blind signatures recorded, in
//! one atomic write keyed by the wallet's request id, so that a replay gets the same signatures
//! and spends nothing again, and a swap with a coin spent elsewhere changes nothing.

use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::crypto::blind_rsa::BlindSignature;
use semper_protocol::ids::{Digest, RequestId};
use semper_protocol::limits::SWAP_OUTPUTS_MAX;
use semper_protocol::time::Timestamp;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::Column;
use crate::spent::{SpendEntry, SpendOutcome, check_and_insert};

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
        let outcomes = check_and_insert(&self.coins, reader, &mut writes)?;
        // A replayed coin without the swap's record cannot be (they are written together), so
        // only a conflict stops the swap; its staged writes are dropped with it.
        for (index, outcome) in outcomes.into_iter().enumerate() {
            if let SpendOutcome::Conflict { earlier } = outcome {
                return Ok((SwapOutcome::Conflict { index, earlier }, WriteSet::new()));
            }
        }
        writes.put(
            Column::Swaps,
            self.request_id.as_bytes().to_vec(),
            self.record.to_bytes(),
        );
        Ok((SwapOutcome::Recorded(self.record), writes))
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
