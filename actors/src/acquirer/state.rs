//! Everything the acquirer holds, shared by its actor, its pool and its committer's replies.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, RwLock};

use semper_protocol::acquirer::check_denomination_set;
use semper_protocol::batch_verifier::BatchVerifier;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::denomination_book::DenominationBook;
use semper_protocol::ids::{BankId, Digest};
use semper_protocol::limits::SPEND_BATCH_COINS_MAX;
use semper_protocol::messages::deposit_answer::{DepositAnswer, SignedDepositAnswer};
use semper_protocol::messages::merchant::DepositResponse;
use semper_protocol::signed::Signed;
use semper_storage::acquirer::issuer_sets;
use semper_storage::commit::{Committer, Transaction};
use semper_storage::{Role, Store};
use tokio::sync::oneshot;

use super::config::{AcquirerConfig, ISSUERS_MAX, TrustedClearing, TrustedIssuer};
use super::error::AcquirerError;
use crate::clock::Clock;
use crate::in_flight::InFlight;
use crate::keystore::KeyStore;
use crate::leader::{LEASE_TTL_MS, Leadership};

/// Name of the bank key in the key store.
pub const BANK_KEY: &str = "bank";

/// The issuers' verified sets, and the one book of all their denominations built from them.
#[derive(Default)]
struct Denominations {
    sets: HashMap<BankId, SignedDenominationSet>,
    book: Arc<DenominationBook>,
}

/// The acquirer's state. Recovered at start from its DB and key store alone.
pub struct AcquirerState {
    /// The acquirer's bank id.
    pub id: BankId,
    /// Its DB.
    pub store: Store,
    /// Its DB's committer: every state change goes through it.
    pub committer: Committer,
    /// Signs spend-check batches and settlement submissions.
    bank_key: SigningKey,
    /// The issuers whose coins it takes.
    pub issuers: HashMap<BankId, TrustedIssuer>,
    /// The clearing house.
    pub clearing: TrustedClearing,
    /// Denominations of every trusted issuer.
    denominations: RwLock<Denominations>,
    /// The crypto pool: batch verification, signing, and every blocking read.
    pub pool: BatchVerifier,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Requests in progress.
    pub in_flight: InFlight,
    /// The config it was opened with.
    pub config: AcquirerConfig,
    /// The outbox lease: only its holder runs the outbox when several gateways share the store.
    pub outbox_lease: Leadership,
}

/// The name of the acquirer's outbox lease.
pub const OUTBOX_LEASE: &str = "acquirer.outbox";

impl AcquirerState {
    /// Creates the bank key in the key store under `data_dir` if it is not there yet, and returns
    /// its public half: what the issuers and the clearing house are configured with before the
    /// acquirer first starts.
    pub fn provision(data_dir: &Path) -> Result<VerifyingKey, AcquirerError> {
        let keystore = KeyStore::open(&data_dir.join("keys"))?;
        let key = keystore.signing_key(BANK_KEY, &mut rand::rng())?;
        Ok(*key.verifying_key())
    }

    /// Opens the acquirer's key store and DB, and loads the issuers' sets stored at the last
    /// refresh, checking each again against the config.
    pub fn open(
        config: &AcquirerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, AcquirerError> {
        if config.issuers.len() > ISSUERS_MAX {
            return Err(AcquirerError::Config(format!(
                "{} issuers, more than {ISSUERS_MAX}",
                config.issuers.len()
            )));
        }
        // Keys first: an unsafe key store stops the acquirer before it touches its DB.
        let keystore = KeyStore::open(&config.data_dir.join("keys"))?;
        let bank_key = keystore.signing_key(BANK_KEY, &mut rand::rng())?;
        let store = crate::open_store(&config.data_dir, config.store.as_ref(), Role::Acquirer)?;
        let pool = BatchVerifier::new(config.pool_threads)
            .map_err(|e| AcquirerError::Config(e.to_string()))?;
        let mut config = config.clone();
        config.batch_max_coins = config.batch_max_coins.clamp(1, SPEND_BATCH_COINS_MAX);
        let committer = Committer::start(store.clone(), config.commit);
        let outbox_lease = Leadership::new(OUTBOX_LEASE, &store, LEASE_TTL_MS);
        if outbox_lease.needed() {
            // The first gateway up runs the outbox at once, rather than after a renewal period.
            outbox_lease.renew(&committer, clock.as_ref());
        }
        let state = Arc::new(Self {
            id: config.id,
            committer,
            outbox_lease,
            store,
            bank_key,
            issuers: config.issuers.iter().map(|i| (i.id, *i)).collect(),
            clearing: config.clearing,
            denominations: RwLock::new(Denominations::default()),
            pool,
            clock,
            in_flight: InFlight::new(config.in_flight_max),
            config,
        });
        for set in issuer_sets::load_all(&state.store, ISSUERS_MAX)? {
            let issuer = set.body().fields().issuer;
            match state.check_set(&set) {
                Ok(()) => state.install_set(set),
                // An issuer dropped from the config, or whose master key changed: its coins are
                // refused until a refresh brings a set that verifies.
                Err(error) => tracing::warn!(%issuer, code = error.code(), "stored set not used"),
            }
        }
        Ok(state)
    }

    /// The public half of the bank key.
    pub fn bank_public_key(&self) -> &VerifyingKey {
        self.bank_key.verifying_key()
    }

    /// The bank key, for signing on the pool.
    pub(crate) fn bank_key(&self) -> &SigningKey {
        &self.bank_key
    }

    /// Signs the answer to a merchant's deposit with the bank key, so that no one on the path can
    /// turn a refusal into "accepted". `request_digest` is the signed request's body digest.
    pub fn sign_deposit_answer(
        &self,
        request_digest: Digest,
        response: DepositResponse,
    ) -> SignedDepositAnswer {
        Signed::sign(
            DepositAnswer::new(self.id, request_digest, response),
            &self.bank_key,
        )
    }

    /// The book of every trusted issuer's denominations, as of now.
    pub fn denominations(&self) -> Arc<DenominationBook> {
        self.read_denominations().book.clone()
    }

    /// Checks that `set` is a trusted issuer's, signed by its master key.
    pub(crate) fn check_set(&self, set: &SignedDenominationSet) -> Result<(), AcquirerError> {
        let issuer = set.body().fields().issuer;
        let trusted = self
            .issuers
            .get(&issuer)
            .ok_or(AcquirerError::UnknownIssuer(issuer))?;
        Ok(check_denomination_set(
            set,
            trusted.id,
            &trusted.master_key,
        )?)
    }

    /// Takes a checked set in place of its issuer's previous one, and rebuilds the book.
    pub(crate) fn install_set(&self, set: SignedDenominationSet) {
        let mut denominations = self
            .denominations
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        denominations.sets.insert(set.body().fields().issuer, set);
        let mut book = DenominationBook::new();
        for set in denominations.sets.values() {
            book.add_set(set.body());
        }
        denominations.book = Arc::new(book);
    }

    /// A poisoned lock only means a panic elsewhere: the book is replaced whole, so it is
    /// consistent.
    fn read_denominations(&self) -> std::sync::RwLockReadGuard<'_, Denominations> {
        self.denominations
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` on the pool; the future resolves with its result. How the actor and its tasks
    /// hand off crypto and blocking reads without blocking their own thread.
    pub(crate) fn on_pool<T, F>(
        self: &Arc<Self>,
        work: F,
    ) -> impl Future<Output = Result<T, AcquirerError>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&AcquirerState) -> T + Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        let state = self.clone();
        self.pool.spawn(move || {
            // The caller may have stopped waiting; then no one needs the result.
            let _ = sender.send(work(&state));
        });
        async move { receiver.await.map_err(|_| AcquirerError::Stopped) }
    }

    /// Queues `transaction` on the committer; the future resolves once it is durable.
    pub(crate) fn commit<T: Transaction>(
        &self,
        transaction: T,
    ) -> impl Future<Output = Result<T::Output, AcquirerError>> + use<T> {
        let (sender, receiver) = oneshot::channel();
        self.committer.submit_or_reply(transaction, move |result| {
            let _ = sender.send(result);
        });
        async move {
            receiver
                .await
                .map_err(|_| AcquirerError::Stopped)?
                .map_err(AcquirerError::from)
        }
    }
}
