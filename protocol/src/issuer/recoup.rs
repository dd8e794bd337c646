//! The issuer's checks of a recoup request, before anything is credited or spent: the account's
//! and the coin's consent, the withdrawal the issuer recorded, the coin's revoked denomination,
//! and that the coin, blinded again with the wallet's secret, is what that withdrawal had signed.

use crate::amount::Amount;
use crate::codec::Encode;
use crate::crypto::blind_rsa::RsaError;
use crate::crypto::ed25519::{SignatureError, VerifyingKey};
use crate::crypto::hash::sha256;
use crate::denomination_book::DenominationBook;
use crate::ids::{BankId, CoinId, DenominationId, Digest};
use crate::messages::coin::CoinError;
use crate::messages::recoup::SignedRecoupRequest;

/// Why a recoup request was refused; nothing was credited or spent. Each variant has a stable
/// [`RecoupRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoupRefusal {
    /// The account key's signature does not verify.
    #[error("account signature: {0}")]
    AccountSignature(SignatureError),
    /// The coin's permission names another account than the withdrawal's.
    #[error("the coin's permission names another account")]
    WrongAccount,
    /// The coin's key did not sign its permission.
    #[error("coin key signature: {0}")]
    CoinKeySignature(SignatureError),
    /// The issuer recorded no withdrawal under this account and request id.
    #[error("no withdrawal recorded under this account and request id")]
    UnknownWithdrawal,
    /// The withdrawal sent is not the one recorded under its request id.
    #[error("the withdrawal is not the one recorded under its request id")]
    WrongWithdrawal,
    /// The index is past the withdrawal's coins.
    #[error("index {index} is past the withdrawal's {count} coins")]
    BadIndex {
        /// The index asked.
        index: u32,
        /// The withdrawal's coins.
        count: usize,
    },
    /// The coin's denomination is not known.
    #[error("unknown denomination")]
    UnknownDenomination,
    /// The coin is another issuer's.
    #[error("the coin is another issuer's")]
    WrongIssuer,
    /// The coin's denomination is not revoked: deposit or swap it instead.
    #[error("denomination {0} is not revoked: only coins of revoked denominations are recouped")]
    NotRevoked(DenominationId),
    /// The coin's issuer signature does not verify.
    #[error("{0}")]
    Coin(CoinError),
    /// The blinding secret cannot blind: not the modulus' length, or not invertible.
    #[error("blinding secret: {0}")]
    Blinding(RsaError),
    /// The coin, blinded again, is not what that withdrawal had signed at that index.
    #[error("the coin is not the one this withdrawal had signed at index {0}")]
    NotWithdrawn(u32),
}

impl RecoupRefusal {
    /// The stable error code that the HTTP layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AccountSignature(_) => "recoup.invalid_account_signature",
            Self::WrongAccount => "recoup.wrong_account",
            Self::CoinKeySignature(_) => "recoup.invalid_coin_key_signature",
            Self::UnknownWithdrawal => "recoup.unknown_withdrawal",
            Self::WrongWithdrawal => "recoup.wrong_withdrawal",
            Self::BadIndex { .. } => "recoup.bad_index",
            Self::UnknownDenomination => "denomination.unknown",
            Self::WrongIssuer => "recoup.wrong_issuer",
            Self::NotRevoked(_) => "recoup.not_revoked",
            Self::Coin(error) => error.code(),
            Self::Blinding(error) => error.code(),
            Self::NotWithdrawn(_) => "recoup.not_withdrawn",
        }
    }
}

/// A recoup request that passed [`check_recoup`]: what the issuer credits and spends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRecoup {
    /// Digest of the request's body: what makes a retry a replay.
    pub request_digest: Digest,
    /// Digest of the coin's recoup permission body: its entry in the spent set.
    pub permission_digest: Digest,
    /// The coin.
    pub coin: CoinId,
    /// Its denomination.
    pub denomination: DenominationId,
    /// Its value: what is credited.
    pub value: Amount,
}

/// Checks a recoup request of `issuer`'s: signed by `account_key` (the withdrawal's account's),
/// its coin's key consenting for that account, its withdrawal the one recorded with the digest
/// `recorded` (`None`: no withdrawal under its request id), its coin of a denomination of
/// `book` that is revoked, signed by the issuer, and, blinded again with the request's secret,
/// exactly the blinded message at `index` of that withdrawal. The spent set and the ledger are
/// not read here.
pub fn check_recoup(
    request: &SignedRecoupRequest,
    account_key: &VerifyingKey,
    recorded: Option<&Digest>,
    issuer: BankId,
    book: &DenominationBook,
) -> Result<CheckedRecoup, RecoupRefusal> {
    request
        .verify(account_key)
        .map_err(RecoupRefusal::AccountSignature)?;
    let body = request.body();
    let permission = body.permission.body();
    if permission.account != body.account() {
        return Err(RecoupRefusal::WrongAccount);
    }
    body.permission
        .verify_coin_key()
        .map_err(RecoupRefusal::CoinKeySignature)?;
    match recorded {
        None => return Err(RecoupRefusal::UnknownWithdrawal),
        Some(digest) if *digest != Digest(sha256(&[&body.withdrawal.to_bytes()])) => {
            return Err(RecoupRefusal::WrongWithdrawal);
        }
        Some(_) => {}
    }
    let coins = &body.withdrawal.coins;
    let slot = usize::try_from(body.index)
        .ok()
        .and_then(|index| coins.get(index))
        .ok_or(RecoupRefusal::BadIndex {
            index: body.index,
            count: coins.len(),
        })?;
    let coin = &permission.coin;
    let denomination = book
        .get(&coin.denomination)
        .ok_or(RecoupRefusal::UnknownDenomination)?;
    if denomination.issuer() != issuer {
        return Err(RecoupRefusal::WrongIssuer);
    }
    if !book.is_revoked(&coin.denomination) {
        return Err(RecoupRefusal::NotRevoked(coin.denomination));
    }
    if slot.denomination != coin.denomination {
        return Err(RecoupRefusal::NotWithdrawn(body.index));
    }
    coin.verify(denomination).map_err(RecoupRefusal::Coin)?;
    let blinded = denomination
        .public_key()
        .reblind(&coin.signature, &body.blinding)
        .map_err(RecoupRefusal::Blinding)?;
    if blinded != slot.blinded {
        return Err(RecoupRefusal::NotWithdrawn(body.index));
    }
    Ok(CheckedRecoup {
        request_digest: request.body_digest(),
        permission_digest: body.permission.body_digest(),
        coin: CoinId::of(&coin.public_key),
        denomination: coin.denomination,
        value: denomination.value(),
    })
}

#[cfg(test)]
mod tests;
