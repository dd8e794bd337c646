//! Leadership: which of several processes serving one role over a shared store runs a job that
//! must run in one place at a time (the clearing house's cut-offs, the acquirer's outbox, the
//! issuer's key rotation). It rests on a lease record in the store
//! ([`semper_storage::lease`], which says why a record and not an advisory lock): each process
//! tries to take or renew it every third of its time to live, runs the job only while it
//! holds it, and fences the job's writes with its tenure, so a process that lost the lease
//! without noticing writes nothing.
//!
//! A store with one writer (RocksDB) has no one to share with: its process always leads, and
//! its jobs carry no fence.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use semper_storage::Store;
use semper_storage::commit::Committer;
use semper_storage::lease::{Fence, NotHolder, TakeLease};

use crate::clock::Clock;
use crate::metrics::LEASE_HELD;

/// How long a lease lasts without a renewal, by default: another process takes over about this
/// long after its holder died (plus up to a third of it, its own renewal period).
pub const LEASE_TTL_MS: u64 = 3_000;

/// One process's view of one lease.
pub struct Leadership {
    name: &'static str,
    /// This process, as the lease records it: drawn at start.
    holder: u64,
    ttl: Duration,
    /// Whether other processes share the store; if not, this one always leads.
    shared: bool,
    /// The tenure held, and until when by this process's monotonic clock (measured from before
    /// the take was sent, so never later than the record's expiry).
    held: Mutex<Option<(Fence, Instant)>>,
}

impl Leadership {
    /// The lease `name` over `store`, lasting `ttl_ms` without a renewal.
    pub fn new(name: &'static str, store: &Store, ttl_ms: u64) -> Self {
        Self {
            name,
            holder: rand::random(),
            ttl: Duration::from_millis(ttl_ms.max(3)),
            shared: store.shared(),
            held: Mutex::new(None),
        }
    }

    /// Whether the lease must be taken at all: only over a store other processes share.
    pub fn needed(&self) -> bool {
        self.shared
    }

    /// How often the lease is taken or renewed: a third of its time to live.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// The tenure to fence a job's writes with: `Ok(None)` when the store has one writer,
    /// `Ok(Some(..))` while this process holds the lease, and `Err` while it does not.
    pub fn fence(&self) -> Result<Option<Fence>, NotHolder> {
        if !self.shared {
            return Ok(None);
        }
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        match &*held {
            Some((fence, until)) if Instant::now() < *until => Ok(Some(fence.clone())),
            _ => Err(NotHolder { name: self.name }),
        }
    }

    /// The tenure this process holds now, by its generation (0 when the store has one writer),
    /// or `None` while it does not lead: a job that must run once per tenure compares it.
    pub fn tenure(&self) -> Option<u64> {
        match self.fence() {
            Ok(None) => Some(0),
            Ok(Some(fence)) => Some(fence.generation),
            Err(_) => None,
        }
    }

    /// Whether this process runs the job now.
    pub fn leads(&self) -> bool {
        self.fence().is_ok()
    }

    /// Takes or renews the lease through `committer`, waiting for the answer. Blocks: call it on
    /// a pool thread.
    pub fn renew(&self, committer: &Committer, clock: &dyn Clock) {
        let started = Instant::now();
        let take = TakeLease {
            name: self.name,
            holder: self.holder,
            now_ms: clock.now().unix_ms(),
            ttl_ms: u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX),
        };
        let answer = committer.execute(take);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let before = held.as_ref().map(|(fence, _)| fence.generation);
        match answer {
            Ok(Some(fence)) => {
                if before != Some(fence.generation) {
                    tracing::info!(
                        lease = self.name,
                        generation = fence.generation,
                        "lease taken"
                    );
                }
                *held = Some((fence, started + self.ttl));
            }
            Ok(None) => {
                if before.is_some() {
                    tracing::warn!(lease = self.name, "lease lost to another process");
                }
                *held = None;
            }
            // The store is unreachable: the tenure lasts until its deadline, and then ends by
            // itself (`fence` checks it), while another process may take over.
            Err(error) => {
                tracing::warn!(lease = self.name, code = error.code(), %error, "lease not renewed");
            }
        }
        let leads = held
            .as_ref()
            .is_some_and(|(_, until)| Instant::now() < *until);
        metrics::gauge!(LEASE_HELD, "lease" => self.name).set(if leads { 1.0 } else { 0.0 });
    }
}
