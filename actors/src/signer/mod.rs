//! The signer: the one narrow interface through which the issuer gets every private-key operation
//! (blind signatures, spend confirmations, new denomination keys), so that the
//! issuer itself holds no private key. See SECURITY.md, "The signer".
//!
//! - [`Signer`]: the interface. [`KeySigner`] implements it over the keys of a [`backend`] and
//!   an append-only [`journal`]: [`FileSigner`] over key files, [`TokenSigner`] over a PKCS#11
//!   token ([`pkcs11`]). It runs in the issuer's process (the embedded default) or in its own
//!   (`semper signer`), reached through [`SocketSigner`] over the [`frame`] protocol that
//!   [`server`] answers.
//! - The signer enforces its own rules whoever asks: a denomination key signs only inside its
//!   withdraw window and never after its revocation, at a bounded [`rate`], and every signature
//!   is counted in the journal (fsynced) before it leaves. Keys are made ahead of their windows
//!   and destroyed once their window has closed.
//!
//! The master key, which signs denomination sets, is not the signer's: it is kept offline
//! (`crate::offline`), and the issuer publishes only sets signed with it.

pub mod backend;
pub mod client;
pub mod core;
mod error;
pub mod file;
pub mod frame;
pub mod journal;
pub mod pkcs11;
pub mod rate;
pub mod server;

use semper_protocol::amount::Amount;
use semper_protocol::crypto::blind_rsa::{BlindSignature, BlindedMessage, RsaKeySize};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::denomination::{Denomination, DenominationFees};
use semper_protocol::ids::{BankId, DenominationId};
use semper_protocol::messages::refund::{RefundConfirmation, SignedRefundConfirmation};
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendConfirmation};
use semper_protocol::time::Timestamp;

pub use client::SocketSigner;
pub use core::{KeySigner, SignerLimits};
pub use error::{SIGNER_CODES, SignerError};
pub use file::FileSigner;
pub use pkcs11::{TokenConfig, TokenSigner};

/// The public half of the signer's Ed25519 key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignerKeys {
    /// Signs spend confirmations.
    pub confirmation: VerifyingKey,
}

/// What a new denomination key is for: everything of its denomination but the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenominationSpec {
    /// The issuer.
    pub issuer: BankId,
    /// The coin value.
    pub value: Amount,
    /// RSA modulus size.
    pub key_size: RsaKeySize,
    /// Start of the withdraw window.
    pub valid_from: Timestamp,
    /// End of the withdraw window (exclusive): the key signs nothing from then on.
    pub withdraw_until: Timestamp,
    /// End of the deposit window.
    pub deposit_until: Timestamp,
    /// How long spent coins are kept.
    pub retain_until: Timestamp,
    /// What each operation on one of its coins costs.
    pub fees: DenominationFees,
}

/// How many blind signatures a denomination key has made, as the signer's journal says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCount {
    /// The denomination.
    pub denomination: DenominationId,
    /// Blind signatures made with its key, ever.
    pub signatures: u64,
    /// Whether the key was revoked.
    pub revoked: bool,
    /// Whether the key was destroyed (its withdraw window closed).
    pub destroyed: bool,
}

/// The issuer's private-key operations. Every method may block (a disk write, a socket): call it
/// on the pool or at start, never on an actor's thread.
pub trait Signer: Send + Sync {
    /// The public key of the confirmation key.
    fn keys(&self) -> Result<SignerKeys, SignerError>;

    /// Makes a denomination key for `spec` and returns its denomination; the key never leaves
    /// the signer, which signs with it only inside `spec`'s withdraw window.
    fn create_denomination(&self, spec: &DenominationSpec) -> Result<Denomination, SignerError>;

    /// Blind-signs a batch (one withdrawal), in order; all or nothing, counted durably first.
    fn blind_sign(
        &self,
        coins: &[(DenominationId, &BlindedMessage)],
    ) -> Result<Vec<BlindSignature>, SignerError>;

    /// Signs a spend confirmation with the confirmation key.
    fn sign_confirmation(
        &self,
        confirmation: SpendConfirmation,
    ) -> Result<SignedSpendConfirmation, SignerError>;

    /// Signs a refund confirmation with the confirmation key.
    fn sign_refund_confirmation(
        &self,
        confirmation: RefundConfirmation,
    ) -> Result<SignedRefundConfirmation, SignerError>;

    /// Revokes a denomination key for good: it never signs again.
    fn revoke(&self, denomination: DenominationId) -> Result<(), SignerError>;

    /// The signature count of every key the signer has made.
    fn counts(&self) -> Result<Vec<KeyCount>, SignerError>;

    /// Destroys every key whose withdraw window has closed by `now`, and says how many. The
    /// issuer asks on each rotation tick, so that a signer in its process destroys a closed key
    /// even when nothing is withdrawn; a signer in its own process destroys them on its own
    /// clock, and over the socket this does nothing.
    fn destroy_closed(&self, now: Timestamp) -> Result<usize, SignerError>;
}

#[cfg(test)]
mod tests;
