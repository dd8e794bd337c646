//! The issuer's master key, kept offline: what `semper offline` does on a machine with no
//! network. The master key signs denomination sets (and, through them, revocations); the online
//! issuer holds only its public half and publishes only sets signed with it.
//!
//! A key directory holds the key (`master.ed25519`, owner-only, as every key file) and the last
//! set signed with it (`last-signed.set`), against which the next one is checked
//! ([`semper_protocol::set_succession`]): never an older set, never one that drops a denomination
//! or undoes a revocation. The embedded default keeps such a directory beside its issuer and
//! signs its own sets through this same code (`issuer::lifecycle::publish_locally`).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use semper_protocol::codec::{Decode, Encode};
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::{
    DenominationSet, DenominationSetFields, SignedDenominationSet,
};
use semper_protocol::ids::DenominationId;
use semper_protocol::set_succession::{SuccessionRefusal, check_successor};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;

use crate::keystore::{KeyStore, KeyStoreError, io_error, write_secret};

/// Key-store name of the master key.
const MASTER_KEY: &str = "master";
/// The last set signed, in its canonical encoding.
const LAST_SIGNED_FILE: &str = "last-signed.set";
/// The largest record read: a set of the most denominations, RSA-3072 keys, is under 300 KiB.
const RECORD_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Why the offline tool refused or failed. Each variant has a stable [`OfflineError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfflineError {
    /// The directory holds no master key.
    #[error("{dir} holds no master key: make one with `semper offline init --dir {dir}`")]
    NoKey {
        /// The key directory.
        dir: String,
    },
    /// `init` found a master key already: it is never replaced.
    #[error("{dir} already holds a master key; it is never replaced")]
    KeyExists {
        /// The key directory.
        dir: String,
    },
    /// The key file could not be made or read.
    #[error("{0}")]
    KeyStore(#[from] KeyStoreError),
    /// The set may not follow the last one signed.
    #[error("refused: {0}")]
    Refused(#[from] SuccessionRefusal),
    /// The denomination to revoke is not in the last set signed.
    #[error("denomination {0} is not in the last set signed: there is nothing to revoke")]
    UnknownDenomination(DenominationId),
    /// A revocation needs a set signed before, to revoke in.
    #[error("no set has been signed with this key yet: sign one first")]
    NothingSigned,
    /// The record of the last set signed could not be read or written.
    #[error("the record of the last set signed, {path}: {reason}")]
    Record {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl OfflineError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoKey { .. } => "offline.no_key",
            Self::KeyExists { .. } => "offline.key_exists",
            Self::KeyStore(error) => error.code(),
            Self::Refused(refusal) => refusal.code(),
            Self::UnknownDenomination(_) => "offline.unknown_denomination",
            Self::NothingSigned => "offline.nothing_signed",
            Self::Record { .. } => "offline.record",
        }
    }
}

/// A master key and the record of what it signed.
pub struct OfflineKey {
    dir: PathBuf,
    key: SigningKey,
}

impl OfflineKey {
    /// Makes the master key in `dir` (created owner-only); refuses if one is there already.
    pub fn init(dir: &Path) -> Result<Self, OfflineError> {
        let store = KeyStore::open(dir)?;
        if store.has_signing_key(MASTER_KEY) {
            return Err(OfflineError::KeyExists {
                dir: dir.display().to_string(),
            });
        }
        Self::open_or_init(dir)
    }

    /// The master key of `dir`, which must hold one.
    pub fn open(dir: &Path) -> Result<Self, OfflineError> {
        if !dir.join(format!("{MASTER_KEY}.ed25519")).exists() {
            return Err(OfflineError::NoKey {
                dir: dir.display().to_string(),
            });
        }
        Self::open_or_init(dir)
    }

    /// The master key of `dir`, made the first time: the embedded default's local key.
    pub fn open_or_init(dir: &Path) -> Result<Self, OfflineError> {
        let key = KeyStore::open(dir)?.signing_key(MASTER_KEY, &mut rand::rng())?;
        Ok(Self {
            dir: dir.to_path_buf(),
            key,
        })
    }

    /// The public half, which the issuer's config, its card and every wallet pin.
    pub fn public_key(&self) -> VerifyingKey {
        *self.key.verifying_key()
    }

    /// Signs `set` if it may follow the last set signed, and records it as the last.
    pub fn sign(&self, set: DenominationSet) -> Result<SignedDenominationSet, OfflineError> {
        let last = self.last_signed()?;
        let issuer = last
            .as_ref()
            .map_or(set.fields().issuer, |last| last.body().fields().issuer);
        check_successor(issuer, last.as_ref().map(Signed::body), &set)?;
        let signed = Signed::sign(set, &self.key);
        let path = self.dir.join(LAST_SIGNED_FILE);
        write_secret(&path, &signed.to_bytes()).map_err(|error| OfflineError::Record {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        Ok(signed)
    }

    /// Signs the last set signed again with `denomination` revoked, as the next set issued at
    /// `now`: a revocation needs no export from the issuer.
    pub fn revoke(
        &self,
        denomination: DenominationId,
        now: Timestamp,
    ) -> Result<SignedDenominationSet, OfflineError> {
        let last = self.last_signed()?.ok_or(OfflineError::NothingSigned)?;
        let fields = last.body().fields();
        if !fields.denominations.iter().any(|d| d.id() == denomination) {
            return Err(OfflineError::UnknownDenomination(denomination));
        }
        let mut revoked: Vec<DenominationId> = fields.revoked.iter().copied().collect();
        if !revoked.contains(&denomination) {
            revoked.push(denomination);
            revoked.sort();
        }
        let record = |reason: String| OfflineError::Record {
            path: self.dir.join(LAST_SIGNED_FILE).display().to_string(),
            reason,
        };
        let set = DenominationSet::new(DenominationSetFields {
            issuer: fields.issuer,
            sequence: fields.sequence.saturating_add(1),
            issued_at: now,
            denominations: fields.denominations.clone(),
            revoked: revoked
                .try_into()
                .map_err(|_| record("too many revocations for one set".into()))?,
        })
        .map_err(|error| record(error.to_string()))?;
        self.sign(set)
    }

    /// The last set signed with this key, if any.
    pub fn last_signed(&self) -> Result<Option<SignedDenominationSet>, OfflineError> {
        let path = self.dir.join(LAST_SIGNED_FILE);
        let record = |reason: String| OfflineError::Record {
            path: path.display().to_string(),
            reason,
        };
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error(&path)(error).into()),
        };
        let mut bytes = Vec::new();
        file.take(RECORD_MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| record(error.to_string()))?;
        if bytes.len() as u64 > RECORD_MAX_BYTES {
            return Err(record(format!("larger than {RECORD_MAX_BYTES} bytes")));
        }
        let signed =
            SignedDenominationSet::from_bytes(&bytes).map_err(|error| record(error.to_string()))?;
        // A record this key did not sign was put there by someone else: trust nothing of it.
        signed
            .verify(&self.public_key())
            .map_err(|_| record("not signed by this directory's master key".into()))?;
        Ok(Some(signed))
    }
}
