//! The PKCS#11 backend: every private key of the signer lives in a token (a bank's HSM;
//! SoftHSM2 in the tests), made there, sensitive and never extractable. The signer holds only
//! object handles: a denomination key signs by `CKM_RSA_X_509` (the raw RSASP1 of RFC 9474,
//! checked by RSAVP1 here before it leaves), an Ed25519 key by `CKM_EDDSA`, and a key whose
//! window has closed is destroyed in the token (`C_DestroyObject`).
//!
//! One signer per token: its keys are found by label (`semper-denomination-<id>`,
//! `semper-master`, `semper-confirmation`).

mod objects;
mod session;
pub mod softhsm;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{ObjectClass, ObjectHandle};
use cryptoki::types::AuthPin;
use semper_protocol::crypto::blind_rsa::{
    BlindSignature, BlindedMessage, DenominationPublicKey, RsaError, RsaKeySize,
};
use semper_protocol::crypto::ed25519::{SIGNATURE_BYTES, Signature, VerifyingKey};
use semper_protocol::ids::DenominationId;

use super::backend::KeyBackend;
use super::core::{KeySigner, SignerLimits};
use super::{SignerError, SignerKeys};
use crate::clock::Clock;
pub use objects::{denomination_label, ed25519_label};
use session::{Sessions, token_error};

/// The signer over a PKCS#11 token.
pub type TokenSigner = KeySigner<TokenKeys>;

impl KeySigner<TokenKeys> {
    /// Opens the signer of the token `config` names, with its journal at `journal`.
    pub fn open_token(
        config: &TokenConfig,
        journal: &Path,
        clock: Arc<dyn Clock>,
        limits: SignerLimits,
    ) -> Result<Self, SignerError> {
        Self::with_backend(TokenKeys::open(config)?, journal, clock, limits)
    }
}

/// Which token, and how to log in to it.
pub struct TokenConfig {
    /// The PKCS#11 module (a shared library: `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The user PIN: a secret, never in a log or a message.
    pub pin: AuthPin,
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenConfig")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

/// A denomination key in the token: its handle, and its public half to check what it signs.
#[derive(Clone)]
pub struct TokenKey {
    handle: ObjectHandle,
    public: Arc<DenominationPublicKey>,
}

/// Keys in a PKCS#11 token.
pub struct TokenKeys {
    sessions: Sessions,
    confirmation: (ObjectHandle, VerifyingKey),
}

impl TokenKeys {
    /// Logs in to the token, making its Ed25519 keys the first time.
    pub fn open(config: &TokenConfig) -> Result<Self, SignerError> {
        let sessions = Sessions::open(config)?;
        let confirmation =
            sessions.with(|session| objects::ed25519_key(session, "confirmation"))?;
        Ok(Self {
            sessions,
            confirmation,
        })
    }
}

impl TokenKeys {
    /// The token's raw RSA private operation (`C_Sign` with `CKM_RSA_X_509`) on `input`,
    /// unchecked: what [`KeyBackend::blind_sign`] checks, and `bench-signer`'s yardstick.
    pub fn raw_sign(&self, secret: &TokenKey, input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.sessions.with(|session| {
            session
                .sign(&Mechanism::RsaX509, secret.handle, input)
                .map_err(token_error("signing with RSA"))
        })
    }
}

impl KeyBackend for TokenKeys {
    type Secret = TokenKey;

    fn keys(&self) -> SignerKeys {
        SignerKeys {
            confirmation: self.confirmation.1,
        }
    }

    fn sign_confirmation_bytes(&self, message: &[u8]) -> Result<Signature, SignerError> {
        let (key, public) = self.confirmation;
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let bytes = self.sessions.with(|session| {
            session
                .sign(&mechanism, key, message)
                .map_err(token_error("signing with Ed25519"))
        })?;
        let array: [u8; SIGNATURE_BYTES] = bytes.as_slice().try_into().map_err(|_| {
            SignerError::Storage("token: an Ed25519 signature of a wrong length".into())
        })?;
        let signature = Signature(array);
        // A faulty token's signature never leaves.
        public
            .verify(message, &signature)
            .map_err(|_| SignerError::Storage("token: a faulty Ed25519 signature".into()))?;
        Ok(signature)
    }

    fn generate(
        &self,
        size: RsaKeySize,
    ) -> Result<(DenominationPublicKey, Self::Secret), SignerError> {
        let (handle, public) = self
            .sessions
            .with(|session| objects::generate_rsa(session, size))?;
        Ok((
            public.clone(),
            TokenKey {
                handle,
                public: Arc::new(public),
            },
        ))
    }

    fn keep(&self, id: &DenominationId, secret: &Self::Secret) -> Result<(), SignerError> {
        self.sessions
            .with(|session| objects::label(session, secret.handle, id))
    }

    fn load(
        &self,
        id: &DenominationId,
        public: DenominationPublicKey,
    ) -> Result<Option<Self::Secret>, SignerError> {
        let found = self.sessions.with(|session| {
            objects::find(session, ObjectClass::PRIVATE_KEY, &denomination_label(id))
        })?;
        Ok(found.first().map(|handle| TokenKey {
            handle: *handle,
            public: Arc::new(public),
        }))
    }

    fn destroy(&self, id: &DenominationId) -> Result<(), SignerError> {
        self.sessions.with(|session| {
            for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
                for handle in objects::find(session, class, &denomination_label(id))? {
                    session
                        .destroy_object(handle)
                        .map_err(token_error("destroying a key"))?;
                }
            }
            Ok(())
        })
    }

    fn blind_sign(
        &self,
        secret: &Self::Secret,
        blinded: &BlindedMessage,
    ) -> Result<Result<BlindSignature, RsaError>, SignerError> {
        if let Err(error) = secret.public.check_blinded(blinded) {
            return Ok(Err(error));
        }
        let bytes = self.raw_sign(secret, &blinded.0)?;
        // Raw RSA output is left-padded to the modulus length; some tokens strip the zeros.
        let size = secret.public.modulus_bytes();
        let signature = match bytes.len() {
            len if len == size => bytes,
            len if len < size => {
                let mut padded = vec![0u8; size - len];
                padded.extend_from_slice(&bytes);
                padded
            }
            _ => return Ok(Err(RsaError::SigningFault)),
        };
        let signature = BlindSignature(signature);
        Ok(secret
            .public
            .check_blind_signature(blinded, &signature)
            .map(|()| signature))
    }
}
