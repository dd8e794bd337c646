//! What a clearing house is started with.

use std::path::PathBuf;

use semper_protocol::clearing::Participant;
use semper_protocol::ids::BankId;
use semper_storage::CommitConfig;

use crate::retry::RetryConfig;

/// A clearing house's configuration.
#[derive(Clone, Debug)]
pub struct ClearingConfig {
    /// The clearing house's bank id.
    pub id: BankId,
    /// Where its DB (`db/`) and key store (`keys/`) live.
    pub data_dir: PathBuf,
    /// Where its store lives instead of `data_dir/db` (e.g. a PostgreSQL database shared by
    /// several processes of the bank); `None` keeps it there.
    pub store: Option<semper_storage::Location>,
    /// Group commit bounds.
    pub commit: CommitConfig,
    /// Threads of the crypto pool.
    pub pool_threads: usize,
    /// Messages the actor's mailbox holds before callers get "busy".
    pub mailbox_capacity: usize,
    /// Requests in progress (on the pool or awaiting commit) before callers get "busy".
    pub in_flight_max: usize,
    /// The registered banks, with their roles and keys: who may submit, whose confirmations
    /// count, and who gets each report.
    pub participants: Vec<Participant>,
    /// A cycle that has received a submission is cut this long after it opened.
    pub cycle_max_ms: u64,
    /// A cycle is cut once it has recorded this many submissions.
    pub cycle_max_submissions: u64,
    /// How often the cut-off timer looks at the open cycle's age.
    pub cycle_check_ms: u64,
    /// Retries of each report's delivery to a participant that does not take it at once.
    pub delivery: RetryConfig,
}
