//! What an acquirer is started with.

use std::path::PathBuf;

use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::BankId;
use semper_storage::CommitConfig;

use crate::retry::RetryConfig;

/// Most issuers one acquirer trusts.
pub const ISSUERS_MAX: usize = 1024;

/// An issuer whose coins the acquirer takes.
#[derive(Clone, Copy, Debug)]
pub struct TrustedIssuer {
    /// The issuer's bank id.
    pub id: BankId,
    /// Its master key, which signs its denomination sets.
    pub master_key: VerifyingKey,
    /// Its confirmation key, which signs its spend confirmations.
    pub confirmation_key: VerifyingKey,
}

/// The clearing house the acquirer settles through.
#[derive(Clone, Copy, Debug)]
pub struct TrustedClearing {
    /// Its bank id.
    pub id: BankId,
    /// The key that signs its receipts.
    pub key: VerifyingKey,
}

/// An acquirer's configuration.
#[derive(Clone, Debug)]
pub struct AcquirerConfig {
    /// The acquirer's bank id.
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
    /// Requests in progress (waiting in a micro-batch, at an issuer or awaiting commit) before
    /// callers get "busy".
    pub in_flight_max: usize,
    /// Coins at which a micro-batch closes (at most one spend-check batch). A deposit is never
    /// split: one larger than this is a batch of its own.
    pub batch_max_coins: usize,
    /// How long a micro-batch stays open after its first coin, in ms.
    pub batch_max_delay_ms: u64,
    /// The issuers whose coins it takes.
    pub issuers: Vec<TrustedIssuer>,
    /// How a spend check is retried: briefly, since a merchant waits for it.
    pub spend_retry: RetryConfig,
    /// The clearing house.
    pub clearing: TrustedClearing,
    /// Most confirmations in one settlement submission.
    pub submission_max_confirmations: usize,
    /// How often the outbox is submitted, in ms.
    pub submit_interval_ms: u64,
    /// How a submission is retried within one outbox pass; after it, the next passes retry it,
    /// waiting the same bounded backoff between them.
    pub submit_retry: RetryConfig,
}
