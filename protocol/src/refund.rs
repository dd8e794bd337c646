//! The refund decisions of both banks, as pure functions: the acquirer's over a merchant's
//! request (is it this merchant's coin, for this contract, in time, within what was paid?) and
//! the issuer's over an acquirer's notice (was the coin spent at this acquirer with this
//! permission, and does the total stay within what it paid?).
//!
//! The shells feed them what storage holds for the coin and the time; they answer with the new
//! running total to store, or a refusal with a stable code, before anything is written.

use crate::amount::{Amount, AmountError};
use crate::crypto::ed25519::{SignatureError, VerifyingKey};
use crate::ids::{BankId, CoinId, Digest};
use crate::messages::deposit::DepositPermission;
use crate::messages::refund::{
    RefundConfirmation, RefundNotice, RefundRequest, SignedRefundNotice, SignedRefundRequest,
};
use crate::time::Timestamp;

/// Why a refund was refused. Each variant has a stable [`RefundRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefusal {
    /// The merchant key's (or, at the issuer, the acquirer's) signature does not verify.
    #[error("signature: {0}")]
    Signature(SignatureError),
    /// The coin was never credited to this merchant here (or, at the issuer, never spent at
    /// this acquirer).
    #[error("the coin was not deposited by this merchant")]
    UnknownCoin,
    /// The coin paid another contract.
    #[error("the coin paid another contract")]
    WrongContract,
    /// The coin was spent with another permission than the notice names.
    #[error("the coin was spent with another permission")]
    WrongPermission,
    /// The deposit's refund deadline has passed.
    #[error("the refund deadline has passed")]
    DeadlinePassed,
    /// Zero, or another currency than the coin's.
    #[error("the amount is zero or not in the coin's currency")]
    BadAmount,
    /// The refunds of the coin would add up to more than it paid.
    #[error("the refunds would exceed what the coin paid")]
    OverPaid,
    /// The refund is not above the coin's refund fee, which would take all of it.
    #[error("the amount is not above the coin's refund fee")]
    BelowFee,
    /// The refund id was used before for another body.
    #[error("the refund id was used for another refund")]
    IdReused,
    /// An amount overflowed.
    #[error("{0}")]
    Amount(#[from] AmountError),
}

impl RefundRefusal {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Signature(_) => "refund.invalid_signature",
            Self::UnknownCoin => "refund.unknown_coin",
            Self::WrongContract => "refund.wrong_contract",
            Self::WrongPermission => "refund.wrong_permission",
            Self::DeadlinePassed => "refund.deadline_passed",
            Self::BadAmount => "refund.bad_amount",
            Self::OverPaid => "refund.over_paid",
            Self::BelowFee => "refund.below_fee",
            Self::IdReused => "refund.id_reused",
            Self::Amount(error) => error.code(),
        }
    }
}

/// What an acquirer holds about a coin it credited, as a refund needs it.
#[derive(Clone, Debug)]
pub struct CreditedCoin<'a> {
    /// The permission the coin was deposited with (its merchant, contract and amount).
    pub permission: &'a DepositPermission,
    /// The refund deadline the merchant's deposit set.
    pub refund_deadline: Timestamp,
    /// What was refunded on the coin before, if anything.
    pub refunded: Option<Amount>,
    /// The coin's refund fee (its denomination's `fees.refund`): each refund must be above it.
    pub fee: Amount,
}

/// Checks the merchant key's signature on a refund request: first, before anything is read.
pub fn verify_request(
    request: &SignedRefundRequest,
    merchant_key: &VerifyingKey,
) -> Result<(), RefundRefusal> {
    request
        .verify(merchant_key)
        .map_err(RefundRefusal::Signature)
}

/// The acquirer's check of a merchant's (verified) refund request against the coin it
/// credited (`None` when none), at `now`. Returns the coin's refunded total with this refund in
/// it.
///
/// The deadline is judged on the acquirer's clock, not on anything the merchant says, and only
/// the first time: a retry of a recorded refund is answered from storage before this runs.
pub fn check_refund(
    body: &RefundRequest,
    coin: Option<CreditedCoin<'_>>,
    now: Timestamp,
) -> Result<Amount, RefundRefusal> {
    let coin = coin.ok_or(RefundRefusal::UnknownCoin)?;
    let paid = coin.permission;
    if paid.merchant != body.merchant
        || paid.coin.denomination != body.denomination
        || CoinId::of(&paid.coin.public_key) != body.coin
    {
        return Err(RefundRefusal::UnknownCoin);
    }
    if paid.contract_hash != body.contract_hash {
        return Err(RefundRefusal::WrongContract);
    }
    if now > coin.refund_deadline {
        return Err(RefundRefusal::DeadlinePassed);
    }
    add_within(coin.refunded, body.amount, paid.amount, coin.fee)
}

/// What an issuer holds about a coin a notice refunds.
#[derive(Clone, Debug)]
pub struct SpentCoin<'a> {
    /// Digest of the permission the coin was spent with.
    pub permission_digest: Digest,
    /// That permission.
    pub permission: &'a DepositPermission,
    /// What was refunded on the coin before, if anything.
    pub refunded: Option<Amount>,
    /// The coin's refund fee, which the issuer keeps from this refund.
    pub fee: Amount,
}

/// Checks the acquirer's signature on a refund notice: first, before anything is read.
pub fn verify_notice(
    notice: &SignedRefundNotice,
    acquirer_key: &VerifyingKey,
) -> Result<(), RefundRefusal> {
    notice
        .verify(acquirer_key)
        .map_err(RefundRefusal::Signature)
}

/// The issuer's check of an acquirer's (verified) refund notice against its spent set (`None`
/// when the coin is not in it). The issuer trusts no acquirer: the coin must have been spent at
/// the acquirer that sends the notice, and the refunds of every acquirer stay within what it
/// paid. Returns the coin's refunded total with this refund in it.
pub fn check_notice(
    body: &RefundNotice,
    coin: Option<SpentCoin<'_>>,
) -> Result<Amount, RefundRefusal> {
    let coin = coin.ok_or(RefundRefusal::UnknownCoin)?;
    if coin.permission.acquirer != body.acquirer
        || coin.permission.coin.denomination != body.denomination
        || CoinId::of(&coin.permission.coin.public_key) != body.coin
    {
        return Err(RefundRefusal::UnknownCoin);
    }
    if coin.permission_digest != body.permission {
        return Err(RefundRefusal::WrongPermission);
    }
    add_within(coin.refunded, body.amount, coin.permission.amount, coin.fee)
}

/// The confirmation an issuer signs for a notice it records, keeping `fee` (the coin's
/// `fees.refund`) from it.
pub fn confirmation(
    issuer: BankId,
    notice: &RefundNotice,
    fee: Amount,
    now: Timestamp,
) -> RefundConfirmation {
    RefundConfirmation {
        issuer,
        acquirer: notice.acquirer,
        refund: notice.refund,
        denomination: notice.denomination,
        coin: notice.coin,
        amount: notice.amount,
        fee,
        confirmed_at: now,
    }
}

/// `before + amount`, refused when `amount` is zero or in another currency, not above `fee`
/// (the customer pays the refund fee out of what it gets back, so a refund the fee would
/// swallow gives nothing back), or the sum passes `paid`.
fn add_within(
    before: Option<Amount>,
    amount: Amount,
    paid: Amount,
    fee: Amount,
) -> Result<Amount, RefundRefusal> {
    if amount.minor_units() == 0 || amount.currency() != paid.currency() {
        return Err(RefundRefusal::BadAmount);
    }
    if fee.currency() != amount.currency() || amount.minor_units() <= fee.minor_units() {
        return Err(RefundRefusal::BelowFee);
    }
    let total = match before {
        None => amount,
        Some(before) => before.checked_add(amount)?,
    };
    if total.minor_units() > paid.minor_units() {
        return Err(RefundRefusal::OverPaid);
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
