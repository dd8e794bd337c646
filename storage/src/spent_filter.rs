//! An in-memory bloom filter over the spent-coin set, so that a coin never spent before (the
//! common case) is known new without a RocksDB read.
//!
//! It is rebuilt from the DB at open, so it needs nothing the DB cannot give. A false positive
//! only costs a read; there are no false negatives, because a key goes into the filter before its
//! write is even attempted.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bits in the filter: 2^27 (16 MiB) keeps false positives near 1 % up to about 10 million coins.
pub const SPENT_FILTER_BITS: usize = 1 << 27;
/// Bits set per key, all inside one block.
const PROBES: u32 = 7;
/// Words per block: 8 × 64 bits, one 64-byte cache line.
const BLOCK_WORDS: usize = 8;

/// A fixed-size, cache-blocked bloom filter, safe to share between threads.
///
/// All bits of a key sit in one cache line, so a check or an insert costs one cache miss instead
/// of one per probe: on the commit thread, which checks every coin of every batch, that is most of
/// the filter's cost.
pub struct SpentFilter {
    words: Vec<AtomicU64>,
    blocks: u64,
    hasher: std::hash::RandomState,
}

impl SpentFilter {
    /// An empty filter of about `bits` bits.
    pub fn new(bits: usize) -> Self {
        let blocks = (bits / (64 * BLOCK_WORDS)).max(1);
        Self {
            words: (0..blocks * BLOCK_WORDS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            blocks: blocks as u64,
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Adds `key`.
    pub fn insert(&self, key: &[u8]) {
        let (block, masks) = self.locate(key);
        for (word, mask) in self.words[block..block + BLOCK_WORDS].iter().zip(masks) {
            if mask != 0 {
                word.fetch_or(mask, Ordering::Relaxed);
            }
        }
    }

    /// False when `key` was certainly never inserted.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        let (block, masks) = self.locate(key);
        self.words[block..block + BLOCK_WORDS]
            .iter()
            .zip(masks)
            .all(|(word, mask)| word.load(Ordering::Relaxed) & mask == mask)
    }

    /// The first word of `key`'s block, and the bits to set in each word of it: the block from
    /// one half of a 64-bit hash, the probes by double hashing within the block's 512 bits.
    fn locate(&self, key: &[u8]) -> (usize, [u64; BLOCK_WORDS]) {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(key);
        let hash = hasher.finish();
        let block = ((hash >> 32) % self.blocks) as usize * BLOCK_WORDS;
        let (h1, h2) = (hash as u32, ((hash >> 16) as u32) | 1);
        let mut masks = [0u64; BLOCK_WORDS];
        for i in 0..PROBES {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) as usize % (64 * BLOCK_WORDS);
            masks[bit / 64] |= 1 << (bit % 64);
        }
        (block, masks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let filter = SpentFilter::new(1 << 20);
        for i in 0..50_000u64 {
            filter.insert(&i.to_be_bytes());
        }
        assert!((0..50_000u64).all(|i| filter.may_contain(&i.to_be_bytes())));
        let false_positives = (50_000..150_000u64)
            .filter(|i| filter.may_contain(&i.to_be_bytes()))
            .count();
        assert!(
            false_positives < 2_000,
            "{false_positives} false positives in 100000"
        );
    }
}
