//! The storage layer's metrics, each name written once, and the committer's handles on them.

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};

use crate::memory::MemoryUsage;
use crate::store::Role;

/// Time to write one group with its WAL fsync, in seconds, by role.
pub const COMMIT_SECONDS: &str = "semper_storage_commit_seconds";
/// Transactions in one group (one fsync), by role.
pub const COMMIT_GROUP_TRANSACTIONS: &str = "semper_storage_commit_group_transactions";

/// Commit groups of a shared store applied again because another writer changed what they read
/// (see `commit::CONFLICT_ATTEMPTS_MAX`), by role: the cost of writers contending.
pub const COMMIT_CONFLICTS: &str = "semper_storage_commit_conflicts_total";

/// Coins sent to a spent-set shard group, by `shard` (the group's number).
pub const SPENT_SHARD_COINS: &str = "semper_storage_spent_shard_coins_total";
/// Time for a spent-set shard group to answer its part of a batch (queue and durable write), in
/// seconds, by `shard`.
pub const SPENT_SHARD_SECONDS: &str = "semper_storage_spent_shard_seconds";

/// What RocksDB holds in memory for a role's DB, in bytes, by role and `kind` (`memtables`,
/// `block_cache`, `table_readers`); the committer refreshes it at most every
/// [`MEMORY_REFRESH`].
pub const MEMORY_BYTES: &str = "semper_storage_memory_bytes";
/// How often the committer reads RocksDB's memory properties, at most.
pub const MEMORY_REFRESH: Duration = Duration::from_secs(1);

/// The committer's series, registered once at its start so that its thread records through
/// handles: no lookup or label per group, and the recorder current at start (global, or a test's
/// local one) receives them.
pub(crate) struct CommitMetrics {
    seconds: Histogram,
    group: Histogram,
    conflicts: Counter,
    memory: [Gauge; 3],
}

impl CommitMetrics {
    /// Registers the series of the committer of a `role` store.
    pub(crate) fn register(role: Role) -> Self {
        let role = role.name();
        Self {
            seconds: metrics::histogram!(COMMIT_SECONDS, "role" => role),
            group: metrics::histogram!(COMMIT_GROUP_TRANSACTIONS, "role" => role),
            conflicts: metrics::counter!(COMMIT_CONFLICTS, "role" => role),
            memory: ["memtables", "block_cache", "table_readers"]
                .map(|kind| metrics::gauge!(MEMORY_BYTES, "role" => role, "kind" => kind)),
        }
    }

    /// Sets the memory gauges to `usage`.
    pub(crate) fn memory(&self, usage: MemoryUsage) {
        for (gauge, bytes) in
            self.memory
                .iter()
                .zip([usage.memtables, usage.block_cache, usage.table_readers])
        {
            gauge.set(bytes as f64);
        }
    }

    /// Counts one group applied again after a conflict.
    pub(crate) fn conflict(&self) {
        self.conflicts.increment(1);
    }

    /// Records one group: its size and, when it wrote anything, its synced write's time.
    pub(crate) fn group(&self, transactions: usize, write: Option<Duration>) {
        self.group.record(transactions as f64);
        if let Some(write) = write {
            self.seconds.record(write.as_secs_f64());
        }
    }
}
