//! Recoup: a wallet holding an unspent coin of a revoked denomination proves that it withdrew it,
//! and its issuer credits the coin's value back to the account that withdrew it.
//!
//! The proof is the withdrawal itself: its request as the account signed it (the issuer finds its
//! digest in its own records), the coin's position in it, and the inverse of the coin's blinding
//! factor, with which the issuer blinds the coin again and finds the blinded message it signed.
//! The coin's key consents with a [`RecoupPermission`], which also proves the coin spent to any
//! later deposit of it; the account key signs the whole.

use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::codec_struct;
use crate::crypto::blind_rsa::BlindingInverse;
use crate::crypto::ed25519::SignatureError;
use crate::ids::{AccountId, CoinId, RequestId};
use crate::messages::coin::Coin;
use crate::messages::withdraw::WithdrawRequest;
use crate::signed::Signed;

/// What a coin's key signs to give the coin back for its value: see [`SignedRecoupPermission`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoupPermission {
    /// The coin given back.
    pub coin: Coin,
    /// The account credited: the one that withdrew the coin.
    pub account: AccountId,
}

codec_struct!(message "semper/recoup-permission" v 1, RecoupPermission {
    coin,
    account
});

/// A recoup permission with the coin key's signature: what the issuer's spent set keeps, and
/// the proof a later deposit of the coin gets.
pub type SignedRecoupPermission = Signed<RecoupPermission>;

impl Signed<RecoupPermission> {
    /// Checks the coin key's signature.
    pub fn verify_coin_key(&self) -> Result<(), SignatureError> {
        self.verify(&self.body().coin.public_key)
    }
}

/// A recoup, signed by the account key: see [`SignedRecoupRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoupRequest {
    /// The withdrawal that paid for the coin, as the account signed it: its account is the one
    /// credited, and its digest must be the one the issuer recorded under its request id.
    pub withdrawal: WithdrawRequest,
    /// The coin's position in the withdrawal's coins.
    pub index: u32,
    /// The inverse of the coin's blinding factor.
    pub blinding: BlindingInverse,
    /// The coin key's consent, naming the withdrawal's account.
    pub permission: SignedRecoupPermission,
}

codec_struct!(message "semper/recoup-request" v 1, RecoupRequest {
    withdrawal,
    index,
    blinding,
    permission
});

/// A recoup request with the account key's signature. The withdrawal slot it names (account,
/// request id, index) is its idempotency key: the same request again gets the same answer.
pub type SignedRecoupRequest = Signed<RecoupRequest>;

impl RecoupRequest {
    /// The account credited.
    pub fn account(&self) -> AccountId {
        self.withdrawal.account
    }

    /// The withdrawal's request id.
    pub fn request_id(&self) -> RequestId {
        self.withdrawal.request_id
    }
}

/// The issuer's answer: the coin's value, credited to the account. Unsigned: the account's
/// balance and journal show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoupResponse {
    /// The account credited.
    pub account: AccountId,
    /// The coin recouped.
    pub coin: CoinId,
    /// The value credited: the coin's whole value (its withdraw fee is not refunded).
    pub credited: Amount,
}

codec_struct!(message "semper/recoup-response" v 1, RecoupResponse {
    account,
    coin,
    credited
});
