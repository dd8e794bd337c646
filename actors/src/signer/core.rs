//! The signer's rules over any key backend: a denomination key signs only inside its withdraw
//! window and never after its revocation, at a bounded rate, every signature counted in the
//! journal before it leaves, and keys destroyed once their window has closed. The keys
//! themselves live in a [`KeyBackend`]: files ([`super::file`]) or a PKCS#11 token
//! ([`super::pkcs11`]). It runs inside the issuer (the embedded default) or inside `semper
//! signer`, the same code either way.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use rayon::prelude::*;
use semper_protocol::codec::Encode;
use semper_protocol::crypto::blind_rsa::{BlindSignature, BlindedMessage};
use semper_protocol::denomination::{Denomination, DenominationFields};
use semper_protocol::ids::DenominationId;
use semper_protocol::messages::refund::{RefundConfirmation, SignedRefundConfirmation};
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendConfirmation};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;

use super::backend::KeyBackend;
use super::journal::{Journal, Record, tally};
use super::rate::RateBound;
use super::{DenominationSpec, KeyCount, Signer, SignerError, SignerKeys};
use crate::clock::Clock;
use crate::metrics::{SIGNER_KEYS_DESTROYED, SIGNER_SIGNATURES};

/// The signer's own bounds, whatever the issuer asks.
#[derive(Clone, Copy, Debug)]
pub struct SignerLimits {
    /// Blind signatures a second, sustained.
    pub signatures_per_s: u32,
    /// Blind signatures at once, from a full bucket.
    pub signatures_burst: u32,
    /// Longest withdraw window a new key may have, ms.
    pub window_max_ms: u64,
    /// Furthest ahead a new key's window may start, ms.
    pub ahead_max_ms: u64,
}

impl Default for SignerLimits {
    /// Far above what two cores sign (about 2,000 RSA-2048 signatures a second), so the
    /// embedded default is never slowed; a deployment sets its own.
    fn default() -> Self {
        Self {
            signatures_per_s: 50_000,
            signatures_burst: 50_000,
            window_max_ms: 31 * 24 * 3_600_000,
            ahead_max_ms: 62 * 24 * 3_600_000,
        }
    }
}

/// A denomination key as the signer knows it.
struct Key<S> {
    denomination: Denomination,
    /// `None` once destroyed.
    secret: Option<S>,
    revoked: bool,
    /// Its file is gone and its `Destroyed` record written.
    destroyed: bool,
    signatures: AtomicU64,
}

/// The signer: its rules and journal over the keys of backend `B`.
pub struct KeySigner<B: KeyBackend> {
    backend: B,
    journal: Journal,
    keys: RwLock<HashMap<DenominationId, Key<B::Secret>>>,
    clock: Arc<dyn Clock>,
    rate: Mutex<RateBound>,
    limits: SignerLimits,
    /// Serializes key creation, revocation and destruction (each a journal record and a key).
    lifecycle: Mutex<()>,
}

impl<B: KeyBackend> KeySigner<B> {
    /// The signer of `backend`'s keys, with its journal at `journal` (created owner-only): the
    /// journal is replayed, and the key of every denomination that may still sign is loaded.
    pub fn with_backend(
        backend: B,
        journal: &Path,
        clock: Arc<dyn Clock>,
        limits: SignerLimits,
    ) -> Result<Self, SignerError> {
        let (journal, records) =
            Journal::open(journal).map_err(|e| SignerError::Storage(e.to_string()))?;
        let mut keys: HashMap<DenominationId, Key<B::Secret>> = tally(records)
            .into_iter()
            .map(|key| {
                let id = key.denomination.id();
                let key = Key {
                    denomination: key.denomination,
                    secret: None,
                    revoked: key.revoked,
                    destroyed: key.destroyed,
                    signatures: AtomicU64::new(key.signatures),
                };
                (id, key)
            })
            .collect();
        // Load the secret of every key that may still sign; destroyed ones stay destroyed.
        for (id, key) in keys.iter_mut() {
            if key.revoked || key.destroyed {
                continue;
            }
            key.secret = backend.load(id, key.denomination.fields().public_key.clone())?;
        }
        for (id, key) in &keys {
            metrics::counter!(SIGNER_SIGNATURES, "denomination" => id.to_string())
                .absolute(key.signatures.load(Ordering::Relaxed));
        }
        let signer = Self {
            backend,
            journal,
            keys: RwLock::new(keys),
            clock,
            rate: Mutex::new(RateBound::new(
                limits.signatures_per_s,
                limits.signatures_burst,
            )),
            limits,
            lifecycle: Mutex::new(()),
        };
        signer.destroy_closed(signer.clock.now())?;
        Ok(signer)
    }

    /// The backend that holds the keys.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Takes over the key of a denomination made before the signer kept a journal (an issuer
    /// upgraded in place): its key file stays, a `Created` record is added. Only the issuer that
    /// embeds its signer calls this; over the socket a signer knows only the keys it made.
    pub fn adopt(&self, denomination: &Denomination) -> Result<(), SignerError> {
        let id = denomination.id();
        if self.read_keys().contains_key(&id) {
            return Ok(());
        }
        let _one = self.lifecycle.lock().unwrap_or_else(|p| p.into_inner());
        let secret = self
            .backend
            .load(&id, denomination.fields().public_key.clone())?
            .ok_or_else(|| SignerError::Storage(format!("no key for denomination {id}")))?;
        self.record_created(denomination, secret)?;
        Ok(())
    }

    /// Journals a key as made (or taken over), then holds it: a key signs only once its record
    /// is durable. The caller holds the lifecycle lock.
    fn record_created(
        &self,
        denomination: &Denomination,
        secret: B::Secret,
    ) -> Result<(), SignerError> {
        self.journal
            .append(&[Record::Created(denomination.clone())])
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        self.write_keys().insert(
            denomination.id(),
            Key {
                denomination: denomination.clone(),
                secret: Some(secret),
                revoked: false,
                destroyed: false,
                signatures: AtomicU64::new(0),
            },
        );
        Ok(())
    }

    /// Destroys the key of every denomination whose withdraw window has closed at `now`: the
    /// backend destroys it for good (a file overwritten and removed, a token object destroyed),
    /// the signer drops it, and a `Destroyed` record is appended. Verification needs
    /// only the public key, which the denomination carries.
    pub fn destroy_closed(&self, now: Timestamp) -> Result<usize, SignerError> {
        let closed: Vec<DenominationId> = self
            .read_keys()
            .iter()
            .filter(|(_, key)| !key.destroyed)
            .filter(|(_, key)| key.revoked || key.denomination.fields().withdraw_until <= now)
            .map(|(id, _)| *id)
            .collect();
        if closed.is_empty() {
            return Ok(0);
        }
        let _one = self.lifecycle.lock().unwrap_or_else(|p| p.into_inner());
        for id in &closed {
            self.destroy(id)?;
            tracing::info!(denomination = %id, "signer: key destroyed, its window has closed");
        }
        Ok(closed.len())
    }

    /// Destroys one key: out of memory first (no signature can start with it from here on),
    /// then in the backend, then the record. Called with the lifecycle lock held.
    fn destroy(&self, id: &DenominationId) -> Result<(), SignerError> {
        if let Some(key) = self.write_keys().get_mut(id) {
            key.secret = None;
        }
        self.backend.destroy(id)?;
        self.journal
            .append(&[Record::Destroyed(*id)])
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        if let Some(key) = self.write_keys().get_mut(id) {
            key.destroyed = true;
        }
        metrics::counter!(SIGNER_KEYS_DESTROYED).increment(1);
        Ok(())
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, HashMap<DenominationId, Key<B::Secret>>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_keys(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<DenominationId, Key<B::Secret>>> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks the signer's own bounds on a new key's windows.
    fn check_spec(&self, spec: &DenominationSpec, now: Timestamp) -> Result<(), SignerError> {
        let window_ms = spec
            .withdraw_until
            .unix_ms()
            .saturating_sub(spec.valid_from.unix_ms());
        if window_ms > self.limits.window_max_ms {
            return Err(SignerError::Refused(format!(
                "a withdraw window of {window_ms} ms is longer than the signer allows ({} ms)",
                self.limits.window_max_ms
            )));
        }
        if spec.valid_from > now.plus_ms(self.limits.ahead_max_ms) {
            return Err(SignerError::Refused(
                "the window starts further ahead than the signer allows".into(),
            ));
        }
        if spec.withdraw_until <= now {
            return Err(SignerError::Refused("the window has already closed".into()));
        }
        Ok(())
    }
}

impl<B: KeyBackend> Signer for KeySigner<B> {
    fn keys(&self) -> Result<SignerKeys, SignerError> {
        Ok(self.backend.keys())
    }

    fn create_denomination(&self, spec: &DenominationSpec) -> Result<Denomination, SignerError> {
        let now = self.clock.now();
        self.destroy_closed(now)?;
        self.check_spec(spec, now)?;
        let (public_key, secret) = self.backend.generate(spec.key_size)?;
        let denomination = Denomination::new(DenominationFields {
            issuer: spec.issuer,
            value: spec.value,
            public_key,
            valid_from: spec.valid_from,
            withdraw_until: spec.withdraw_until,
            deposit_until: spec.deposit_until,
            retain_until: spec.retain_until,
            fees: spec.fees,
        })
        .map_err(|e| SignerError::Refused(e.to_string()))?;
        let id = denomination.id();
        let _one = self.lifecycle.lock().unwrap_or_else(|p| p.into_inner());
        // The key kept before its record: a crash in between leaves a key no record names,
        // never a record without its key.
        self.backend.keep(&id, &secret)?;
        self.record_created(&denomination, secret)?;
        Ok(denomination)
    }

    fn blind_sign(
        &self,
        coins: &[(DenominationId, &BlindedMessage)],
    ) -> Result<Vec<BlindSignature>, SignerError> {
        let now = self.clock.now();
        if self
            .read_keys()
            .values()
            .any(|key| !key.destroyed && key.denomination.fields().withdraw_until <= now)
        {
            self.destroy_closed(now)?;
        }
        let keys = self.read_keys();
        let mut secrets = Vec::with_capacity(coins.len());
        let mut per_key: Vec<(DenominationId, u32)> = Vec::new();
        for (index, (id, _)) in coins.iter().enumerate() {
            let index = index as u32;
            let key = keys.get(id).ok_or(SignerError::UnknownKey { index })?;
            if key.revoked {
                return Err(SignerError::Revoked { index });
            }
            if !key.denomination.can_withdraw(now) {
                return Err(SignerError::OutsideWindow { index });
            }
            let secret = key
                .secret
                .as_ref()
                .ok_or(SignerError::UnknownKey { index })?;
            secrets.push(secret.clone());
            match per_key.iter_mut().find(|(counted, _)| counted == id) {
                Some((_, n)) => *n += 1,
                None => per_key.push((*id, 1)),
            }
        }
        let admitted = self
            .rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(coins.len(), Instant::now());
        if !admitted {
            return Err(SignerError::RateLimited);
        }
        let signatures = coins
            .par_iter()
            .zip(secrets.par_iter())
            .enumerate()
            .map(|(index, ((_, blinded), secret))| {
                self.backend.blind_sign(secret, blinded)?.map_err(|error| {
                    SignerError::BadBlindedMessage {
                        index: index as u32,
                        error,
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Counted durably before any signature leaves.
        let records: Vec<Record> = per_key
            .iter()
            .map(|(id, n)| Record::Signed(*id, *n))
            .collect();
        self.journal
            .append(&records)
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        for (id, n) in per_key {
            if let Some(key) = keys.get(&id) {
                key.signatures.fetch_add(u64::from(n), Ordering::Relaxed);
            }
            metrics::counter!(SIGNER_SIGNATURES, "denomination" => id.to_string())
                .increment(u64::from(n));
        }
        Ok(signatures)
    }

    fn sign_confirmation(
        &self,
        confirmation: SpendConfirmation,
    ) -> Result<SignedSpendConfirmation, SignerError> {
        let signature = self
            .backend
            .sign_confirmation_bytes(&confirmation.to_bytes())?;
        Ok(Signed::from_parts(confirmation, signature))
    }

    fn sign_refund_confirmation(
        &self,
        confirmation: RefundConfirmation,
    ) -> Result<SignedRefundConfirmation, SignerError> {
        // The confirmation key, as for a spend: the two messages' domain tags keep them apart.
        let signature = self
            .backend
            .sign_confirmation_bytes(&confirmation.to_bytes())?;
        Ok(Signed::from_parts(confirmation, signature))
    }

    fn revoke(&self, denomination: DenominationId) -> Result<(), SignerError> {
        let _one = self.lifecycle.lock().unwrap_or_else(|p| p.into_inner());
        let known = match self.read_keys().get(&denomination) {
            Some(key) if key.revoked => return Ok(()),
            Some(key) => !key.destroyed,
            None => false,
        };
        // Durable first: a restart must not bring the key back.
        self.journal
            .append(&[Record::Revoked(denomination)])
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        if let Some(key) = self.write_keys().get_mut(&denomination) {
            key.revoked = true;
            key.secret = None;
        }
        if known {
            self.destroy(&denomination)?;
        }
        Ok(())
    }

    fn destroy_closed(&self, now: Timestamp) -> Result<usize, SignerError> {
        KeySigner::destroy_closed(self, now)
    }

    fn counts(&self) -> Result<Vec<KeyCount>, SignerError> {
        let mut counts: Vec<KeyCount> = self
            .read_keys()
            .iter()
            .map(|(id, key)| KeyCount {
                denomination: *id,
                signatures: key.signatures.load(Ordering::Relaxed),
                revoked: key.revoked,
                destroyed: key.destroyed,
            })
            .collect();
        counts.sort_by_key(|count| count.denomination);
        Ok(counts)
    }
}
