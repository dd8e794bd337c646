//! Withdraw: the wallet asks its issuer to blind-sign coins, paid from its account.

use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::codec_struct;
use crate::crypto::blind_rsa::{BlindSignature, BlindedMessage};
use crate::ids::{AccountId, DenominationId, RequestId};
use crate::limits::WITHDRAW_COINS_MAX;
use crate::signed::Signed;

/// One coin to be blind-signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlindedCoin {
    /// The denomination wanted.
    pub denomination: DenominationId,
    /// The blinded coin message.
    pub blinded: BlindedMessage,
}

codec_struct!(BlindedCoin {
    denomination,
    blinded
});

/// A withdrawal, signed by the account key: see [`SignedWithdrawRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// The account debited.
    pub account: AccountId,
    /// The wallet's idempotency key: a replay returns the same signatures and debits nothing.
    pub request_id: RequestId,
    /// The coins, in order.
    pub coins: BoundedVec<BlindedCoin, WITHDRAW_COINS_MAX>,
}

codec_struct!(message "semper/withdraw-request" v 1, WithdrawRequest {
    account,
    request_id,
    coins
});

/// A withdraw request with the account key's signature.
pub type SignedWithdrawRequest = Signed<WithdrawRequest>;

/// The issuer's answer: one blind signature per requested coin, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawResponse {
    /// The request answered.
    pub request_id: RequestId,
    /// The blind signatures.
    pub blind_signatures: BoundedVec<BlindSignature, WITHDRAW_COINS_MAX>,
}

codec_struct!(message "semper/withdraw-response" v 1, WithdrawResponse {
    request_id,
    blind_signatures
});
