//! Swap (change): a wallet gives its issuer coins it holds and blinded coins it wants, worth the
//! same less the swap fees; the issuer spends the first and blind-signs the second, in one step.
//!
//! Each coin given in is spent by its key's signature over a [`SwapPermission`], which binds it
//! to this request's id and outputs, as a deposit permission binds a coin to a deposit. That
//! signed permission is what a later deposit of the coin gets as proof of the double spend.

use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::codec::Encode;
use crate::codec_struct;
use crate::crypto::blind_rsa::BlindSignature;
use crate::crypto::ed25519::SignatureError;
use crate::crypto::hash::sha256;
use crate::ids::{Digest, RequestId};
use crate::limits::{SWAP_INPUTS_MAX, SWAP_OUTPUTS_MAX};
use crate::messages::coin::Coin;
use crate::messages::withdraw::BlindedCoin;
use crate::signed::Signed;

/// The blinded coins a swap asks for, in order.
pub type SwapOutputs = BoundedVec<BlindedCoin, SWAP_OUTPUTS_MAX>;

/// What a coin's key signs to give the coin in for change: see [`SignedSwapPermission`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapPermission {
    /// The coin given in.
    pub coin: Coin,
    /// The swap request it is given in to.
    pub request_id: RequestId,
    /// [`outputs_digest`] of that request's outputs: the coin pays for these and no others.
    pub outputs: Digest,
}

codec_struct!(message "semper/swap-permission" v 1, SwapPermission {
    coin,
    request_id,
    outputs
});

/// A swap permission with the coin key's signature.
pub type SignedSwapPermission = Signed<SwapPermission>;

impl Signed<SwapPermission> {
    /// Checks the coin key's signature.
    pub fn verify_coin_key(&self) -> Result<(), SignatureError> {
        self.verify(&self.body().coin.public_key)
    }
}

/// The digest a swap permission names: SHA-256 of the outputs' canonical encoding (a
/// `list<BlindedCoin>`).
pub fn outputs_digest(outputs: &SwapOutputs) -> Digest {
    Digest(sha256(&[&outputs.to_bytes()]))
}

/// A swap: coins given in, each with its key's permission, and the blinded coins wanted. Not
/// signed as a whole: every coin's permission binds the request id and the outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapRequest {
    /// The wallet's idempotency key: the same request again gets the same signatures.
    pub request_id: RequestId,
    /// The coins given in, each with its permission naming this request.
    pub coins: BoundedVec<SignedSwapPermission, SWAP_INPUTS_MAX>,
    /// The blinded coins wanted.
    pub outputs: SwapOutputs,
}

codec_struct!(message "semper/swap-request" v 1, SwapRequest {
    request_id,
    coins,
    outputs
});

/// The issuer's answer: one blind signature per output, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapResponse {
    /// The request answered.
    pub request_id: RequestId,
    /// The blind signatures.
    pub blind_signatures: BoundedVec<BlindSignature, SWAP_OUTPUTS_MAX>,
}

codec_struct!(message "semper/swap-response" v 1, SwapResponse {
    request_id,
    blind_signatures
});
