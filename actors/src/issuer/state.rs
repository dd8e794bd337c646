//! Everything the issuer holds, shared by its actor, its pool and its committer's replies.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use semper_protocol::batch_verifier::BatchVerifier;
use semper_protocol::crypto::blind_rsa::DenominationSecretKey;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::denomination_book::DenominationBook;
use semper_protocol::ids::{BankId, DenominationId};
use semper_storage::commit::Committer;
use semper_storage::denominations;
use semper_storage::shard_map::{ShardMap, ShardSecret};
use semper_storage::spent_shards::SpentShards;
use semper_storage::{Role, StorageError, Store};

use super::config::{DenominationSchedule, IssuerConfig};
use super::error::IssuerError;
use super::lifecycle;
use crate::clock::Clock;
use crate::in_flight::InFlight;
use crate::keystore::KeyStore;

/// Denominations with their secret keys, and the signed set that publishes them.
pub struct Denominations {
    /// What each denomination is, and which are revoked.
    pub book: DenominationBook,
    /// The secret key of each denomination.
    pub secrets: HashMap<DenominationId, Arc<DenominationSecretKey>>,
    /// The set as last published.
    pub published: Arc<SignedDenominationSet>,
    /// The published set's sequence number.
    pub sequence: u64,
}

/// The issuer's state. Recovered at start from its DB and key store alone.
pub struct IssuerState {
    /// The issuer's bank id.
    pub id: BankId,
    /// Its DB.
    pub store: Store,
    /// Its DB's committer: every state change goes through it.
    pub committer: Arc<Committer>,
    /// The shard groups of its spent set; `None` keeps the spent set in `store`.
    pub spent_shards: Option<SpentShards>,
    /// Its private keys.
    pub keystore: KeyStore,
    /// Signs the denomination set.
    pub master_key: SigningKey,
    /// Signs spend confirmations.
    pub confirmation_key: SigningKey,
    /// Denominations, keys and the published set.
    pub denominations: RwLock<Denominations>,
    /// Acquirers allowed to send spend checks.
    pub acquirers: HashMap<BankId, VerifyingKey>,
    /// The clearing house whose reports are reconciled, and its report key.
    pub clearing: Option<(BankId, VerifyingKey)>,
    /// The crypto pool, which also verifies deposit batches.
    pub pool: BatchVerifier,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Requests in progress.
    pub in_flight: InFlight,
    /// The denomination schedule.
    pub schedule: DenominationSchedule,
    /// Held while denominations are created or revoked, so two changes never race.
    pub lifecycle_lock: std::sync::Mutex<()>,
}

/// The issuer's public keys: what its acquirers and the clearing house are configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuerPublicKeys {
    /// Signs the issuer's denomination sets.
    pub master: VerifyingKey,
    /// Signs its spend confirmations.
    pub confirmation: VerifyingKey,
}

/// Key-store names of the issuer's Ed25519 keys.
const MASTER_KEY: &str = "master";
const CONFIRMATION_KEY: &str = "confirmation";
/// Key-store name of the secret that places coins in spent-set shard groups. Made once, the first
/// time the issuer starts sharded, and needed for as long as its coins are: back it up with the
/// other keys.
const SPENT_SHARD_SECRET: &str = "spent-shards";

impl IssuerState {
    /// Creates the issuer's master and confirmation keys in the key store under `data_dir` if they
    /// are not there yet, and returns their public halves, before the issuer first starts.
    pub fn provision(data_dir: &Path) -> Result<IssuerPublicKeys, IssuerError> {
        let keystore = KeyStore::open(&data_dir.join("keys"))?;
        let mut rng = rand::rng();
        Ok(IssuerPublicKeys {
            master: *keystore.signing_key(MASTER_KEY, &mut rng)?.verifying_key(),
            confirmation: *keystore
                .signing_key(CONFIRMATION_KEY, &mut rng)?
                .verifying_key(),
        })
    }

    /// Opens the issuer's DB and key store, loads its denominations and their keys, and makes sure
    /// the schedule's keys exist ahead.
    pub fn open(config: &IssuerConfig, clock: Arc<dyn Clock>) -> Result<Arc<Self>, IssuerError> {
        // Keys first: an unsafe key store stops the issuer before it touches its DB.
        let keystore = KeyStore::open(&config.data_dir.join("keys"))?;
        let mut rng = rand::rng();
        let master_key = keystore.signing_key(MASTER_KEY, &mut rng)?;
        let confirmation_key = keystore.signing_key(CONFIRMATION_KEY, &mut rng)?;
        let store = Store::open(&config.data_dir.join("db"), Role::Issuer)?;
        let spent_shards = open_spent_shards(config, &keystore, &store)?;
        let (stored, sequence) = denominations::load_all(&store)?;
        let mut book = DenominationBook::new();
        let mut secrets = HashMap::new();
        for entry in stored {
            let id = entry.denomination.id();
            if entry.revoked {
                book.revoke(id);
            } else {
                secrets.insert(id, Arc::new(keystore.denomination_key(&id)?));
            }
            book.add(entry.denomination);
        }
        let now = clock.now();
        let published = Arc::new(lifecycle::sign_set(
            config.id,
            &master_key,
            &book,
            sequence,
            now,
        )?);
        let pool = BatchVerifier::new(config.pool_threads)
            .map_err(|e| IssuerError::KeyGeneration(e.to_string()))?;
        let state = Arc::new(Self {
            id: config.id,
            committer: Arc::new(Committer::start(store.clone(), config.commit)),
            spent_shards,
            store,
            keystore,
            master_key,
            confirmation_key,
            denominations: RwLock::new(Denominations {
                book,
                secrets,
                published,
                sequence,
            }),
            acquirers: config.acquirers.iter().copied().collect(),
            clearing: config.clearing,
            pool,
            clock,
            in_flight: InFlight::new(config.in_flight_max),
            schedule: config.schedule.clone(),
            lifecycle_lock: std::sync::Mutex::new(()),
        });
        lifecycle::ensure_ahead(&state, now)?;
        Ok(state)
    }

    /// Read access to the denominations. A poisoned lock only means a panic elsewhere: the data
    /// is still consistent, since it is only replaced whole.
    pub fn denominations(&self) -> RwLockReadGuard<'_, Denominations> {
        self.denominations
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The signed denomination set as last published.
    pub fn published_set(&self) -> Arc<SignedDenominationSet> {
        self.denominations().published.clone()
    }
}

/// The spent set's shard groups of `config`, placed by the bank's shard secret (made the first
/// time); `None` when it has none, once `store` is known not to be sharded.
fn open_spent_shards(
    config: &IssuerConfig,
    keystore: &KeyStore,
    store: &Store,
) -> Result<Option<SpentShards>, IssuerError> {
    let shards = &config.spent_shards;
    if shards.groups.is_empty() {
        SpentShards::check_unsharded(store)?;
        return Ok(None);
    }
    let bytes = keystore.secret_bytes(SPENT_SHARD_SECRET, &mut rand::rng())?;
    let secret = ShardSecret::new(&bytes);
    let buckets = if shards.buckets.is_empty() {
        ShardMap::even_ranges(shards.groups.len())
    } else {
        shards.buckets.clone()
    };
    // The server's config validation refuses a bad map first, naming its key.
    let map = ShardMap::new(secret, &buckets)
        .map_err(|error| StorageError::ShardMismatch(error.to_string()))?;
    Ok(Some(SpentShards::open(
        map,
        &shards.groups,
        store,
        config.commit,
    )?))
}
