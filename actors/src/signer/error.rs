//! Why the signer refused or failed.

use semper_protocol::crypto::blind_rsa::RsaError;

use crate::keystore::KeyStoreError;

/// A signer failure. Each variant has a stable [`SignerError::code`], the same on both sides of
/// the socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// The signer cannot be reached, or stopped answering: retry later.
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    /// The signer's rate bound is reached: retry later.
    #[error("signer rate bound reached: retry later")]
    RateLimited,
    /// The signer knows no key for coin `index`'s denomination (or destroyed it).
    #[error("coin {index}: the signer holds no key for its denomination")]
    UnknownKey {
        /// The coin's position in the batch.
        index: u32,
    },
    /// Coin `index`'s denomination is outside its withdraw window by the signer's clock.
    #[error("coin {index}: outside its denomination's withdraw window")]
    OutsideWindow {
        /// The coin's position in the batch.
        index: u32,
    },
    /// Coin `index`'s denomination was revoked.
    #[error("coin {index}: its denomination is revoked")]
    Revoked {
        /// The coin's position in the batch.
        index: u32,
    },
    /// Coin `index`'s blinded message cannot be signed (wrong length, not below the modulus):
    /// the issuer answers it as the RSA error it is.
    #[error("coin {index}: {error}")]
    BadBlindedMessage {
        /// The coin's position in the batch.
        index: u32,
        /// Why.
        error: RsaError,
    },
    /// The key store refused at start (a key file open to others, say).
    #[error("{0}")]
    KeyStore(#[from] KeyStoreError),
    /// A request the signer refuses whole (a window it does not allow, a batch too large).
    #[error("signer refused: {0}")]
    Refused(String),
    /// A frame that breaks the protocol: its code says how.
    #[error("{code}: {message}")]
    Frame {
        /// `signer.frame.*`.
        code: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The signer's key files or journal failed: it signs nothing until fixed.
    #[error("signer storage: {0}")]
    Storage(String),
}

/// Every code a [`SignerError`] can have.
pub const SIGNER_CODES: &[&str] = &[
    "signer.unavailable",
    "signer.rate_limited",
    "signer.unknown_key",
    "signer.outside_window",
    "signer.revoked",
    "signer.bad_blinded_message",
    "signer.refused",
    "signer.frame.too_large",
    "signer.frame.version",
    "signer.frame.kind",
    "signer.frame.malformed",
    "signer.storage",
];

impl SignerError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "signer.unavailable",
            Self::RateLimited => "signer.rate_limited",
            Self::UnknownKey { .. } => "signer.unknown_key",
            Self::OutsideWindow { .. } => "signer.outside_window",
            Self::Revoked { .. } => "signer.revoked",
            Self::BadBlindedMessage { .. } => "signer.bad_blinded_message",
            Self::Refused(_) => "signer.refused",
            Self::Frame { code, .. } => code,
            Self::Storage(_) => "signer.storage",
            Self::KeyStore(e) => e.code(),
        }
    }

    /// Whether a retry later may succeed (HTTP 503 with `Retry-After`).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::RateLimited)
    }
}
