//! A merchant's deposit: the payments it hands its acquirer, signed by the merchant's key, and the
//! acquirer's answer per coin.

use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::codec_struct;
use crate::ids::{MerchantId, RequestId};
use crate::limits::DEPOSIT_COINS_MAX;
use crate::messages::deposit::SignedDepositPermission;
use crate::messages::spend::SpendResult;
use crate::signed::Signed;
use crate::time::Timestamp;

/// A deposit, signed by the merchant's key: see [`SignedDepositRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    /// The merchant depositing, and credited.
    pub merchant: MerchantId,
    /// The merchant's idempotency key: a retry with the same body gets the same answer and is
    /// credited once.
    pub deposit_id: RequestId,
    /// The wallet's deposit permissions, each naming this merchant and this acquirer.
    pub permissions: BoundedVec<SignedDepositPermission, DEPOSIT_COINS_MAX>,
    /// The last instant the merchant may refund these coins (its contract's refund deadline):
    /// the acquirer refuses a refund after it, on its own clock.
    pub refund_deadline: Timestamp,
}

codec_struct!(message "semper/deposit-request" v 2, DepositRequest {
    merchant,
    deposit_id,
    permissions,
    refund_deadline
});

/// A deposit request with the merchant key's signature.
pub type SignedDepositRequest = Signed<DepositRequest>;

/// The acquirer's verdict on one coin of a deposit. The variants mean, for the merchant:
/// - `Accepted`: credited to the merchant by this deposit;
/// - `Replay`: the same permission was credited before, by another deposit: nothing credited now;
/// - `Conflict`: a double spend, with the earlier permission as proof: nothing credited;
/// - `Swapped`: a double spend, the coin given in for change earlier, with that swap permission
///   as proof: nothing credited;
/// - `Recouped`: a double spend, the coin given back to its issuer for its value earlier (its
///   denomination revoked), with that recoup permission as proof: nothing credited;
/// - `Refused`: not credited, with the stable code of the reason.
pub type DepositResult = SpendResult;

/// The acquirer's answer to a deposit: one result per permission, in the request's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositResponse {
    /// The merchant.
    pub merchant: MerchantId,
    /// The deposit answered.
    pub deposit_id: RequestId,
    /// One result per permission.
    pub results: BoundedVec<DepositResult, DEPOSIT_COINS_MAX>,
}

codec_struct!(message "semper/deposit-response" v 3, DepositResponse {
    merchant,
    deposit_id,
    results
});
