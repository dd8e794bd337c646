//! Sequence numbers for the acquirer's queues (the outbox, the refund outbox, the refunds
//! waiting for their issuer), given out so that gateways sharing one store never contend for a
//! counter.
//!
//! # Why lanes
//!
//! Every micro-batch of deposits appends its issuers' confirmations to the outbox. With one
//! counter for the whole queue, every group of two gateways over one PostgreSQL database read
//! and wrote the same meta row, so any two groups that overlapped in time conflicted, and the
//! loser was applied again (`make bench-ha`: a fifth more CPU per coin with two gateways, and
//! deposits answered `storage.conflict`). Now each writer of the store ([`Store::writer`]) keeps
//! a lane: a block of [`BLOCK`] sequence numbers reserved from the queue's shared counter, which
//! it gives out one after another. Only a writer's own committer writes its lane, one group after
//! another, and the shared counter is written once per block. Every read is still checked at the
//! write, so two writers that drew the same number would only contend.
//!
//! # What it costs
//!
//! - **Order.** A queue is read in key order, oldest first. With several writers, an entry may
//!   wait behind entries of another writer's block given after it: at most a block's worth.
//!   Nothing depends on the order across writers; within a writer it is the order of its writes.
//! - **Gaps.** A writer that stops leaves the rest of its block unused (each process start over
//!   a shared store draws a new writer). Sequence numbers are keys; nothing needs them dense.
//! - **Depth.** It cannot be read off the keys any more, so it is counted: each lane counts the
//!   entries it gave, and the queue's one taker (the outbox's lease holder) counts the entries it
//!   took, in the same writes.
//!
//! # Stores written before lanes
//!
//! One counter per queue gave the keys 0, 1, 2..., and entries were taken oldest first. That
//! counter is left as it stands: the first block starts where it stopped, it counts as entries
//! given, and until the taken count is first written, the entries taken are the keys below the
//! first one waiting (or all of them when none of its entries waits).

use crate::commit::{GroupReader, WriteSet};
use crate::denominations::read_sequence;
use crate::error::StorageError;
use crate::schema::{
    Column, META_OUTBOX_BLOCKS, META_OUTBOX_LANE, META_OUTBOX_NEXT, META_OUTBOX_TAKEN,
    META_REFUND_BLOCKS, META_REFUND_LANE, META_REFUND_NEXT, META_REFUND_OUTBOX_BLOCKS,
    META_REFUND_OUTBOX_LANE, META_REFUND_OUTBOX_NEXT, META_REFUND_OUTBOX_TAKEN,
};
use crate::store::Store;

/// Sequence numbers a lane reserves at a time (or the entries of one write, when more).
pub const BLOCK: u64 = 1024;

/// Lanes read per page when a queue's depth sums them.
const PAGE_LANES: usize = 256;

/// A queue's sequence numbers: its meta keys.
pub(crate) struct Lanes {
    /// The queue's column, keyed by sequence number.
    column: Column,
    /// The counter from before lanes.
    legacy: &'static [u8],
    /// The next sequence number not yet reserved for a lane.
    blocks: &'static [u8],
    /// The prefix of each writer's lane.
    lane: &'static [u8],
}

/// A queue whose entries are counted as they leave, so that its depth can be read.
pub(crate) struct CountedLanes {
    /// Its sequence numbers.
    pub(crate) lanes: Lanes,
    /// The entries taken, ever.
    taken: &'static [u8],
}

/// The outbox of issuer confirmations waiting for a submission.
pub(crate) const OUTBOX: CountedLanes = CountedLanes {
    lanes: Lanes {
        column: Column::Outbox,
        legacy: META_OUTBOX_NEXT,
        blocks: META_OUTBOX_BLOCKS,
        lane: META_OUTBOX_LANE,
    },
    taken: META_OUTBOX_TAKEN,
};

/// The outbox of refund confirmations waiting for a submission.
pub(crate) const REFUND_OUTBOX: CountedLanes = CountedLanes {
    lanes: Lanes {
        column: Column::RefundOutbox,
        legacy: META_REFUND_OUTBOX_NEXT,
        blocks: META_REFUND_OUTBOX_BLOCKS,
        lane: META_REFUND_OUTBOX_LANE,
    },
    taken: META_REFUND_OUTBOX_TAKEN,
};

/// The refunds waiting for their issuer's answer.
pub(crate) const REFUNDS_PENDING: Lanes = Lanes {
    column: Column::RefundsPending,
    legacy: META_REFUND_NEXT,
    blocks: META_REFUND_BLOCKS,
    lane: META_REFUND_LANE,
};

/// A writer's lane: its block `next..end`, and the entries it gave, ever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lane {
    next: u64,
    end: u64,
    given: u64,
}

impl Lane {
    fn decode(bytes: &[u8]) -> Result<Self, StorageError> {
        let word = |at: usize| {
            bytes
                .get(at..at + 8)
                .and_then(|word| <[u8; 8]>::try_from(word).ok())
                .map(u64::from_be_bytes)
        };
        match (bytes.len(), word(0), word(8), word(16)) {
            (24, Some(next), Some(end), Some(given)) if next <= end => {
                Ok(Self { next, end, given })
            }
            _ => Err(corrupt("a lane is not a block and a count")),
        }
    }

    fn encode(&self) -> Vec<u8> {
        [self.next, self.end, self.given]
            .iter()
            .flat_map(|word| word.to_be_bytes())
            .collect()
    }
}

fn corrupt(reason: &str) -> StorageError {
    StorageError::Corrupt {
        column: "meta",
        reason: reason.into(),
    }
}

fn decode_count(bytes: &[u8]) -> Result<u64, StorageError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt("a queue count is not 8 bytes"))
}

impl Lanes {
    fn lane_key(&self, writer: u64) -> Vec<u8> {
        [self.lane, &writer.to_be_bytes()].concat()
    }

    /// The first of `count` fresh, consecutive sequence numbers from this store's writer's
    /// lane, staged in `writes` with the lane's count of entries given.
    pub(crate) fn take(
        &self,
        reader: &GroupReader<'_>,
        writes: &mut WriteSet,
        count: u64,
    ) -> Result<u64, StorageError> {
        let key = self.lane_key(reader.store().writer());
        let mut lane = match reader.get(Column::Meta, &key)? {
            Some(bytes) => Lane::decode(&bytes)?,
            None => Lane::default(),
        };
        if lane.end - lane.next < count {
            let start = match reader.get(Column::Meta, self.blocks)? {
                Some(bytes) => decode_count(&bytes)?,
                None => read_sequence(reader.get(Column::Meta, self.legacy)?)?,
            };
            let end = start
                .checked_add(count.max(BLOCK))
                .ok_or_else(|| corrupt("a queue's sequence numbers overflow"))?;
            writes.put(
                Column::Meta,
                self.blocks.to_vec(),
                end.to_be_bytes().to_vec(),
            );
            (lane.next, lane.end) = (start, end);
        }
        let first = lane.next;
        lane.next += count;
        lane.given = lane
            .given
            .checked_add(count)
            .ok_or_else(|| corrupt("a lane's count overflows"))?;
        writes.put(Column::Meta, key, lane.encode());
        Ok(first)
    }

    /// The entries every lane gave, and the counter from before lanes: read page by page.
    fn given(&self, store: &Store) -> Result<u64, StorageError> {
        let mut given = read_sequence(store.get(Column::Meta, self.legacy)?)?;
        let mut start = self.lane.to_vec();
        loop {
            let page = store.scan_from(Column::Meta, &start, PAGE_LANES)?;
            let lanes: Vec<_> = page
                .iter()
                .take_while(|(key, _)| key.starts_with(self.lane))
                .collect();
            for (_, value) in &lanes {
                given = given
                    .checked_add(Lane::decode(value)?.given)
                    .ok_or_else(|| corrupt("a queue's count overflows"))?;
            }
            match lanes.last() {
                Some((last, _)) if lanes.len() == PAGE_LANES => {
                    start = last.clone();
                    start.push(0);
                }
                _ => return Ok(given),
            }
        }
    }
}

impl CountedLanes {
    /// Counts the entries `sequences` taken from the queue, in the write that deletes them. The
    /// caller takes the oldest entries waiting: in a store from before lanes, the first count is
    /// made from the oldest of them (see the module's documentation).
    pub(crate) fn count_taken(
        &self,
        reader: &GroupReader<'_>,
        writes: &mut WriteSet,
        sequences: &[u64],
    ) -> Result<(), StorageError> {
        let Some(oldest) = sequences.iter().min() else {
            return Ok(());
        };
        let before = match reader.get(Column::Meta, self.taken)? {
            Some(bytes) => decode_count(&bytes)?,
            None => taken_before_lanes(
                read_sequence(reader.get(Column::Meta, self.lanes.legacy)?)?,
                Some(*oldest),
            ),
        };
        let after = before
            .checked_add(sequences.len() as u64)
            .ok_or_else(|| corrupt("a queue's count overflows"))?;
        writes.put(
            Column::Meta,
            self.taken.to_vec(),
            after.to_be_bytes().to_vec(),
        );
        Ok(())
    }

    /// How many entries wait: those given less those taken. Taken is read first, so that a
    /// submission made meanwhile cannot make it negative.
    pub(crate) fn depth(&self, store: &Store) -> Result<u64, StorageError> {
        let taken = match store.get(Column::Meta, self.taken)? {
            Some(bytes) => decode_count(&bytes)?,
            None => {
                let oldest = match store.scan_prefix(self.lanes.column, &[], 1)?.first() {
                    Some((key, _)) => Some(super::sequence_of(key, self.lanes.column.name())?),
                    None => None,
                };
                let legacy = read_sequence(store.get(Column::Meta, self.lanes.legacy)?)?;
                taken_before_lanes(legacy, oldest)
            }
        };
        let given = self.lanes.given(store)?;
        given
            .checked_sub(taken)
            .ok_or_else(|| corrupt("a queue took more entries than it gave"))
    }
}

/// The entries taken while the count was not kept: the keys below the oldest waiting one, of
/// those the counter from before lanes (`legacy`) gave.
fn taken_before_lanes(legacy: u64, oldest: Option<u64>) -> u64 {
    oldest.map_or(legacy, |oldest| oldest.min(legacy))
}
