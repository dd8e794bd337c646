//! RocksDB's memory, bounded per DB so that a node's RSS levels off instead of growing with what
//! it has written and read:
//! - the memtables of all of a DB's column families share [`MEMTABLES_BYTES`]; past it, the
//!   largest is flushed (without it, each of the ~20 written column families grows its own 64 MiB
//!   memtable, twice over while one flushes);
//! - one LRU block cache of [`BLOCK_CACHE_BYTES`] per DB serves every column family, and holds
//!   their index and filter blocks too (without it, each column family gets a default cache of
//!   its own, and table readers keep index and filter blocks outside any cache, for ever).
//!
//! A node of the embedded default opens three DBs, so these bound about 3 × 64 MiB.

use rocksdb::{BlockBasedOptions, Cache, DB, Options};

use crate::schema::Column;

/// All memtables of one DB together.
pub const MEMTABLES_BYTES: usize = 32 << 20;
/// One column family's memtable, before it is flushed.
pub const MEMTABLE_BYTES: usize = 8 << 20;
/// One DB's block cache, index and filter blocks included.
pub const BLOCK_CACHE_BYTES: usize = 32 << 20;
/// Bloom filter bits per key: about 1 % false positives, so most spent-set misses skip the disk.
const BLOOM_BITS_PER_KEY: f64 = 10.0;

/// The DB-wide options' memory bound.
pub fn bound_db(options: &mut Options) {
    options.set_db_write_buffer_size(MEMTABLES_BYTES);
}

/// A DB's block cache, shared by its column families.
pub fn block_cache() -> Cache {
    Cache::new_lru_cache(BLOCK_CACHE_BYTES)
}

/// The options of `column` (`None`: a column family this version does not know) over `cache`.
pub fn column_options(column: Option<Column>, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    if column.is_some_and(Column::wants_bloom_filter) {
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
    }
    let mut options = Options::default();
    options.set_write_buffer_size(MEMTABLE_BYTES);
    options.set_block_based_table_factory(&table);
    options
}

/// What one DB's RocksDB holds in memory now, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Memtables, active and immutable, of every column family.
    pub memtables: u64,
    /// The block cache (shared by the column families), index and filter blocks included.
    pub block_cache: u64,
    /// Table readers' memory outside the cache.
    pub table_readers: u64,
}

/// The memory `db` holds now, from RocksDB's own properties; a property it cannot give counts 0.
pub(crate) fn usage(db: &DB) -> MemoryUsage {
    let mut usage = MemoryUsage::default();
    for column in Column::ALL {
        let Some(handle) = db.cf_handle(column.name()) else {
            continue;
        };
        let property = |name: &str| db.property_int_value_cf(handle, name).ok().flatten();
        usage.memtables += property("rocksdb.cur-size-all-mem-tables").unwrap_or(0);
        usage.table_readers += property("rocksdb.estimate-table-readers-mem").unwrap_or(0);
        // One cache for all: its usage reads the same from any column family.
        usage.block_cache = usage
            .block_cache
            .max(property("rocksdb.block-cache-usage").unwrap_or(0));
    }
    usage
}
