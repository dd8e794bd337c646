//! The file backend: keys in the owner-only key store, counts in the journal, rules enforced
//! here whoever calls. It runs inside the issuer (the embedded default) or inside `semper
//! signer`, the same code either way.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use rayon::prelude::*;
use semper_protocol::crypto::blind_rsa::{BlindSignature, BlindedMessage, DenominationSecretKey};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::{
    Denomination, DenominationFields, DenominationSet, SignedDenominationSet,
};
use semper_protocol::ids::DenominationId;
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendConfirmation};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;

use super::journal::{Journal, Record};
use super::rate::RateBound;
use super::{DenominationSpec, KeyCount, Signer, SignerError, SignerKeys};
use crate::clock::Clock;
use crate::keystore::KeyStore;
use crate::metrics::{SIGNER_KEYS_DESTROYED, SIGNER_SIGNATURES};

/// Key-store names of the Ed25519 keys.
const MASTER_KEY: &str = "master";
const CONFIRMATION_KEY: &str = "confirmation";
/// The journal's file, in the key directory: it moves with the keys.
const JOURNAL_FILE: &str = "signer.journal";

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
struct Key {
    denomination: Denomination,
    /// `None` once destroyed.
    secret: Option<Arc<DenominationSecretKey>>,
    revoked: bool,
    /// Its file is gone and its `Destroyed` record written.
    destroyed: bool,
    signatures: AtomicU64,
}

/// The file-backed signer.
pub struct FileSigner {
    keystore: KeyStore,
    journal: Journal,
    keys: RwLock<HashMap<DenominationId, Key>>,
    master: SigningKey,
    confirmation: SigningKey,
    clock: Arc<dyn Clock>,
    rate: Mutex<RateBound>,
    limits: SignerLimits,
    /// Serializes key creation, revocation and destruction (each a journal record and a file).
    lifecycle: Mutex<()>,
}

impl FileSigner {
    /// Opens the signer of the key directory `dir` (created owner-only), making its Ed25519 keys
    /// the first time, and replays its journal.
    pub fn open(
        dir: &Path,
        clock: Arc<dyn Clock>,
        limits: SignerLimits,
    ) -> Result<Self, SignerError> {
        let storage = |error: &dyn std::fmt::Display| SignerError::Storage(error.to_string());
        let keystore = KeyStore::open(dir)?;
        let mut rng = rand::rng();
        let master = keystore.signing_key(MASTER_KEY, &mut rng)?;
        let confirmation = keystore.signing_key(CONFIRMATION_KEY, &mut rng)?;
        let (journal, records) = Journal::open(&dir.join(JOURNAL_FILE)).map_err(|e| storage(&e))?;
        let mut keys: HashMap<DenominationId, Key> = HashMap::new();
        for record in records {
            match record {
                Record::Created(denomination) => {
                    keys.insert(
                        denomination.id(),
                        Key {
                            denomination,
                            secret: None,
                            revoked: false,
                            destroyed: false,
                            signatures: AtomicU64::new(0),
                        },
                    );
                }
                Record::Signed(id, n) => {
                    if let Some(key) = keys.get_mut(&id) {
                        *key.signatures.get_mut() += u64::from(n);
                    }
                }
                // A revocation of a key never made here names nothing that could sign.
                Record::Revoked(id) => {
                    if let Some(key) = keys.get_mut(&id) {
                        key.revoked = true;
                    }
                }
                Record::Destroyed(id) => {
                    if let Some(key) = keys.get_mut(&id) {
                        key.destroyed = true;
                    }
                }
            }
        }
        let signer = Self {
            keystore,
            journal,
            keys: RwLock::new(HashMap::new()),
            master,
            confirmation,
            clock,
            rate: Mutex::new(RateBound::new(
                limits.signatures_per_s,
                limits.signatures_burst,
            )),
            limits,
            lifecycle: Mutex::new(()),
        };
        // Load the secret of every key that may still sign; destroyed ones stay destroyed.
        for (id, key) in keys.iter_mut() {
            if key.revoked || key.destroyed {
                continue;
            }
            key.secret = match signer.keystore.denomination_key(id) {
                Ok(secret) => Some(Arc::new(secret)),
                Err(crate::keystore::KeyStoreError::Missing { .. }) => None,
                Err(error) => return Err(error.into()),
            };
        }
        for (id, key) in &keys {
            metrics::counter!(SIGNER_SIGNATURES, "denomination" => id.to_string())
                .absolute(key.signatures.load(Ordering::Relaxed));
        }
        *signer.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        signer.destroy_closed(signer.clock.now())?;
        Ok(signer)
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
            .keystore
            .denomination_key(&id)
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        self.record_created(denomination, secret)?;
        Ok(())
    }

    /// Journals a key as made (or taken over), then holds it: a key signs only once its record
    /// is durable. The caller holds the lifecycle lock.
    fn record_created(
        &self,
        denomination: &Denomination,
        secret: DenominationSecretKey,
    ) -> Result<(), SignerError> {
        self.journal
            .append(&[Record::Created(denomination.clone())])
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        self.write_keys().insert(
            denomination.id(),
            Key {
                denomination: denomination.clone(),
                secret: Some(Arc::new(secret)),
                revoked: false,
                destroyed: false,
                signatures: AtomicU64::new(0),
            },
        );
        Ok(())
    }

    /// Destroys the key of every denomination whose withdraw window has closed at `now`: the
    /// file is overwritten and removed, the key dropped from memory (OpenSSL clears a private
    /// key's numbers when it frees them), and a `Destroyed` record appended. Verification needs
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
    /// then its file, then the record. Called with the lifecycle lock held.
    fn destroy(&self, id: &DenominationId) -> Result<(), SignerError> {
        if let Some(key) = self.write_keys().get_mut(id) {
            key.secret = None;
        }
        self.keystore
            .destroy_denomination_key(id)
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        self.journal
            .append(&[Record::Destroyed(*id)])
            .map_err(|e| SignerError::Storage(e.to_string()))?;
        if let Some(key) = self.write_keys().get_mut(id) {
            key.destroyed = true;
        }
        metrics::counter!(SIGNER_KEYS_DESTROYED).increment(1);
        Ok(())
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, HashMap<DenominationId, Key>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_keys(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<DenominationId, Key>> {
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

impl Signer for FileSigner {
    fn keys(&self) -> Result<SignerKeys, SignerError> {
        Ok(SignerKeys {
            master: *self.master.verifying_key(),
            confirmation: *self.confirmation.verifying_key(),
        })
    }

    fn create_denomination(&self, spec: &DenominationSpec) -> Result<Denomination, SignerError> {
        let now = self.clock.now();
        self.destroy_closed(now)?;
        self.check_spec(spec, now)?;
        let secret = DenominationSecretKey::generate(spec.key_size)
            .map_err(|e| SignerError::Storage(format!("key generation: {e}")))?;
        let denomination = Denomination::new(DenominationFields {
            issuer: spec.issuer,
            value: spec.value,
            public_key: secret.public_key().clone(),
            valid_from: spec.valid_from,
            withdraw_until: spec.withdraw_until,
            deposit_until: spec.deposit_until,
            retain_until: spec.retain_until,
            fees: spec.fees,
        })
        .map_err(|e| SignerError::Refused(e.to_string()))?;
        let id = denomination.id();
        let _one = self.lifecycle.lock().unwrap_or_else(|p| p.into_inner());
        // The key file before its record: a crash in between leaves a file no record names,
        // never a record without its key.
        self.keystore
            .store_denomination_key(&id, &secret)
            .map_err(|e| SignerError::Storage(e.to_string()))?;
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
                secret
                    .blind_sign(blinded)
                    .map_err(|error| SignerError::BadBlindedMessage {
                        index: index as u32,
                        error,
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
        Ok(Signed::sign(confirmation, &self.confirmation))
    }

    fn sign_set(&self, set: DenominationSet) -> Result<SignedDenominationSet, SignerError> {
        Ok(Signed::sign(set, &self.master))
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
