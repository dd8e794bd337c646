//! Why a storage operation failed.

/// A storage failure. Each variant has a stable [`StorageError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The DB was written by a newer schema than this build reads.
    #[error("database schema {found} is newer than this build's {supported}: upgrade semper")]
    SchemaTooNew {
        /// The DB's schema version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The DB is for another role.
    #[error("database belongs to the {found} role, not {expected}")]
    WrongRole {
        /// The role asked for.
        expected: &'static str,
        /// The role recorded in the DB.
        found: String,
    },
    /// A record could not be decoded: the DB is corrupt or was edited by hand.
    #[error("corrupt record in {column}: {reason}")]
    Corrupt {
        /// The column family.
        column: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// RocksDB reported an error.
    #[error("rocksdb: {0}")]
    Rocks(String),
    /// PostgreSQL refused a statement: a definite failure, nothing of the write was applied.
    #[error("postgres: {0}")]
    Postgres(String),
    /// The database could not be reached, or the connection broke. On a write the outcome is
    /// unknown (the commit may have happened): retry the same transaction, whose idempotency
    /// keys make the retry safe.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Another writer of the same database changed what a group read before the group was
    /// written, again and again up to the committer's bound: nothing of it was written; retry.
    #[error("storage conflict: {0}")]
    Conflict(String),
    /// An issuer's spent-set shard groups do not match what its stores recorded: a coin would be
    /// looked for where it is not, so the issuer does not start.
    #[error("spent-set shards: {0}")]
    ShardMismatch(String),
    /// The commit queue is full: retry later.
    #[error("storage is busy: commit queue full")]
    Busy,
    /// The committer has stopped; nothing more can be written.
    #[error("storage is closed")]
    Closed,
}

impl StorageError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SchemaTooNew { .. } => "storage.schema_too_new",
            Self::WrongRole { .. } => "storage.wrong_role",
            Self::Corrupt { .. } => "storage.corrupt",
            Self::Rocks(_) => "storage.rocksdb",
            Self::Postgres(_) => "storage.postgres",
            Self::Unavailable(_) => "storage.unavailable",
            Self::Conflict(_) => "storage.conflict",
            Self::ShardMismatch(_) => "storage.shard_mismatch",
            Self::Busy => "storage.busy",
            Self::Closed => "storage.closed",
        }
    }

    /// Whether the same request may succeed later: the database out of reach (or its outcome
    /// unknown, which the retry's idempotency keys settle), a write raced past the committer's
    /// bound, a full commit queue, or a committer stopped for a restart. A role that answers
    /// another bank passes this on, so that a transient fault (a failover) is retried with the
    /// same request, never recorded by the caller as a refusal.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::Conflict(_) | Self::Busy | Self::Closed
        )
    }
}

impl From<rocksdb::Error> for StorageError {
    fn from(error: rocksdb::Error) -> Self {
        let text = error.into_string();
        // RocksDB reports checksum mismatches and unreadable files as corruption.
        if text.contains("Corruption") {
            Self::Corrupt {
                column: "rocksdb",
                reason: text,
            }
        } else {
            Self::Rocks(text)
        }
    }
}
