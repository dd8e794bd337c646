//! The acquirer's decisions, as pure functions: which deposit requests to take, which issuer each
//! coin goes to, whether an issuer's answer holds, and whether a clearing house's receipt does.
//!
//! The acquirer actor is the shell: it feeds these the requests, keys, denomination book and time,
//! runs the crypto on its pool, the calls through its gateways and the writes through storage.

use std::collections::{BTreeMap, HashSet};

use crate::amount::{Amount, AmountError, Currency};
use crate::crypto::ed25519::{SignatureError, VerifyingKey};
use crate::denomination::SignedDenominationSet;
use crate::denomination_book::{DenominationBook, DenominationRefusal};
use crate::ids::{BankId, BatchId, CoinId, Digest};
use crate::messages::coin::Coin;
use crate::messages::deposit::{SignedDepositPermission, TimestampOutOfWindow};
use crate::messages::merchant::SignedDepositRequest;
use crate::messages::receipt::SignedSubmissionReceipt;
use crate::messages::recoup::SignedRecoupPermission;
use crate::messages::settlement::SettlementSubmission;
use crate::messages::spend::{
    EarlierSpend, REFUSAL_CODE_MAX_BYTES, SpendCheckResponse, SpendConfirmation, SpendResult,
};
use crate::messages::swap::SignedSwapPermission;
use crate::time::Timestamp;

#[cfg(test)]
mod tests;

/// Why a deposit request was refused as a whole. Each variant has a stable
/// [`DepositRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositRefusal {
    /// The request holds no permission.
    #[error("deposit request has no coins")]
    NoCoins,
    /// The merchant key's signature does not verify.
    #[error("merchant signature: {0}")]
    MerchantSignature(SignatureError),
    /// A permission pays another merchant than the one depositing.
    #[error("coin {index}: the permission pays another merchant")]
    WrongMerchant {
        /// The permission's position in the request.
        index: usize,
    },
    /// A permission names another acquirer.
    #[error("coin {index}: the permission names another acquirer")]
    WrongAcquirer {
        /// The permission's position in the request.
        index: usize,
    },
    /// The same coin is listed twice.
    #[error("coin {index} is listed twice")]
    DuplicateCoin {
        /// The second listing's position in the request.
        index: usize,
    },
    /// The permissions mix currencies, or their total overflows.
    #[error("{0}")]
    Amount(#[from] AmountError),
}

impl DepositRefusal {
    /// The stable error code that the HTTP layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCoins => "deposit.no_coins",
            Self::MerchantSignature(_) => "deposit.invalid_merchant_signature",
            Self::WrongMerchant { .. } => "deposit.wrong_merchant",
            Self::WrongAcquirer { .. } => "deposit.wrong_acquirer",
            Self::DuplicateCoin { .. } => "deposit.duplicate_coin",
            Self::Amount(error) => error.code(),
        }
    }
}

/// Checks a deposit request against the merchant's key and this acquirer, and returns its total.
/// One currency per request: a deposit credits one balance. The coins themselves are checked
/// later, in a batch, by the `BatchVerifier`.
pub fn check_deposit(
    request: &SignedDepositRequest,
    merchant_key: &VerifyingKey,
    acquirer: BankId,
) -> Result<Amount, DepositRefusal> {
    let body = request.body();
    let mut coins = HashSet::with_capacity(body.permissions.len());
    let mut total: Option<Amount> = None;
    for (index, permission) in body.permissions.iter().enumerate() {
        let permission = permission.body();
        if permission.merchant != body.merchant {
            return Err(DepositRefusal::WrongMerchant { index });
        }
        if permission.acquirer != acquirer {
            return Err(DepositRefusal::WrongAcquirer { index });
        }
        if !coins.insert((permission.coin.denomination, permission.coin.public_key)) {
            return Err(DepositRefusal::DuplicateCoin { index });
        }
        total = Some(match total {
            None => permission.amount,
            Some(sum) => sum.checked_add(permission.amount)?,
        });
    }
    let total = total.ok_or(DepositRefusal::NoCoins)?;
    request
        .verify(merchant_key)
        .map_err(DepositRefusal::MerchantSignature)?;
    Ok(total)
}

/// Why an issuer's denomination set was not taken. Each variant has a stable
/// [`SetRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetRefusal {
    /// The set is another issuer's.
    #[error("the denomination set is another issuer's")]
    WrongIssuer,
    /// The master key's signature does not verify.
    #[error("denomination set signature: {0}")]
    Signature(SignatureError),
}

impl SetRefusal {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongIssuer => "denomination_set.wrong_issuer",
            Self::Signature(_) => "denomination_set.invalid_signature",
        }
    }
}

/// Checks that `set` is `issuer`'s, signed by its master key.
pub fn check_denomination_set(
    set: &SignedDenominationSet,
    issuer: BankId,
    master_key: &VerifyingKey,
) -> Result<(), SetRefusal> {
    if set.body().fields().issuer != issuer {
        return Err(SetRefusal::WrongIssuer);
    }
    set.verify(master_key).map_err(SetRefusal::Signature)
}

/// Why a coin is not sent to an issuer. Each variant has a stable [`RouteRefusal::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RouteRefusal {
    /// Its denomination may not be deposited now.
    #[error("{0}")]
    Denomination(#[from] DenominationRefusal),
    /// Its permission's timestamp is outside its window.
    #[error("{0}")]
    Timestamp(#[from] TimestampOutOfWindow),
}

impl RouteRefusal {
    /// The stable per-coin refusal code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Denomination(refusal) => refusal.code(),
            Self::Timestamp(refusal) => refusal.code(),
        }
    }
}

/// For each permission, the issuer to ask, if its coin's denomination may be deposited at `now`
/// and its timestamp is inside its window.
pub fn route(
    permissions: &[SignedDepositPermission],
    book: &DenominationBook,
    now: Timestamp,
) -> Vec<Result<BankId, RouteRefusal>> {
    permissions
        .iter()
        .map(|permission| {
            let body = permission.body();
            let denomination = book.depositable(&body.coin.denomination, now)?;
            body.check_timestamp(denomination, now)?;
            Ok(denomination.issuer())
        })
        .collect()
}

/// Why an issuer's answer to a spend-check batch was not taken. Each variant has a stable
/// [`AnswerError::code`]. The batch's coins stay unresolved: a retry with a new batch will get
/// "replay" for those the issuer did spend, and be credited then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The answer is for another batch.
    #[error("the answer is for another batch")]
    WrongBatch,
    /// The answer has a result count other than the batch's permission count.
    #[error("expected {expected} results, got {found}")]
    WrongCount {
        /// Permissions sent.
        expected: usize,
        /// Results received.
        found: usize,
    },
    /// The confirmation is missing, unexpected, or does not list exactly the spent coins.
    #[error("the confirmation does not match the spent coins")]
    ConfirmationMismatch,
    /// The issuer's signature on the confirmation does not verify.
    #[error("confirmation signature: {0}")]
    ConfirmationSignature(SignatureError),
}

impl AnswerError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongBatch => "spend.wrong_batch",
            Self::WrongCount { .. } => "spend.wrong_count",
            Self::ConfirmationMismatch => "spend.confirmation_mismatch",
            Self::ConfirmationSignature(_) => "spend.invalid_confirmation_signature",
        }
    }
}

/// What a checked issuer answer means for one coin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoinVerdict {
    /// The issuer holds the coin spent by this permission (accepted now, or a replay) and its
    /// confirmation lists it.
    Spent,
    /// A double spend; the proof (an earlier deposit or swap) has been checked.
    Conflict(Box<EarlierSpend>),
    /// The issuer refused the coin, or gave a proof that does not hold.
    Refused(String),
}

/// Checks an issuer's answer to the batch `batch_id` of `permissions` (whose body digests are
/// `digests`): the batch and count, the confirmation's signature and that it lists exactly the
/// spent coins in order, and each double-spend proof. Returns a verdict per permission.
pub fn check_answer(
    issuer: BankId,
    acquirer: BankId,
    confirmation_key: &VerifyingKey,
    batch_id: BatchId,
    permissions: &[SignedDepositPermission],
    digests: &[Digest],
    answer: &SpendCheckResponse,
) -> Result<Vec<CoinVerdict>, AnswerError> {
    if answer.batch_id != batch_id {
        return Err(AnswerError::WrongBatch);
    }
    if answer.results.len() != permissions.len() || digests.len() != permissions.len() {
        return Err(AnswerError::WrongCount {
            expected: permissions.len(),
            found: answer.results.len(),
        });
    }
    let spent: Vec<usize> = (0..permissions.len())
        .filter(|i| {
            matches!(
                answer.results[*i],
                SpendResult::Accepted | SpendResult::Replay
            )
        })
        .collect();
    match (&answer.confirmation, spent.is_empty()) {
        (None, true) => {}
        (Some(confirmation), false) => {
            confirmation
                .verify(confirmation_key)
                .map_err(AnswerError::ConfirmationSignature)?;
            let body = confirmation.body();
            let lists_spent = body.issuer == issuer
                && body.acquirer == acquirer
                && body.batch_id == batch_id
                && body.entries.len() == spent.len()
                && body.entries.iter().zip(&spent).all(|(entry, index)| {
                    let permission = permissions[*index].body();
                    entry.coin == CoinId::of(&permission.coin.public_key)
                        && entry.denomination == permission.coin.denomination
                        && entry.amount == permission.amount
                        && entry.permission == digests[*index]
                });
            if !lists_spent {
                return Err(AnswerError::ConfirmationMismatch);
            }
        }
        _ => return Err(AnswerError::ConfirmationMismatch),
    }
    Ok(answer
        .results
        .iter()
        .zip(permissions.iter().zip(digests))
        .map(|(result, (permission, digest))| match result {
            SpendResult::Accepted | SpendResult::Replay => CoinVerdict::Spent,
            SpendResult::Conflict { earlier }
                if proves_double_spend(permission, digest, earlier) =>
            {
                CoinVerdict::Conflict(Box::new(EarlierSpend::Deposit((**earlier).clone())))
            }
            SpendResult::Swapped { earlier } if proves_swapped(permission, earlier) => {
                CoinVerdict::Conflict(Box::new(EarlierSpend::Swap((**earlier).clone())))
            }
            SpendResult::Recouped { earlier } if proves_recouped(permission, earlier) => {
                CoinVerdict::Conflict(Box::new(EarlierSpend::Recoup((**earlier).clone())))
            }
            SpendResult::Conflict { .. }
            | SpendResult::Swapped { .. }
            | SpendResult::Recouped { .. } => {
                CoinVerdict::Refused("spend.bad_conflict_proof".into())
            }
            SpendResult::Refused { code } => CoinVerdict::Refused(bounded_code(code)),
        })
        .collect())
}

/// Whether `earlier` names the same coin as `coin` and then `proves` holds: the coin is compared
/// first, so a proof's signature is checked only for the coin it claims to be about.
fn same_coin_then(coin: &Coin, earlier: &Coin, proves: impl FnOnce() -> bool) -> bool {
    earlier.denomination == coin.denomination && earlier.public_key == coin.public_key && proves()
}

/// Whether `earlier` proves that the coin of `permission` (whose body digest is `digest`) was
/// spent before with another permission: same coin, another body, signed by the coin's key.
pub fn proves_double_spend(
    permission: &SignedDepositPermission,
    digest: &Digest,
    earlier: &SignedDepositPermission,
) -> bool {
    same_coin_then(&permission.body().coin, &earlier.body().coin, || {
        earlier.body_digest() != *digest && earlier.verify_coin_key().is_ok()
    })
}

/// Whether `earlier` proves that the coin of `permission` was given in to a swap before: the
/// same coin, and its key's signature over the swap permission (never the same message as a
/// deposit permission: the domain tags differ).
pub fn proves_swapped(
    permission: &SignedDepositPermission,
    earlier: &SignedSwapPermission,
) -> bool {
    same_coin_then(&permission.body().coin, &earlier.body().coin, || {
        earlier.verify_coin_key().is_ok()
    })
}

/// Whether `earlier` proves that the coin of `permission` was given back to its issuer for its
/// value (recouped) before: the same coin, and its key's signature over the recoup permission.
pub fn proves_recouped(
    permission: &SignedDepositPermission,
    earlier: &SignedRecoupPermission,
) -> bool {
    same_coin_then(&permission.body().coin, &earlier.body().coin, || {
        earlier.verify_coin_key().is_ok()
    })
}

/// Why a clearing house's receipt was not taken. Each variant has a stable
/// [`ReceiptError::code`]. The submission stays pending and is sent again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The clearing house's signature does not verify.
    #[error("receipt signature: {0}")]
    Signature(SignatureError),
    /// The receipt is from another clearing house, for another acquirer, or for another
    /// submission.
    #[error("the receipt is for another submission")]
    WrongSubmission,
    /// The receipt has a claim count other than the submission's confirmation count.
    #[error("expected {expected} claims, got {found}")]
    WrongCount {
        /// Confirmations submitted.
        expected: usize,
        /// Claims received.
        found: usize,
    },
}

impl ReceiptError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Signature(_) => "receipt.invalid_signature",
            Self::WrongSubmission => "receipt.wrong_submission",
            Self::WrongCount { .. } => "receipt.wrong_count",
        }
    }
}

/// Checks that `receipt` is `clearing`'s signed answer to `submission`, with a claim per
/// confirmation.
pub fn check_receipt(
    submission: &SettlementSubmission,
    clearing: BankId,
    clearing_key: &VerifyingKey,
    receipt: &SignedSubmissionReceipt,
) -> Result<(), ReceiptError> {
    receipt
        .verify(clearing_key)
        .map_err(ReceiptError::Signature)?;
    let body = receipt.body();
    if body.clearing != clearing
        || body.acquirer != submission.acquirer
        || body.submission_id != submission.submission_id
    {
        return Err(ReceiptError::WrongSubmission);
    }
    if body.claims.len() != submission.confirmations.len() {
        return Err(ReceiptError::WrongCount {
            expected: submission.confirmations.len(),
            found: body.claims.len(),
        });
    }
    if body.refund_claims.len() != submission.refunds.len() {
        return Err(ReceiptError::WrongCount {
            expected: submission.refunds.len(),
            found: body.refund_claims.len(),
        });
    }
    Ok(())
}

/// `code` cut to the longest refusal code a result may carry, on a character boundary: a code
/// that came from elsewhere always fits the encoding.
pub fn bounded_code(code: &str) -> String {
    let mut end = code.len().min(REFUSAL_CODE_MAX_BYTES);
    while !code.is_char_boundary(end) {
        end -= 1;
    }
    code[..end].to_owned()
}

/// A confirmation's total in each currency, sorted by currency: what it claims from its issuer.
pub fn totals_by_currency(confirmation: &SpendConfirmation) -> Result<Vec<Amount>, AmountError> {
    let mut totals: BTreeMap<Currency, Amount> = BTreeMap::new();
    for entry in confirmation.entries.iter() {
        let currency = entry.amount.currency();
        let sum = match totals.get(&currency) {
            Some(sum) => sum.checked_add(entry.amount)?,
            None => entry.amount,
        };
        totals.insert(currency, sum);
    }
    Ok(totals.into_values().collect())
}
