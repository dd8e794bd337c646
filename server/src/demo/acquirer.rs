//! The demo's acquirer: verifies deposits in batches, asks the issuer to check them, and credits
//! merchants from the issuer's signed confirmation.
//!
//! A stand-in for the acquirer actor, in memory.

use std::collections::HashMap;

use rand::CryptoRng;
use semper_protocol::acquirer::proves_double_spend;
use semper_protocol::amount::{Amount, AmountError};
use semper_protocol::batch_verifier::{BatchVerifier, PermissionError, PoolError};
use semper_protocol::bounded::{BoundedVec, TooMany};
use semper_protocol::crypto::ed25519::{SignatureError, SigningKey, VerifyingKey};
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::ids::{BankId, BatchId, CoinId, DenominationId, MerchantId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::{
    SignedSpendCheckBatch, SpendCheckBatch, SpendCheckResponse, SpendResult,
};
use semper_protocol::signed::Signed;

/// Why the acquirer refused an issuer's answer. Each variant has a stable [`AcquirerError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcquirerError {
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
    /// Coins were accepted but nothing confirms them, or nothing was accepted yet a
    /// confirmation came.
    #[error("the confirmation does not match the accepted coins")]
    ConfirmationMismatch,
    /// The confirmation names an issuer whose confirmation key the acquirer does not have.
    #[error("unknown issuer")]
    UnknownIssuer,
    /// The issuer's signature on the confirmation does not verify.
    #[error("confirmation signature: {0}")]
    ConfirmationSignature(SignatureError),
    /// A conflict's proof is not a different permission signed by the same coin.
    #[error("the double-spend proof does not hold")]
    BadConflictProof,
    /// Credits could not be added up.
    #[error("amount: {0}")]
    Amount(#[from] AmountError),
}

impl AcquirerError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongBatch => "spend.wrong_batch",
            Self::WrongCount { .. } => "spend.wrong_count",
            Self::ConfirmationMismatch => "spend.confirmation_mismatch",
            Self::UnknownIssuer => "spend.unknown_issuer",
            Self::ConfirmationSignature(_) => "spend.invalid_confirmation_signature",
            Self::BadConflictProof => "spend.bad_conflict_proof",
            Self::Amount(e) => e.code(),
        }
    }
}

/// An acquirer held in memory.
pub struct DemoAcquirer {
    id: BankId,
    bank_key: SigningKey,
    denominations: HashMap<DenominationId, Denomination>,
    confirmation_keys: HashMap<BankId, VerifyingKey>,
    credits: HashMap<MerchantId, Amount>,
    verifier: BatchVerifier,
}

impl DemoAcquirer {
    /// An acquirer with a fresh bank key, knowing no issuer yet.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        id: BankId,
        verify_threads: usize,
    ) -> Result<Self, PoolError> {
        Ok(Self {
            id,
            bank_key: SigningKey::generate(rng),
            denominations: HashMap::new(),
            confirmation_keys: HashMap::new(),
            credits: HashMap::new(),
            verifier: BatchVerifier::new(verify_threads)?,
        })
    }

    /// The key that signs this acquirer's spend-check batches.
    pub fn bank_public_key(&self) -> &VerifyingKey {
        self.bank_key.verifying_key()
    }

    /// Takes an issuer's denomination set, signed by `master_key`, and the key that signs its
    /// confirmations. Revoked denominations are left out.
    pub fn trust_issuer(
        &mut self,
        set: &SignedDenominationSet,
        master_key: &VerifyingKey,
        confirmation_key: VerifyingKey,
    ) -> Result<(), SignatureError> {
        set.verify(master_key)?;
        let set = set.body();
        for denomination in set.fields().denominations.iter() {
            if !set.is_revoked(&denomination.id()) {
                self.denominations
                    .insert(denomination.id(), denomination.clone());
            }
        }
        self.confirmation_keys
            .insert(set.fields().issuer, confirmation_key);
        Ok(())
    }

    /// The verdict on each deposit permission, in order: one batch on the verification pool.
    pub fn verify_deposits(
        &self,
        permissions: &[SignedDepositPermission],
    ) -> Vec<Result<(), PermissionError>> {
        self.verifier.verify(permissions, &self.denominations)
    }

    /// A spend-check batch of verified `permissions`, signed with the bank key.
    pub fn spend_check_batch(
        &self,
        batch_id: BatchId,
        permissions: Vec<SignedDepositPermission>,
    ) -> Result<SignedSpendCheckBatch, TooMany> {
        let batch = SpendCheckBatch {
            acquirer: self.id,
            batch_id,
            permissions: BoundedVec::new(permissions)?,
        };
        Ok(Signed::sign(batch, &self.bank_key))
    }

    /// Checks the issuer's answer to `batch` and credits each merchant for its accepted coins.
    /// Returns the total credited: none when no coin was accepted.
    pub fn settle(
        &mut self,
        batch: &SignedSpendCheckBatch,
        response: &SpendCheckResponse,
    ) -> Result<Option<Amount>, AcquirerError> {
        let body = batch.body();
        if response.batch_id != body.batch_id {
            return Err(AcquirerError::WrongBatch);
        }
        if response.results.len() != body.permissions.len() {
            return Err(AcquirerError::WrongCount {
                expected: body.permissions.len(),
                found: response.results.len(),
            });
        }
        let accepted: Vec<&SignedDepositPermission> = body
            .permissions
            .iter()
            .zip(response.results.iter())
            .filter(|(_, result)| matches!(result, SpendResult::Accepted))
            .map(|(permission, _)| permission)
            .collect();
        let confirmation = match (&response.confirmation, accepted.is_empty()) {
            (None, true) => return Ok(None),
            (Some(confirmation), false) => confirmation,
            _ => return Err(AcquirerError::ConfirmationMismatch),
        };
        let issuer = confirmation.body().issuer;
        let key = self
            .confirmation_keys
            .get(&issuer)
            .ok_or(AcquirerError::UnknownIssuer)?;
        confirmation
            .verify(key)
            .map_err(AcquirerError::ConfirmationSignature)?;
        let entries = &confirmation.body().entries;
        let matches = confirmation.body().acquirer == self.id
            && confirmation.body().batch_id == body.batch_id
            && entries.len() == accepted.len()
            && entries.iter().zip(&accepted).all(|(entry, permission)| {
                let spent = permission.body();
                entry.permission == permission.body_digest()
                    && entry.coin == CoinId::of(&spent.coin.public_key)
                    && entry.denomination == spent.coin.denomination
                    && entry.amount == spent.amount
                    && self
                        .denominations
                        .get(&entry.denomination)
                        .is_some_and(|d| d.issuer() == issuer)
            });
        if !matches {
            return Err(AcquirerError::ConfirmationMismatch);
        }
        let total = confirmation.total()?;
        for permission in accepted {
            let spent = permission.body();
            let credit = match self.credits.get(&spent.merchant) {
                Some(credit) => credit.checked_add(spent.amount)?,
                None => spent.amount,
            };
            self.credits.insert(spent.merchant, credit);
        }
        Ok(total)
    }

    /// Checks a double-spend proof: `earlier` is another permission signed by the same coin.
    pub fn check_conflict(
        &self,
        permission: &SignedDepositPermission,
        earlier: &SignedDepositPermission,
    ) -> Result<(), AcquirerError> {
        if proves_double_spend(permission, &permission.body_digest(), earlier) {
            Ok(())
        } else {
            Err(AcquirerError::BadConflictProof)
        }
    }

    /// What `merchant` has been credited so far.
    pub fn credit(&self, merchant: &MerchantId) -> Option<Amount> {
        self.credits.get(merchant).copied()
    }
}
