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
use semper_storage::{Role, Store};

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
    pub committer: Committer,
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
        let store = crate::open_store(&config.data_dir, config.store.as_ref(), Role::Issuer)?;
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
            committer: Committer::start(store.clone(), config.commit),
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
