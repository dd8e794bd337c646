//! Where a signer's private keys live: the one seam between the signer's rules
//! ([`super::core::KeySigner`]) and the keys, so that the rules are written once whether the keys
//! are files ([`super::file::FileKeys`]) or objects in a PKCS#11 token
//! ([`super::pkcs11::TokenKeys`]).

use semper_protocol::crypto::blind_rsa::{
    BlindSignature, BlindedMessage, DenominationPublicKey, RsaError, RsaKeySize,
};
use semper_protocol::crypto::ed25519::Signature;
use semper_protocol::ids::DenominationId;

use super::{SignerError, SignerKeys};

/// A store of private keys that signs with them and never hands them out.
pub trait KeyBackend: Send + Sync {
    /// A denomination private key as the backend holds it (the key in memory, or a handle to
    /// it in a token): cheap to clone.
    type Secret: Clone + Send + Sync;

    /// The public half of the confirmation key.
    fn keys(&self) -> SignerKeys;

    /// Signs `message` (RFC 8032) with the confirmation key.
    fn sign_confirmation_bytes(&self, message: &[u8]) -> Result<Signature, SignerError>;

    /// Makes a new RSA key (e = 65537); it is not durable until [`KeyBackend::keep`].
    fn generate(
        &self,
        size: RsaKeySize,
    ) -> Result<(DenominationPublicKey, Self::Secret), SignerError>;

    /// Keeps a generated key durably under its denomination's id.
    fn keep(&self, id: &DenominationId, secret: &Self::Secret) -> Result<(), SignerError>;

    /// The key kept under `id`, whose public half is `public`, if it is still there.
    fn load(
        &self,
        id: &DenominationId,
        public: DenominationPublicKey,
    ) -> Result<Option<Self::Secret>, SignerError>;

    /// Destroys the key kept under `id` for good; nothing if it is already gone.
    fn destroy(&self, id: &DenominationId) -> Result<(), SignerError>;

    /// RFC 9474 BlindSign (RSASP1) of one blinded message, checked by RSAVP1 before it is
    /// returned: the inner error is the message's (or a faulty signature), the outer one the
    /// backend's (a token out of reach). May be called from many threads at once.
    fn blind_sign(
        &self,
        secret: &Self::Secret,
        blinded: &BlindedMessage,
    ) -> Result<Result<BlindSignature, RsaError>, SignerError>;
}
