//! The demo's issuer: denomination keys, customer accounts, withdrawal and the spent-coin set.
//!
//! A stand-in for the issuer actor, in memory. Every check is made before any state changes, so a
//! refused request leaves the issuer as it was.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rand::CryptoRng;
use rayon::prelude::*;
use semper_protocol::amount::{Amount, AmountError};
use semper_protocol::batch_verifier::{BatchVerifier, PermissionError, PoolError};
use semper_protocol::bounded::{BoundedVec, TooMany};
use semper_protocol::crypto::blind_rsa::{DenominationSecretKey, RsaError, RsaKeySize};
use semper_protocol::crypto::ed25519::{SignatureError, SigningKey, VerifyingKey};
use semper_protocol::denomination::{
    Denomination, DenominationFields, DenominationSet, DenominationSetFields, SignedDenominationSet,
};
use semper_protocol::ids::{AccountId, BankId, CoinId, DenominationId, Digest};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendCheckBatch, SpendCheckResponse, SpendConfirmation, SpendResult,
};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;

use super::DemoError;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// How long after `valid_from` coins of a new denomination may be withdrawn.
const WITHDRAW_WINDOW_MS: u64 = 7 * DAY_MS;
/// How long after `valid_from` they may be deposited.
const DEPOSIT_WINDOW_MS: u64 = 90 * DAY_MS;
/// How long after `valid_from` their spent-set entries must be kept.
const RETAIN_MS: u64 = 10 * 365 * DAY_MS;

/// Why the issuer refused a request. Each variant has a stable [`IssuerError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    /// The withdraw request names an account the issuer does not hold.
    #[error("unknown account")]
    UnknownAccount,
    /// The account key's signature on the withdraw request does not verify.
    #[error("account signature: {0}")]
    AccountSignature(SignatureError),
    /// A coin asks for a denomination the issuer does not have.
    #[error("coin {index}: unknown denomination")]
    UnknownDenomination {
        /// The coin's position in the request.
        index: usize,
    },
    /// A coin asks for a denomination outside its withdraw window.
    #[error("coin {index}: denomination is not in its withdraw window")]
    WithdrawClosed {
        /// The coin's position in the request.
        index: usize,
    },
    /// The account cannot pay for the coins.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The coins' total could not be computed or debited.
    #[error("amount: {0}")]
    Amount(AmountError),
    /// A blind signature could not be made.
    #[error("coin {index}: {error}")]
    BlindSign {
        /// The coin's position in the request.
        index: usize,
        /// What went wrong.
        error: RsaError,
    },
    /// The spend-check batch comes from a bank the issuer does not know.
    #[error("unknown acquirer")]
    UnknownAcquirer,
    /// The acquirer's signature on the batch does not verify.
    #[error("acquirer signature: {0}")]
    AcquirerSignature(SignatureError),
    /// A deposit permission in the batch does not verify: the acquirer should have refused it.
    #[error("permission {index}: {error}")]
    Permission {
        /// The permission's position in the batch.
        index: usize,
        /// Why it failed.
        error: PermissionError,
    },
    /// A permission names another acquirer than the one that sent it.
    #[error("permission {index}: deposited by another acquirer than the one it names")]
    WrongAcquirer {
        /// The permission's position in the batch.
        index: usize,
    },
    /// A coin's denomination is outside its deposit window.
    #[error("permission {index}: denomination is not in its deposit window")]
    DepositClosed {
        /// The permission's position in the batch.
        index: usize,
    },
    /// An answer would be longer than its bound.
    #[error("{0}")]
    TooMany(#[from] TooMany),
}

impl IssuerError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAccount => "withdraw.unknown_account",
            Self::AccountSignature(_) => "withdraw.invalid_account_signature",
            Self::UnknownDenomination { .. } => "withdraw.unknown_denomination",
            Self::WithdrawClosed { .. } => "withdraw.window_closed",
            Self::InsufficientFunds => "withdraw.insufficient_funds",
            Self::Amount(e) => e.code(),
            Self::BlindSign { error, .. } => error.code(),
            Self::UnknownAcquirer => "spend.unknown_acquirer",
            Self::AcquirerSignature(_) => "spend.invalid_acquirer_signature",
            Self::Permission { error, .. } => error.code(),
            Self::WrongAcquirer { .. } => "spend.wrong_acquirer",
            Self::DepositClosed { .. } => "spend.deposit_window_closed",
            Self::TooMany(_) => "spend.too_many",
        }
    }
}

/// A customer account: the key that signs its withdrawals, and its balance.
struct Account {
    key: VerifyingKey,
    balance: Amount,
}

/// A coin in the spent set: the permission that spent it, and that permission's digest.
struct SpentCoin {
    digest: Digest,
    permission: SignedDepositPermission,
}

/// An issuer held in memory.
pub struct DemoIssuer {
    id: BankId,
    master_key: SigningKey,
    confirmation_key: SigningKey,
    denomination_keys: HashMap<DenominationId, DenominationSecretKey>,
    denominations: HashMap<DenominationId, Denomination>,
    accounts: HashMap<AccountId, Account>,
    acquirers: HashMap<BankId, VerifyingKey>,
    spent: HashMap<VerifyingKey, SpentCoin>,
    verifier: BatchVerifier,
}

impl DemoIssuer {
    /// An issuer with fresh master and confirmation keys, and no denominations yet.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        id: BankId,
        verify_threads: usize,
    ) -> Result<Self, PoolError> {
        Ok(Self {
            id,
            master_key: SigningKey::generate(rng),
            confirmation_key: SigningKey::generate(rng),
            denomination_keys: HashMap::new(),
            denominations: HashMap::new(),
            accounts: HashMap::new(),
            acquirers: HashMap::new(),
            spent: HashMap::new(),
            verifier: BatchVerifier::new(verify_threads)?,
        })
    }

    /// The key that signs the issuer's denomination sets.
    pub fn master_public_key(&self) -> &VerifyingKey {
        self.master_key.verifying_key()
    }

    /// The key that signs the issuer's spend confirmations.
    pub fn confirmation_public_key(&self) -> &VerifyingKey {
        self.confirmation_key.verifying_key()
    }

    /// Makes a denomination of `value` under a fresh RSA key, with windows starting at `now`.
    pub fn add_denomination(
        &mut self,
        value: Amount,
        size: RsaKeySize,
        now: Timestamp,
    ) -> Result<Denomination, DemoError> {
        let key = DenominationSecretKey::generate(size)?;
        let denomination = Denomination::new(DenominationFields {
            issuer: self.id,
            value,
            public_key: key.public_key().clone(),
            valid_from: now,
            withdraw_until: now.plus_ms(WITHDRAW_WINDOW_MS),
            deposit_until: now.plus_ms(DEPOSIT_WINDOW_MS),
            retain_until: now.plus_ms(RETAIN_MS),
        })?;
        self.denomination_keys.insert(denomination.id(), key);
        self.denominations
            .insert(denomination.id(), denomination.clone());
        Ok(denomination)
    }

    /// The set of every denomination, signed with the master key.
    pub fn publish(
        &self,
        sequence: u64,
        now: Timestamp,
    ) -> Result<SignedDenominationSet, DemoError> {
        let denominations: Vec<Denomination> = self.denominations.values().cloned().collect();
        let set = DenominationSet::new(DenominationSetFields {
            issuer: self.id,
            sequence,
            issued_at: now,
            denominations: BoundedVec::new(denominations)
                .map_err(|e| DemoError::CheckFailed(e.to_string()))?,
            revoked: BoundedVec::empty(),
        })?;
        Ok(Signed::sign(set, &self.master_key))
    }

    /// Opens `account`, whose withdrawals `key` signs, holding `balance`.
    pub fn open_account(&mut self, account: AccountId, key: VerifyingKey, balance: Amount) {
        self.accounts.insert(account, Account { key, balance });
    }

    /// The balance of `account`, if the issuer holds it.
    pub fn balance(&self, account: &AccountId) -> Option<Amount> {
        self.accounts.get(account).map(|a| a.balance)
    }

    /// Accepts spend-check batches signed by `key` as coming from acquirer `id`.
    pub fn trust_acquirer(&mut self, id: BankId, key: VerifyingKey) {
        self.acquirers.insert(id, key);
    }

    /// How many coins have been spent.
    pub fn spent_count(&self) -> usize {
        self.spent.len()
    }

    /// Checks a withdrawal, blind-signs its coins on the verification pool, and debits the account.
    pub fn withdraw(
        &mut self,
        request: &SignedWithdrawRequest,
        now: Timestamp,
    ) -> Result<WithdrawResponse, IssuerError> {
        let body = request.body();
        let account = self
            .accounts
            .get_mut(&body.account)
            .ok_or(IssuerError::UnknownAccount)?;
        request
            .verify(&account.key)
            .map_err(IssuerError::AccountSignature)?;
        let mut keys = Vec::with_capacity(body.coins.len());
        let mut total = Amount::zero(account.balance.currency());
        for (index, coin) in body.coins.iter().enumerate() {
            let denomination = self
                .denominations
                .get(&coin.denomination)
                .ok_or(IssuerError::UnknownDenomination { index })?;
            if !denomination.can_withdraw(now) {
                return Err(IssuerError::WithdrawClosed { index });
            }
            total = total
                .checked_add(denomination.value())
                .map_err(IssuerError::Amount)?;
            keys.push(
                self.denomination_keys
                    .get(&coin.denomination)
                    .ok_or(IssuerError::UnknownDenomination { index })?,
            );
        }
        let balance = match account.balance.checked_sub(total) {
            Ok(balance) => balance,
            Err(AmountError::Negative) => return Err(IssuerError::InsufficientFunds),
            Err(e) => return Err(IssuerError::Amount(e)),
        };
        let signatures = self.verifier.install(|| {
            body.coins
                .par_iter()
                .zip(keys.par_iter())
                .enumerate()
                .map(|(index, (coin, key))| {
                    key.blind_sign(&coin.blinded)
                        .map_err(|error| IssuerError::BlindSign { index, error })
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        // Every coin is signed: only now does the account pay for them.
        account.balance = balance;
        Ok(WithdrawResponse {
            request_id: body.request_id,
            blind_signatures: BoundedVec::new(signatures)?,
        })
    }

    /// Verifies a spend-check batch again, records its coins in the spent set, and answers each
    /// coin: accepted, replay or conflict, with one signed confirmation of the accepted ones.
    pub fn check_spends(
        &mut self,
        batch: &SignedSpendCheckBatch,
        now: Timestamp,
    ) -> Result<SpendCheckResponse, IssuerError> {
        let body = batch.body();
        let acquirer_key = self
            .acquirers
            .get(&body.acquirer)
            .ok_or(IssuerError::UnknownAcquirer)?;
        batch
            .verify(acquirer_key)
            .map_err(IssuerError::AcquirerSignature)?;
        // The issuer trusts no acquirer: it verifies every permission itself.
        let verdicts = self.verifier.verify(&body.permissions, &self.denominations);
        for (index, (permission, verdict)) in body.permissions.iter().zip(verdicts).enumerate() {
            verdict.map_err(|error| IssuerError::Permission { index, error })?;
            let permission = permission.body();
            if permission.acquirer != body.acquirer {
                return Err(IssuerError::WrongAcquirer { index });
            }
            let open = self
                .denominations
                .get(&permission.coin.denomination)
                .is_some_and(|d| d.can_deposit(now));
            if !open {
                return Err(IssuerError::DepositClosed { index });
            }
        }

        let mut results = Vec::with_capacity(body.permissions.len());
        let mut entries = Vec::new();
        for permission in body.permissions.iter() {
            let digest = permission.body_digest();
            let coin = &permission.body().coin;
            let result = match self.spent.entry(coin.public_key) {
                Entry::Vacant(slot) => {
                    entries.push(ConfirmedSpend {
                        coin: CoinId::of(&coin.public_key),
                        denomination: coin.denomination,
                        amount: permission.body().amount,
                        permission: digest,
                    });
                    slot.insert(SpentCoin {
                        digest,
                        permission: permission.clone(),
                    });
                    SpendResult::Accepted
                }
                Entry::Occupied(spent) if spent.get().digest == digest => SpendResult::Replay,
                Entry::Occupied(spent) => SpendResult::Conflict {
                    earlier: Box::new(spent.get().permission.clone()),
                },
            };
            results.push(result);
        }

        let confirmation = if entries.is_empty() {
            None
        } else {
            let confirmation = SpendConfirmation {
                issuer: self.id,
                acquirer: body.acquirer,
                batch_id: body.batch_id,
                confirmed_at: now,
                entries: BoundedVec::new(entries)?,
            };
            Some(Signed::sign(confirmation, &self.confirmation_key))
        };
        Ok(SpendCheckResponse {
            batch_id: body.batch_id,
            results: BoundedVec::new(results)?,
            confirmation,
        })
    }
}

#[cfg(test)]
mod tests;
