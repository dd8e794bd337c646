//! What an issuer is started with.

use std::path::PathBuf;

use semper_protocol::amount::Amount;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::BankId;
use semper_storage::CommitConfig;

/// Which denominations the issuer keeps in force, and how their windows are cut.
#[derive(Clone, Debug)]
pub struct DenominationSchedule {
    /// One denomination series per value.
    pub values: Vec<Amount>,
    /// RSA modulus size of new keys.
    pub key_size: RsaKeySize,
    /// Length of each key's withdraw window; the next key's window starts where it ends.
    pub withdraw_period_ms: u64,
    /// How long coins stay depositable after their withdraw window closes.
    pub deposit_grace_ms: u64,
    /// How long spent-set entries are kept after the deposit window closes.
    pub retention_ms: u64,
    /// How far ahead keys exist: every value has a key withdrawable at any time up to now + this.
    pub lookahead_ms: u64,
    /// How often the issuer checks that keys exist ahead, and makes the missing ones.
    pub rotation_check_ms: u64,
}

/// An issuer's configuration.
#[derive(Clone, Debug)]
pub struct IssuerConfig {
    /// The issuer's bank id.
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
    /// The denomination schedule.
    pub schedule: DenominationSchedule,
    /// The acquirers allowed to send spend checks, with their bank keys.
    pub acquirers: Vec<(BankId, VerifyingKey)>,
    /// The clearing house whose settlement reports the issuer reconciles, with the key that signs
    /// them; `None` treats every report as bad.
    pub clearing: Option<(BankId, VerifyingKey)>,
}
