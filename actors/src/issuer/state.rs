//! Everything the issuer holds, shared by its actor, its pool and its committer's replies.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use semper_protocol::batch_verifier::BatchVerifier;
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::denomination_book::DenominationBook;
use semper_protocol::ids::{BankId, DenominationId};
use semper_storage::commit::Committer;
use semper_storage::denominations;
use semper_storage::shard_map::{ShardMap, ShardSecret};
use semper_storage::spent_shards::SpentShards;
use semper_storage::{Role, StorageError, Store};

use super::config::{DenominationSchedule, IssuerConfig, MasterKey, SignerChoice};
use super::error::IssuerError;
use super::lifecycle;
use crate::clock::Clock;
use crate::in_flight::InFlight;
use crate::keystore::KeyStore;
use crate::leader::{LEASE_TTL_MS, Leadership};
use crate::offline::OfflineKey;
use crate::signer::{FileSigner, Signer, SocketSigner};

/// Denominations, and the signed set that publishes them. Their private keys are the signer's.
pub struct Denominations {
    /// What the published set says: the denominations coins are withdrawn and deposited in, and
    /// which are revoked. Empty until a first set is published.
    pub book: DenominationBook,
    /// The set as last published, signed by the master key; `None` until the first.
    pub published: Option<Arc<SignedDenominationSet>>,
    /// Every denomination the signer made for this issuer, published or awaiting the master
    /// key's signature, with the revocations taken.
    pub made: DenominationBook,
    /// The store's count of denomination changes: a floor for the next set's sequence.
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
    /// Every private-key operation: blind signatures, confirmations, sets, new keys.
    pub signer: Arc<dyn Signer>,
    /// The public halves of the master and confirmation keys.
    pub public_keys: IssuerPublicKeys,
    /// The master key, when it is local (the embedded default); `None` when it is offline.
    pub local_master: Option<OfflineKey>,
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
    /// Held while denominations are created, revoked or reloaded, so two changes never race.
    pub lifecycle_lock: std::sync::Mutex<()>,
    /// The rotation lease: only its holder makes new denomination keys when several issuer
    /// processes share the store; the others read them from it.
    pub rotation: Leadership,
}

/// The name of the issuer's key-rotation lease.
pub const ROTATION_LEASE: &str = "issuer.rotation";

/// The issuer's public keys: what its acquirers and the clearing house are configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuerPublicKeys {
    /// Signs the issuer's denomination sets.
    pub master: VerifyingKey,
    /// Signs its spend confirmations.
    pub confirmation: VerifyingKey,
}

/// Key-store name of the secret that places coins in spent-set shard groups. Made once, the first
/// time the issuer starts sharded, and needed for as long as its coins are: back it up with the
/// other keys. It places coins, it signs nothing: it stays with the issuer, not the signer.
const SPENT_SHARD_SECRET: &str = "spent-shards";

/// The signer `config` names: opened in this process, or reached at its socket.
pub fn open_signer(
    data_dir: &Path,
    choice: &SignerChoice,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Signer>, IssuerError> {
    Ok(match choice {
        SignerChoice::InProcess(limits) => {
            Arc::new(FileSigner::open(&data_dir.join("keys"), clock, *limits)?)
        }
        SignerChoice::Socket(path) => Arc::new(SocketSigner::new(path)),
    })
}

/// The directory of an issuer's local master key (the embedded default), in its data directory.
pub fn local_master_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("offline")
}

/// The master key's public half, with the key itself when it is local (in `data_dir`, made the
/// first time).
fn master_keys(
    data_dir: &Path,
    master: &MasterKey,
) -> Result<(VerifyingKey, Option<OfflineKey>), IssuerError> {
    match master {
        MasterKey::Offline(key) => Ok((*key, None)),
        MasterKey::Local => {
            let dir = local_master_dir(data_dir);
            adopt_signer_master(data_dir, &dir)?;
            let local = OfflineKey::open_or_init(&dir)?;
            Ok((local.public_key(), Some(local)))
        }
    }
}

/// An issuer upgraded in place kept its master key in its in-process signer's key directory,
/// and its card pins it: the key moves (a rename, then the directory synced) to the local master
/// key's directory rather than a new one being made. The signer holds no master key any more.
fn adopt_signer_master(data_dir: &Path, local_dir: &Path) -> Result<(), IssuerError> {
    let old = data_dir.join("keys").join("master.ed25519");
    let new = local_dir.join("master.ed25519");
    if !old.exists() || new.exists() {
        return Ok(());
    }
    KeyStore::open(local_dir)?;
    let moved = std::fs::rename(&old, &new)
        .and_then(|()| std::fs::File::open(local_dir)?.sync_all())
        .and_then(|()| std::fs::File::open(data_dir.join("keys"))?.sync_all());
    moved.map_err(|error| {
        IssuerError::KeyStore(crate::keystore::KeyStoreError::Io {
            path: old.display().to_string(),
            reason: error.to_string(),
        })
    })?;
    tracing::warn!(
        from = %old.display(),
        to = %new.display(),
        "the master key moved out of the signer's directory; to keep it offline, see SECURITY.md"
    );
    Ok(())
}

impl IssuerState {
    /// The public halves of the issuer's master and confirmation keys: the confirmation key made
    /// by its signer the first time, the master key given, or made locally the first time,
    /// before the issuer first starts.
    pub fn provision(
        data_dir: &Path,
        choice: &SignerChoice,
        master: &MasterKey,
        clock: Arc<dyn Clock>,
    ) -> Result<IssuerPublicKeys, IssuerError> {
        let keys = open_signer(data_dir, choice, clock)?.keys()?;
        let (master, _) = master_keys(data_dir, master)?;
        Ok(IssuerPublicKeys {
            master,
            confirmation: keys.confirmation,
        })
    }

    /// Opens the issuer's DB and signer, loads its denominations, and makes sure the schedule's
    /// keys exist ahead.
    pub fn open(config: &IssuerConfig, clock: Arc<dyn Clock>) -> Result<Arc<Self>, IssuerError> {
        // The signer first: an unsafe key store stops the issuer before it touches its DB.
        // Either the signer opened here, or the socket of the one in another process.
        let opened: Result<FileSigner, &Path> = match &config.signer {
            SignerChoice::InProcess(limits) => Ok(FileSigner::open(
                &config.data_dir.join("keys"),
                clock.clone(),
                *limits,
            )?),
            SignerChoice::Socket(path) => Err(path),
        };
        let store = crate::open_store(&config.data_dir, config.store.as_ref(), Role::Issuer)?;
        let spent_shards = open_spent_shards(config, &store)?;
        let (made, sequence) = load_book(&store)?;
        let now = clock.now();
        let signer: Arc<dyn Signer> = match opened {
            Ok(signer) => {
                adopt_keys(&signer, &made, now)?;
                Arc::new(signer)
            }
            Err(path) => SocketSigner::watched(path),
        };
        let keys = signer.keys()?;
        let (master, local_master) = master_keys(&config.data_dir, &config.master)?;
        let (published, book) = load_published(&store, &master)?;
        let pool = BatchVerifier::new(config.pool_threads)
            .map_err(|e| IssuerError::KeyGeneration(e.to_string()))?;
        let committer = Arc::new(Committer::start(store.clone(), config.commit));
        let rotation = Leadership::new(ROTATION_LEASE, &store, LEASE_TTL_MS);
        if rotation.needed() {
            // The first process up makes the keys at once, rather than after a renewal period.
            rotation.renew(&committer, clock.as_ref());
        }
        let state = Arc::new(Self {
            id: config.id,
            committer,
            rotation,
            spent_shards,
            store,
            signer,
            public_keys: IssuerPublicKeys {
                master,
                confirmation: keys.confirmation,
            },
            local_master,
            denominations: RwLock::new(Denominations {
                book,
                published,
                made,
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

    /// The signed denomination set as last published; `None` before the first.
    pub fn published_set(&self) -> Option<Arc<SignedDenominationSet>> {
        self.denominations().published.clone()
    }
}

/// The set stored as published, and its book: taken again only if `master` signed it.
pub(crate) fn load_published(
    store: &Store,
    master: &VerifyingKey,
) -> Result<(Option<Arc<SignedDenominationSet>>, DenominationBook), IssuerError> {
    let Some(set) = denominations::load_published(store)? else {
        return Ok((None, DenominationBook::new()));
    };
    set.verify(master)
        .map_err(IssuerError::StoredSetSignature)?;
    let book = DenominationBook::from_set(set.body());
    Ok((Some(Arc::new(set)), book))
}

/// Every denomination stored (made by the signer, published or not) as a book, with the
/// revocations taken, and the store's count of denomination changes.
pub(crate) fn load_book(store: &Store) -> Result<(DenominationBook, u64), StorageError> {
    let (stored, sequence) = denominations::load_all(store)?;
    let mut book = DenominationBook::new();
    for entry in stored {
        let id = entry.denomination.id();
        if entry.revoked {
            book.revoke(id);
        }
        book.add(entry.denomination);
    }
    Ok((book, sequence))
}

/// The spent set's shard groups of `config`, placed by the bank's shard secret (made the first
/// time); `None` when it has none, once `store` is known not to be sharded.
fn open_spent_shards(
    config: &IssuerConfig,
    store: &Store,
) -> Result<Option<SpentShards>, IssuerError> {
    let shards = &config.spent_shards;
    if shards.groups.is_empty() {
        SpentShards::check_unsharded(store)?;
        return Ok(None);
    }
    let keystore = KeyStore::open(&config.data_dir.join("keys"))?;
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

/// An issuer upgraded in place made its keys before its signer kept a journal: the in-process
/// signer takes over each one still withdrawable (its key file stays where it was). A signer in
/// another process knows only the keys it made, so its issuer starts on fresh ones.
fn adopt_keys(
    signer: &FileSigner,
    book: &DenominationBook,
    now: semper_protocol::time::Timestamp,
) -> Result<(), IssuerError> {
    let known: std::collections::HashSet<DenominationId> = signer
        .counts()?
        .into_iter()
        .map(|count| count.denomination)
        .collect();
    for denomination in book.iter() {
        let id = denomination.id();
        if !known.contains(&id) && !book.is_revoked(&id) && denomination.can_withdraw(now) {
            signer.adopt(denomination)?;
        }
    }
    Ok(())
}
