//! The wallet's side of each protocol, as plain functions: for wallets, tests and the load test.

use std::fmt;

use rand::CryptoRng;

use crate::amount::Amount;
use crate::bounded::BoundedVec;
use crate::crypto::blind_rsa::{BlindingSecret, RsaError};
use crate::crypto::ed25519::SigningKey;
use crate::denomination::Denomination;
use crate::ids::{AccountId, BankId, ContractHash, MerchantId, RequestId};
use crate::messages::coin::Coin;
use crate::messages::deposit::{DepositPermission, SignedDepositPermission};
use crate::messages::withdraw::{
    BlindedCoin, SignedWithdrawRequest, WithdrawRequest, WithdrawResponse,
};
use crate::signed::Signed;
use crate::time::Timestamp;

/// Why a wallet operation failed. Each variant has a stable [`WalletError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// More coins than one request may carry.
    #[error("too many coins in one withdrawal: {0}")]
    TooManyCoins(usize),
    /// The issuer answered a different request.
    #[error("the response is for another request")]
    WrongRequest,
    /// The issuer answered with the wrong number of signatures.
    #[error("expected {expected} blind signatures, got {found}")]
    WrongCount {
        /// Coins requested.
        expected: usize,
        /// Signatures received.
        found: usize,
    },
    /// Blinding failed, or a blind signature did not finalize into a valid coin.
    #[error("coin {index}: {error}")]
    Coin {
        /// The coin's position in the request.
        index: usize,
        /// What went wrong.
        error: RsaError,
    },
}

impl WalletError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooManyCoins(_) => "wallet.too_many_coins",
            Self::WrongRequest => "wallet.wrong_request",
            Self::WrongCount { .. } => "wallet.wrong_count",
            Self::Coin { error, .. } => error.code(),
        }
    }
}

/// A coin waiting for its blind signature. Its `Debug` form shows no secret.
pub struct PlannedCoin {
    denomination: Denomination,
    coin_key: SigningKey,
    secret: BlindingSecret,
}

impl fmt::Debug for PlannedCoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PlannedCoin({:?}, {:?})",
            self.denomination.id(),
            self.coin_key.verifying_key()
        )
    }
}

/// A spendable coin with its secret key. Its `Debug` form shows no secret.
#[derive(Clone)]
pub struct WalletCoin {
    coin: Coin,
    coin_key: SigningKey,
    value: Amount,
}

impl WalletCoin {
    /// The coin.
    pub fn coin(&self) -> &Coin {
        &self.coin
    }

    /// What it is worth.
    pub fn value(&self) -> Amount {
        self.value
    }
}

impl fmt::Debug for WalletCoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletCoin({:?}, {})", self.coin.public_key, self.value)
    }
}

/// Makes a fresh coin key per denomination, blinds each coin and signs the withdraw request.
pub fn prepare_withdraw<R: CryptoRng + ?Sized>(
    rng: &mut R,
    account_key: &SigningKey,
    account: AccountId,
    request_id: RequestId,
    denominations: &[Denomination],
) -> Result<(SignedWithdrawRequest, Vec<PlannedCoin>), WalletError> {
    let mut planned = Vec::with_capacity(denominations.len());
    let mut blinded = Vec::with_capacity(denominations.len());
    for (index, denomination) in denominations.iter().enumerate() {
        let coin_key = SigningKey::generate(rng);
        let message = Coin::message_for(denomination.id(), *coin_key.verifying_key());
        let (blinded_message, secret) = denomination
            .public_key()
            .blind(rng, &message)
            .map_err(|error| WalletError::Coin { index, error })?;
        blinded.push(BlindedCoin {
            denomination: denomination.id(),
            blinded: blinded_message,
        });
        planned.push(PlannedCoin {
            denomination: denomination.clone(),
            coin_key,
            secret,
        });
    }
    let coins = BoundedVec::new(blinded).map_err(|e| WalletError::TooManyCoins(e.len))?;
    let request = WithdrawRequest {
        account,
        request_id,
        coins,
    };
    Ok((Signed::sign(request, account_key), planned))
}

/// Unblinds the issuer's signatures into coins, checking each one.
pub fn finalize_coins(
    request_id: RequestId,
    planned: Vec<PlannedCoin>,
    response: &WithdrawResponse,
) -> Result<Vec<WalletCoin>, WalletError> {
    if response.request_id != request_id {
        return Err(WalletError::WrongRequest);
    }
    if response.blind_signatures.len() != planned.len() {
        return Err(WalletError::WrongCount {
            expected: planned.len(),
            found: response.blind_signatures.len(),
        });
    }
    planned
        .into_iter()
        .zip(response.blind_signatures.iter())
        .enumerate()
        .map(|(index, (plan, blind_signature))| {
            let id = plan.denomination.id();
            let public_key = *plan.coin_key.verifying_key();
            let message = Coin::message_for(id, public_key);
            let signature = plan
                .denomination
                .public_key()
                .finalize(blind_signature, &plan.secret, &message)
                .map_err(|error| WalletError::Coin { index, error })?;
            Ok(WalletCoin {
                coin: Coin {
                    denomination: id,
                    public_key,
                    signature,
                },
                coin_key: plan.coin_key,
                value: plan.denomination.value(),
            })
        })
        .collect()
}

/// Signs the permission to deposit `coin` with `merchant` at `acquirer` for `contract_hash`.
pub fn sign_deposit_permission(
    coin: &WalletCoin,
    contract_hash: ContractHash,
    merchant: MerchantId,
    acquirer: BankId,
    timestamp: Timestamp,
) -> SignedDepositPermission {
    let permission = DepositPermission {
        coin: coin.coin.clone(),
        contract_hash,
        merchant,
        acquirer,
        amount: coin.value,
        timestamp,
    };
    Signed::sign(permission, &coin.coin_key)
}

#[cfg(test)]
mod tests;
