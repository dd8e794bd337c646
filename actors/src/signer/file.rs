//! The file backend: keys in the owner-only key store, loaded into the signer's memory. For
//! development and the embedded default; a bank's HSM is [`super::pkcs11`].

use std::path::Path;
use std::sync::Arc;

use semper_protocol::crypto::blind_rsa::{
    BlindSignature, BlindedMessage, DenominationPublicKey, DenominationSecretKey, RsaError,
    RsaKeySize,
};
use semper_protocol::crypto::ed25519::{Signature, SigningKey};
use semper_protocol::ids::DenominationId;

use super::backend::KeyBackend;
use super::core::{KeySigner, SignerLimits};
use super::{SignerError, SignerKeys};
use crate::clock::Clock;
use crate::keystore::{KeyStore, KeyStoreError};

/// Key-store name of the confirmation key. (A `master` key file left by an older version is the
/// offline master key: SECURITY.md says to move it off this machine.)
const CONFIRMATION_KEY: &str = "confirmation";
/// The journal's file, in the key directory: it moves with the keys.
pub const JOURNAL_FILE: &str = "signer.journal";

/// The signer over key files.
pub type FileSigner = KeySigner<FileKeys>;

impl KeySigner<FileKeys> {
    /// Opens the signer of the key directory `dir` (created owner-only), making its Ed25519 keys
    /// the first time, and replays its journal (in the same directory).
    pub fn open(
        dir: &Path,
        clock: Arc<dyn Clock>,
        limits: SignerLimits,
    ) -> Result<Self, SignerError> {
        Self::with_backend(FileKeys::open(dir)?, &dir.join(JOURNAL_FILE), clock, limits)
    }
}

/// Keys in files of an owner-only directory.
pub struct FileKeys {
    keystore: KeyStore,
    confirmation: SigningKey,
}

impl FileKeys {
    /// Opens the key directory `dir`, making its Ed25519 keys the first time.
    pub fn open(dir: &Path) -> Result<Self, SignerError> {
        let keystore = KeyStore::open(dir)?;
        let mut rng = rand::rng();
        let confirmation = keystore.signing_key(CONFIRMATION_KEY, &mut rng)?;
        Ok(Self {
            keystore,
            confirmation,
        })
    }
}

impl KeyBackend for FileKeys {
    type Secret = Arc<DenominationSecretKey>;

    fn keys(&self) -> SignerKeys {
        SignerKeys {
            confirmation: *self.confirmation.verifying_key(),
        }
    }

    fn sign_confirmation_bytes(&self, message: &[u8]) -> Result<Signature, SignerError> {
        Ok(self.confirmation.sign(message))
    }

    fn generate(
        &self,
        size: RsaKeySize,
    ) -> Result<(DenominationPublicKey, Self::Secret), SignerError> {
        let secret = DenominationSecretKey::generate(size)
            .map_err(|e| SignerError::Storage(format!("key generation: {e}")))?;
        Ok((secret.public_key().clone(), Arc::new(secret)))
    }

    fn keep(&self, id: &DenominationId, secret: &Self::Secret) -> Result<(), SignerError> {
        self.keystore
            .store_denomination_key(id, secret)
            .map_err(|e| SignerError::Storage(e.to_string()))
    }

    fn load(
        &self,
        id: &DenominationId,
        public: DenominationPublicKey,
    ) -> Result<Option<Self::Secret>, SignerError> {
        match self.keystore.denomination_key(id) {
            Ok(secret) if *secret.public_key() == public => Ok(Some(Arc::new(secret))),
            Ok(_) => Err(SignerError::Storage(format!(
                "the key file of denomination {id} holds another key"
            ))),
            Err(KeyStoreError::Missing { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    fn destroy(&self, id: &DenominationId) -> Result<(), SignerError> {
        self.keystore
            .destroy_denomination_key(id)
            .map_err(|e| SignerError::Storage(e.to_string()))
    }

    fn blind_sign(
        &self,
        secret: &Self::Secret,
        blinded: &BlindedMessage,
    ) -> Result<Result<BlindSignature, RsaError>, SignerError> {
        Ok(secret.blind_sign(blinded))
    }
}
