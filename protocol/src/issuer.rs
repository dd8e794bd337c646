//! The issuer's decisions, as pure functions: what to check before a withdrawal is debited and
//! signed, and which coins of a spend-check batch may reach the spent set.
//!
//! The issuer actor is the shell: it feeds these the request, the keys, the denomination book and
//! the time, runs the crypto on its pool and the writes through storage.

use rayon::prelude::*;

use crate::amount::{Amount, AmountError};
use crate::crypto::blind_rsa::{BlindSignature, DenominationSecretKey, RsaError};
use crate::crypto::ed25519::{SignatureError, SigningKey, VerifyingKey};
use crate::denomination_book::{DenominationBook, DenominationRefusal};
use crate::ids::{BankId, BatchId, CoinId, DenominationId, Digest};
use crate::messages::deposit::SignedDepositPermission;
use crate::messages::spend::{
    ConfirmedSpend, SignedSpendCheckBatch, SignedSpendConfirmation, SpendConfirmation,
};
use crate::messages::withdraw::SignedWithdrawRequest;
use crate::signed::Signed;
use crate::time::Timestamp;

/// Why a withdraw request was refused. Each variant has a stable [`WithdrawRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawRefusal {
    /// The request asks for no coins.
    #[error("withdraw request has no coins")]
    NoCoins,
    /// The account key's signature does not verify.
    #[error("account signature: {0}")]
    AccountSignature(SignatureError),
    /// A coin's denomination may not be withdrawn now.
    #[error("coin {index}: {refusal}")]
    Denomination {
        /// The coin's position in the request.
        index: usize,
        /// Why.
        refusal: DenominationRefusal,
    },
    /// A blinded coin is not as long as its denomination's modulus.
    #[error("coin {index}: {error}")]
    BlindedCoin {
        /// The coin's position in the request.
        index: usize,
        /// What was wrong.
        error: RsaError,
    },
    /// The coins mix currencies, or their total overflows.
    #[error("{0}")]
    Amount(#[from] AmountError),
}

impl WithdrawRefusal {
    /// The stable error code that the HTTP layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCoins => "withdraw.no_coins",
            Self::AccountSignature(_) => "withdraw.invalid_account_signature",
            Self::Denomination { refusal, .. } => refusal.code(),
            Self::BlindedCoin { error, .. } => error.code(),
            Self::Amount(error) => error.code(),
        }
    }
}

/// Checks a withdraw request against the account's key and the denominations, and returns what
/// it costs: every coin's value and withdraw fee. Nothing is debited or signed here.
pub fn check_withdraw(
    request: &SignedWithdrawRequest,
    account_key: &VerifyingKey,
    book: &DenominationBook,
    now: Timestamp,
) -> Result<Amount, WithdrawRefusal> {
    let coins = &request.body().coins;
    if coins.is_empty() {
        return Err(WithdrawRefusal::NoCoins);
    }
    request
        .verify(account_key)
        .map_err(WithdrawRefusal::AccountSignature)?;
    let mut total: Option<Amount> = None;
    for (index, coin) in coins.iter().enumerate() {
        let denomination = book
            .withdrawable(&coin.denomination, now)
            .map_err(|refusal| WithdrawRefusal::Denomination { index, refusal })?;
        let expected = denomination.public_key().modulus_bytes();
        if coin.blinded.0.len() != expected {
            let error = RsaError::WrongLength {
                expected,
                found: coin.blinded.0.len(),
            };
            return Err(WithdrawRefusal::BlindedCoin { index, error });
        }
        let cost = denomination
            .value()
            .checked_add(denomination.fees().withdraw)?;
        total = Some(match total {
            None => cost,
            Some(sum) => sum.checked_add(cost)?,
        });
    }
    // `coins` is not empty, so a total exists.
    total.ok_or(WithdrawRefusal::NoCoins)
}

/// Blind-signs every coin of a checked request, in parallel on the current rayon pool.
pub fn blind_sign_all<'k>(
    request: &SignedWithdrawRequest,
    key_of: impl Fn(&DenominationId) -> Option<&'k DenominationSecretKey> + Sync,
) -> Result<Vec<BlindSignature>, WithdrawRefusal> {
    request
        .body()
        .coins
        .par_iter()
        .enumerate()
        .map(|(index, coin)| {
            let key = key_of(&coin.denomination).ok_or(WithdrawRefusal::Denomination {
                index,
                refusal: DenominationRefusal::Unknown,
            })?;
            key.blind_sign(&coin.blinded)
                .map_err(|error| WithdrawRefusal::BlindedCoin { index, error })
        })
        .collect()
}

/// Why a whole spend-check batch was refused. Each variant has a stable [`BatchRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchRefusal {
    /// The batch comes from a bank the issuer does not know as an acquirer.
    #[error("unknown acquirer")]
    UnknownAcquirer,
    /// The acquirer's signature on the batch does not verify.
    #[error("acquirer signature: {0}")]
    AcquirerSignature(SignatureError),
    /// The batch id was answered before for another body: a retry must send the same batch.
    #[error("batch id reused for another batch")]
    BatchIdReused,
}

impl BatchRefusal {
    /// The stable error code that the link layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAcquirer => "spend.unknown_acquirer",
            Self::AcquirerSignature(_) => "spend.invalid_acquirer_signature",
            Self::BatchIdReused => "spend.batch_id_reused",
        }
    }
}

/// Checks the acquirer's signature on a batch.
pub fn check_batch(
    batch: &SignedSpendCheckBatch,
    acquirer_key: Option<&VerifyingKey>,
) -> Result<(), BatchRefusal> {
    let key = acquirer_key.ok_or(BatchRefusal::UnknownAcquirer)?;
    batch.verify(key).map_err(BatchRefusal::AcquirerSignature)
}

/// For each permission, whether this issuer may take it to its spent set at `now`: the coin must
/// be of one of its denominations, in its deposit window and not revoked, and the permission must
/// name the batch's acquirer and be dated inside its window. Signatures are checked separately, by the `BatchVerifier`.
pub fn admissible(
    issuer: BankId,
    acquirer: BankId,
    permissions: &[SignedDepositPermission],
    book: &DenominationBook,
    now: Timestamp,
) -> Vec<Result<(), &'static str>> {
    permissions
        .iter()
        .map(|permission| {
            let body = permission.body();
            let denomination = book
                .depositable(&body.coin.denomination, now)
                .map_err(|r| r.code())?;
            if denomination.issuer() != issuer {
                return Err("spend.wrong_issuer");
            }
            if body.acquirer != acquirer {
                return Err("spend.wrong_acquirer");
            }
            body.check_timestamp(denomination, now)
                .map_err(|refusal| refusal.code())
        })
        .collect()
}

/// The issuer's signed confirmation of the coins it holds as spent by this batch's permissions:
/// the ones accepted now and the replays of earlier acceptances, so that a retried batch can still
/// be settled. Each permission comes with its body digest, which the caller has computed already.
/// `None` when there are none.
pub fn confirm<'p>(
    issuer: BankId,
    acquirer: BankId,
    batch_id: BatchId,
    now: Timestamp,
    confirmed: impl IntoIterator<Item = (&'p SignedDepositPermission, Digest)>,
    key: &SigningKey,
) -> Option<SignedSpendConfirmation> {
    confirmation(issuer, acquirer, batch_id, now, confirmed)
        .map(|confirmation| Signed::sign(confirmation, key))
}

/// The confirmation [`confirm`] signs, unsigned: for an issuer whose key is in its signer.
pub fn confirmation<'p>(
    issuer: BankId,
    acquirer: BankId,
    batch_id: BatchId,
    now: Timestamp,
    confirmed: impl IntoIterator<Item = (&'p SignedDepositPermission, Digest)>,
) -> Option<SpendConfirmation> {
    let entries: Vec<ConfirmedSpend> = confirmed
        .into_iter()
        .map(|(permission, digest)| ConfirmedSpend {
            coin: CoinId::of(&permission.body().coin.public_key),
            denomination: permission.body().coin.denomination,
            amount: permission.body().amount,
            permission: digest,
        })
        .collect();
    if entries.is_empty() {
        return None;
    }
    // A batch holds at most as many permissions as a confirmation holds entries.
    let entries = entries.try_into().ok()?;
    Some(SpendConfirmation {
        issuer,
        acquirer,
        batch_id,
        confirmed_at: now,
        entries,
    })
}

pub mod recoup;
pub mod swap;

#[cfg(test)]
mod tests;
