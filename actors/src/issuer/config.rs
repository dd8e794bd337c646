//! What an issuer is started with.

use std::path::PathBuf;

use semper_protocol::amount::Amount;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::denomination::DenominationFees;
use semper_protocol::ids::BankId;
use semper_storage::shard_map::BucketRange;
use semper_storage::{CommitConfig, Location};

use crate::signer::SignerLimits;

/// Which denominations the issuer keeps in force, and how their windows are cut.
#[derive(Clone, Debug)]
pub struct DenominationSchedule {
    /// One denomination series per value.
    pub values: Vec<Amount>,
    /// The fees of a value's denominations, by value; a value not listed charges none. A change
    /// applies to the keys made after it: a published denomination never changes (its id is its
    /// hash).
    pub fees: Vec<(Amount, DenominationFees)>,
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

impl DenominationSchedule {
    /// The fees of `value`'s denominations: as configured, else none.
    pub fn fees_of(&self, value: Amount) -> DenominationFees {
        self.fees
            .iter()
            .find(|(listed, _)| *listed == value)
            .map(|(_, fees)| *fees)
            .unwrap_or_else(|| DenominationFees::zero(value.currency()))
    }
}

/// Where the issuer's spent set lives: in its own store (no groups, the default), or split over
/// shard groups of their own (see `semper_storage::spent_shards`).
#[derive(Clone, Debug, Default)]
pub struct SpentShardsConfig {
    /// Each group's store, in group order: none, or at least two.
    pub groups: Vec<Location>,
    /// Each group's buckets, in group order; empty: the buckets split evenly, in order.
    pub buckets: Vec<Vec<BucketRange>>,
}

/// Where the issuer's private keys are used.
#[derive(Clone, Debug)]
pub enum SignerChoice {
    /// In the issuer's own process, keys under its `keys/` (the embedded default).
    InProcess(SignerLimits),
    /// In `semper signer`, another process, at this Unix socket: the issuer holds no private key.
    Socket(PathBuf),
}

impl Default for SignerChoice {
    /// In process, with the signer's default bounds: the embedded default.
    fn default() -> Self {
        Self::InProcess(SignerLimits::default())
    }
}

/// Where the master key that signs the issuer's denomination sets is.
#[derive(Clone, Debug, Default)]
pub enum MasterKey {
    /// Offline (`semper offline`): the issuer holds this public half alone, and publishes the
    /// sets the operator uploads signed with it.
    Offline(VerifyingKey),
    /// In the issuer's `offline/` directory, made the first time: the issuer signs its own sets
    /// through the offline tool's code, at once (the embedded default).
    #[default]
    Local,
}

/// An issuer's configuration.
#[derive(Clone, Debug)]
pub struct IssuerConfig {
    /// The issuer's bank id.
    pub id: BankId,
    /// Where its DB (`db/`) and, with an in-process signer, its key store (`keys/`) live.
    pub data_dir: PathBuf,
    /// Where its store lives instead of `data_dir/db` (e.g. a PostgreSQL database shared by
    /// several processes of the bank); `None` keeps it there.
    pub store: Option<semper_storage::Location>,
    /// Where its signer runs.
    pub signer: SignerChoice,
    /// Where its master key is.
    pub master: MasterKey,
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
    /// Where its spent set lives.
    pub spent_shards: SpentShardsConfig,
}
