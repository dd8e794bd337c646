//! Everything the clearing house holds, shared by its actor, its pool and its tasks.

use std::path::Path;
use std::sync::Arc;

use semper_protocol::batch_verifier::BatchVerifier;
use semper_protocol::clearing::Participants;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::ids::BankId;
use semper_storage::clearing::{OpenCycle, OpenFirstCycle};
use semper_storage::commit::{Committer, Transaction};
use semper_storage::{Role, Store};
use tokio::sync::oneshot;

use super::config::ClearingConfig;
use super::error::ClearingError;
use crate::clock::Clock;
use crate::in_flight::InFlight;
use crate::keystore::KeyStore;
use crate::leader::{LEASE_TTL_MS, Leadership};
use crate::retry::RetryConfig;

/// The name of the clearing house's key in its key store.
const CLEARING_KEY: &str = "clearing";

/// The clearing house's state. Recovered at start from its DB and key store alone.
pub struct ClearingState {
    /// The clearing house's bank id.
    pub id: BankId,
    /// Its DB.
    pub store: Store,
    /// Its DB's committer: every state change goes through it.
    pub committer: Committer,
    /// Signs receipts and reports.
    pub key: SigningKey,
    /// The registered banks.
    pub participants: Participants,
    /// The crypto pool.
    pub pool: BatchVerifier,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Requests in progress.
    pub in_flight: InFlight,
    /// Cut a cycle this long after it opened, once it has a submission.
    pub cycle_max_ms: u64,
    /// Cut a cycle once it has this many submissions.
    pub cycle_max_submissions: u64,
    /// How often the timer looks at the open cycle.
    pub cycle_check_ms: u64,
    /// Retries of report deliveries.
    pub delivery: RetryConfig,
    /// The cut-off lease: only its holder cuts cycles when several processes share the store.
    pub cycles: Leadership,
}

/// The name of the clearing house's cut-off lease.
pub const CYCLES_LEASE: &str = "clearing.cycles";

impl ClearingState {
    /// Creates the clearing house's signing key in the key store under `data_dir` if it is not
    /// there yet, and returns its public half, before the clearing house first starts.
    pub fn provision(data_dir: &Path) -> Result<VerifyingKey, ClearingError> {
        let keystore = KeyStore::open(&data_dir.join("keys"))?;
        let key = keystore.signing_key(CLEARING_KEY, &mut rand::rng())?;
        Ok(*key.verifying_key())
    }

    /// Opens the clearing house's key store and DB, and opens its first cycle if it has none.
    pub fn open(
        config: &ClearingConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, ClearingError> {
        let participants = Participants::new(config.participants.iter().cloned())?;
        // Keys first: an unsafe key store stops the clearing house before it touches its DB.
        let keystore = KeyStore::open(&config.data_dir.join("keys"))?;
        let key = keystore.signing_key(CLEARING_KEY, &mut rand::rng())?;
        let store = crate::open_store(&config.data_dir, config.store.as_ref(), Role::Clearing)?;
        let committer = Committer::start(store.clone(), config.commit);
        committer.execute(OpenFirstCycle {
            clearing: config.id,
            at: clock.now(),
        })?;
        let pool = BatchVerifier::new(config.pool_threads)
            .map_err(|e| ClearingError::Pool(e.to_string()))?;
        let cycles = Leadership::new(CYCLES_LEASE, &store, LEASE_TTL_MS);
        if cycles.needed() {
            // The first process up leads at once, rather than after a renewal period.
            cycles.renew(&committer, clock.as_ref());
        }
        Ok(Arc::new(Self {
            id: config.id,
            store,
            committer,
            key,
            participants,
            pool,
            clock,
            in_flight: InFlight::new(config.in_flight_max),
            cycle_max_ms: config.cycle_max_ms,
            cycle_max_submissions: config.cycle_max_submissions,
            cycle_check_ms: config.cycle_check_ms,
            delivery: config.delivery,
            cycles,
        }))
    }

    /// Runs `work` on the pool; the caller awaits the answer without blocking its thread.
    pub async fn on_pool<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&ClearingState) -> T + Send + 'static,
    ) -> Result<T, ClearingError> {
        let (sender, receiver) = oneshot::channel();
        let state = self.clone();
        self.pool.spawn(move || {
            // The caller may have given up waiting; then no one needs the answer.
            let _ = sender.send(work(&state));
        });
        receiver.await.map_err(|_| ClearingError::Stopped)
    }

    /// Commits `transaction`; the caller awaits its output, durable, without blocking its thread.
    pub async fn commit<T: Transaction>(&self, transaction: T) -> Result<T::Output, ClearingError> {
        let (sender, receiver) = oneshot::channel();
        self.committer.submit_or_reply(transaction, move |result| {
            let _ = sender.send(result);
        });
        Ok(receiver.await.map_err(|_| ClearingError::Stopped)??)
    }

    /// The open cycle, read on the pool.
    pub async fn open_cycle(self: &Arc<Self>) -> Result<OpenCycle, ClearingError> {
        let open = self
            .on_pool(|state| semper_storage::clearing::open_cycle(&state.store))
            .await??;
        // Opened at start, and only ever replaced: a DB without one was changed by hand.
        open.ok_or_else(|| {
            ClearingError::Storage(semper_storage::StorageError::Corrupt {
                column: "cycles",
                reason: "no open cycle".into(),
            })
        })
    }
}
