//! The wallet's side of each protocol, as plain functions: for wallets, tests and the load test.

use std::fmt;

use rand::CryptoRng;

use crate::amount::{Amount, AmountError};
use crate::bounded::BoundedVec;
use crate::crypto::blind_rsa::{BlindSignature, BlindingInverse, BlindingSecret, RsaError};
use crate::crypto::ed25519::SigningKey;
use crate::denomination::Denomination;
use crate::ids::{AccountId, BankId, ContractHash, MerchantId, RequestId};
use crate::messages::coin::Coin;
use crate::messages::deposit::{DepositPermission, SignedDepositPermission};
use crate::messages::recoup::{RecoupPermission, RecoupRequest, SignedRecoupRequest};
use crate::messages::swap::{
    SignedSwapPermission, SwapPermission, SwapRequest, SwapResponse, outputs_digest,
};
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

/// A spendable coin with its secret key, and the inverse of its blinding factor (to recoup it,
/// should its denomination be revoked). Its `Debug` form shows no secret.
#[derive(Clone)]
pub struct WalletCoin {
    coin: Coin,
    coin_key: SigningKey,
    value: Amount,
    blinding: BlindingInverse,
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

    /// The coin's key, for tests that sign what a wallet would not.
    #[cfg(test)]
    pub(crate) fn coin_key(&self) -> &SigningKey {
        &self.coin_key
    }

    /// The coin as a refund left it (docs/protocol.md §7.21): deposited, so spent, yet worth
    /// `refunded` once more, in a swap and in nothing else. Give it to [`prepare_swap`] and
    /// [`swap_value`] for its fresh coins; a deposit of it is a double spend.
    pub fn refunded(&self, refunded: Amount) -> WalletCoin {
        WalletCoin {
            value: refunded,
            ..self.clone()
        }
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
    let (coins, planned) = blind_coins(rng, denominations)?;
    let request = WithdrawRequest {
        account,
        request_id,
        coins,
    };
    Ok((Signed::sign(request, account_key), planned))
}

/// Builds a swap (change): `given` are spent, each with its key's permission for this request,
/// for fresh coins of `wanted`, which must be worth the given coins less their swap fees
/// ([`swap_value`]).
pub fn prepare_swap<R: CryptoRng + ?Sized>(
    rng: &mut R,
    request_id: RequestId,
    given: &[WalletCoin],
    wanted: &[Denomination],
) -> Result<(SwapRequest, Vec<PlannedCoin>), WalletError> {
    let (outputs, planned) = blind_coins(rng, wanted)?;
    let digest = outputs_digest(&outputs);
    let permissions: Vec<SignedSwapPermission> = given
        .iter()
        .map(|coin| {
            let permission = SwapPermission {
                coin: coin.coin.clone(),
                request_id,
                outputs: digest,
            };
            Signed::sign(permission, &coin.coin_key)
        })
        .collect();
    let coins = BoundedVec::new(permissions).map_err(|e| WalletError::TooManyCoins(e.len))?;
    let request = SwapRequest {
        request_id,
        coins,
        outputs,
    };
    Ok((request, planned))
}

/// What fresh coins the coins of `given` swap for: their values less their swap fees, as their
/// denominations say. The wallet shows it before it sends the swap.
pub fn swap_value(given: &[(&WalletCoin, &Denomination)]) -> Result<Amount, AmountError> {
    let mut total: Option<Amount> = None;
    for (coin, denomination) in given {
        let net = coin.value.checked_sub(denomination.fees().swap)?;
        total = Some(match total {
            None => net,
            Some(sum) => sum.checked_add(net)?,
        });
    }
    total.ok_or(AmountError::Negative)
}

/// Denominations worth exactly `amount`, largest first, from those `available` (greedy, which
/// is exact when each value divides the next, as 1-2-5 series do); `None` when none add up.
pub fn change_for(amount: Amount, available: &[Denomination]) -> Option<Vec<Denomination>> {
    let mut by_value: Vec<&Denomination> = available
        .iter()
        .filter(|d| d.value().currency() == amount.currency())
        .collect();
    by_value.sort_by_key(|d| std::cmp::Reverse(d.value().minor_units()));
    let mut left = amount.minor_units();
    let mut chosen = Vec::new();
    for denomination in by_value {
        let value = denomination.value().minor_units();
        while left >= value {
            left -= value;
            chosen.push(denomination.clone());
        }
    }
    (left == 0).then_some(chosen)
}

/// A fresh coin key per denomination, each coin blinded under its denomination's key.
fn blind_coins<R: CryptoRng + ?Sized, const N: usize>(
    rng: &mut R,
    denominations: &[Denomination],
) -> Result<(BoundedVec<BlindedCoin, N>, Vec<PlannedCoin>), WalletError> {
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
    Ok((coins, planned))
}

/// Unblinds the issuer's signatures into coins, checking each one.
pub fn finalize_coins(
    request_id: RequestId,
    planned: Vec<PlannedCoin>,
    response: &WithdrawResponse,
) -> Result<Vec<WalletCoin>, WalletError> {
    unblind(
        request_id,
        planned,
        response.request_id,
        &response.blind_signatures,
    )
}

/// Unblinds the issuer's answer to a swap into the fresh coins, checking each one.
pub fn finalize_swap(
    request_id: RequestId,
    planned: Vec<PlannedCoin>,
    response: &SwapResponse,
) -> Result<Vec<WalletCoin>, WalletError> {
    unblind(
        request_id,
        planned,
        response.request_id,
        &response.blind_signatures,
    )
}

fn unblind(
    request_id: RequestId,
    planned: Vec<PlannedCoin>,
    answered: RequestId,
    blind_signatures: &[BlindSignature],
) -> Result<Vec<WalletCoin>, WalletError> {
    if answered != request_id {
        return Err(WalletError::WrongRequest);
    }
    if blind_signatures.len() != planned.len() {
        return Err(WalletError::WrongCount {
            expected: planned.len(),
            found: blind_signatures.len(),
        });
    }
    planned
        .into_iter()
        .zip(blind_signatures.iter())
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
                blinding: plan.secret.inverse(),
            })
        })
        .collect()
}

/// Builds the recoup of `coin`, a coin of a revoked denomination that `withdrawal` (as the account
/// signed it) withdrew at position `index`: the coin's key consents to credit the withdrawal's
/// account, and the account key signs the whole.
pub fn prepare_recoup(
    account_key: &SigningKey,
    withdrawal: &WithdrawRequest,
    index: u32,
    coin: &WalletCoin,
) -> SignedRecoupRequest {
    let permission = RecoupPermission {
        coin: coin.coin.clone(),
        account: withdrawal.account,
    };
    let request = RecoupRequest {
        withdrawal: withdrawal.clone(),
        index,
        blinding: coin.blinding.clone(),
        permission: Signed::sign(permission, &coin.coin_key),
    };
    Signed::sign(request, account_key)
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
