//! A message together with an Ed25519 signature over its canonical encoding.

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Message, Reader, Writer};
use crate::crypto::ed25519::{Signature, SignatureError, SigningKey, VerifyingKey};
use crate::crypto::hash::sha256;
use crate::ids::Digest;

/// `body`, signed. The signature covers the body's canonical encoding, which starts with the
/// body's domain tag and version, so it cannot be replayed as another kind of message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed<T> {
    body: T,
    signature: Signature,
}

impl<T: Message + Encode> Signed<T> {
    /// Signs `body` with `key`.
    pub fn sign(body: T, key: &SigningKey) -> Self {
        let signature = key.sign(&body.to_bytes());
        Self { body, signature }
    }

    /// Pairs a body with a signature without checking it: call [`Signed::verify`] before trusting it.
    pub fn from_parts(body: T, signature: Signature) -> Self {
        Self { body, signature }
    }

    /// Checks the signature against the key the caller expects for this body.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), SignatureError> {
        key.verify(&self.body.to_bytes(), &self.signature)
    }

    /// The body, whether or not the signature has been checked.
    pub fn body(&self) -> &T {
        &self.body
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// SHA-256 of the body's encoding: the identity of what was signed, whatever the signature.
    pub fn body_digest(&self) -> Digest {
        Digest(sha256(&[&self.body.to_bytes()]))
    }
}

impl<T: Encode> Encode for Signed<T> {
    fn encode_to(&self, writer: &mut Writer) {
        self.body.encode_to(writer);
        self.signature.encode_to(writer);
    }
}

impl<T: Decode> Decode for Signed<T> {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let body = T::decode_from(reader)?;
        let signature = Signature::decode_from(reader)?;
        Ok(Self { body, signature })
    }
}
