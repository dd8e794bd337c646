//! Why the clearing house refused or failed a request.

use semper_protocol::clearing::{ParticipantError, SubmissionRefusal};
use semper_protocol::messages::settlement::SettlementError;
use semper_storage::StorageError;
use semper_storage::clearing::SubmissionRefused;

use crate::keystore::KeyStoreError;

/// A clearing failure. Each variant has a stable [`ClearingError::code`]; "busy" means retry later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClearingError {
    /// Too much work in progress: retry later.
    #[error("clearing house is busy: retry later")]
    Busy,
    /// The clearing house has stopped.
    #[error("clearing house has stopped")]
    Stopped,
    /// The submission was refused as a whole: unknown acquirer, bad signature, too large.
    #[error("{0}")]
    Submission(#[from] SubmissionRefusal),
    /// The submission could not be recorded: its id was used for another, or the cycle is full.
    #[error("{0}")]
    Record(#[from] SubmissionRefused),
    /// The cycle's report could not be made; the cycle stays open.
    #[error("{0}")]
    Settlement(#[from] SettlementError),
    /// Another cut-off came first.
    #[error("the cycle was already cut")]
    AlreadyCut,
    /// Another process of the clearing house holds the cut-off lease: it cuts the cycles.
    #[error("another process of the clearing house cuts the cycles: ask it, or retry")]
    NotLeader,
    /// The participant list is invalid.
    #[error("{0}")]
    Participants(#[from] ParticipantError),
    /// The key store failed.
    #[error("{0}")]
    KeyStore(#[from] KeyStoreError),
    /// Storage failed.
    #[error("{0}")]
    Storage(StorageError),
    /// The crypto pool could not be started.
    #[error("crypto pool: {0}")]
    Pool(String),
}

impl From<StorageError> for ClearingError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Busy => Self::Busy,
            StorageError::Closed => Self::Stopped,
            other => Self::Storage(other),
        }
    }
}

impl crate::mailbox::MailboxError for ClearingError {
    fn busy() -> Self {
        Self::Busy
    }

    fn stopped() -> Self {
        Self::Stopped
    }
}

impl ClearingError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Busy => "clearing.busy",
            Self::Stopped => "clearing.stopped",
            Self::Submission(e) => e.code(),
            Self::Record(e) => e.code(),
            Self::Settlement(e) => e.code(),
            Self::AlreadyCut => "clearing.already_cut",
            Self::NotLeader => "clearing.not_leader",
            Self::Participants(e) => e.code(),
            Self::KeyStore(e) => e.code(),
            Self::Storage(e) => e.code(),
            Self::Pool(_) => "clearing.pool",
        }
    }

    /// Whether the same request may succeed later: busy, stopped for a restart, a full cycle, a
    /// cut asked of a process that does not hold the cut-off lease (it may take it over), or a
    /// transient storage fault (a failover of its database: a submission's retry, same id and
    /// bytes, is recorded once or answered as the replay it is).
    pub fn retryable(&self) -> bool {
        match self {
            Self::Busy
            | Self::Stopped
            | Self::NotLeader
            | Self::Record(SubmissionRefused::CycleFull { .. }) => true,
            Self::Storage(error) => error.retryable(),
            _ => false,
        }
    }
}
