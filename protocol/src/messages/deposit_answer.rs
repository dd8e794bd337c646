//! The acquirer's signed answer to a merchant's deposit, and the merchant's check of it.
//!
//! A merchant ships goods on "accepted". Signed by the acquirer's bank key, that answer cannot be
//! forged on the path: [`verify_deposit_answer`] accepts it only if the acquirer's key signed it,
//! and only for the very request the merchant sent (its digest, its merchant, its deposit id, one
//! result per permission). What the merchant was credited is derived from the signed verdicts and
//! the permissions the digest commits to, so it can never disagree with them.

use serde::{Deserialize, Serialize};

use crate::amount::{Amount, AmountError};
use crate::bounded::BoundedVec;
use crate::codec_struct;
use crate::crypto::ed25519::{SignatureError, VerifyingKey};
use crate::ids::{BankId, Digest, MerchantId, RequestId};
use crate::limits::DEPOSIT_COINS_MAX;
use crate::messages::merchant::{DepositRequest, DepositResponse, DepositResult};
use crate::signed::Signed;

/// What the acquirer signs in answer to a deposit: see [`SignedDepositAnswer`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositAnswer {
    /// The acquirer answering: whose bank key signs.
    pub acquirer: BankId,
    /// The merchant credited.
    pub merchant: MerchantId,
    /// The deposit answered.
    pub deposit_id: RequestId,
    /// SHA-256 of the signed deposit request's body ([`Signed::body_digest`]): the exact
    /// permissions, hence the amounts, that the results are about.
    pub request_digest: Digest,
    /// One result per permission, in the request's order.
    pub results: BoundedVec<DepositResult, DEPOSIT_COINS_MAX>,
}

codec_struct!(message "semper/deposit-answer" v 3, DepositAnswer {
    acquirer,
    merchant,
    deposit_id,
    request_digest,
    results
});

/// A deposit answer with the acquirer's bank-key signature: what `POST /v1/acquirer/deposits`
/// answers.
pub type SignedDepositAnswer = Signed<DepositAnswer>;

impl DepositAnswer {
    /// The answer `acquirer` signs for `response`, to the request whose body digest is
    /// `request_digest`.
    pub fn new(acquirer: BankId, request_digest: Digest, response: DepositResponse) -> Self {
        Self {
            acquirer,
            merchant: response.merchant,
            deposit_id: response.deposit_id,
            request_digest,
            results: response.results,
        }
    }
}

/// Why a merchant must not trust a deposit answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DepositAnswerError {
    /// Not signed by the acquirer's bank key.
    #[error("the acquirer's signature: {0}")]
    Signature(#[from] SignatureError),
    /// Signed, but by or for another acquirer than the merchant's.
    #[error("answer of acquirer {got}, expected {expected}")]
    WrongAcquirer {
        /// The merchant's acquirer.
        expected: BankId,
        /// The one the answer names.
        got: BankId,
    },
    /// An answer to another request: another merchant, deposit id or body.
    #[error("answer to another request")]
    WrongRequest,
    /// Not one result per permission.
    #[error("{results} results for {permissions} permissions")]
    WrongCount {
        /// Permissions in the request.
        permissions: usize,
        /// Results in the answer.
        results: usize,
    },
    /// The coins credited overflow an amount.
    #[error("credited total: {0}")]
    Total(#[from] AmountError),
}

impl DepositAnswerError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Signature(_) => "deposit_answer.invalid_signature",
            Self::WrongAcquirer { .. } => "deposit_answer.wrong_acquirer",
            Self::WrongRequest => "deposit_answer.wrong_request",
            Self::WrongCount { .. } => "deposit_answer.wrong_count",
            Self::Total(_) => "deposit_answer.overflow",
        }
    }
}

/// A deposit answer the merchant has checked: signed by its acquirer, for its request. Only
/// [`verify_deposit_answer`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDepositAnswer {
    answer: DepositAnswer,
    credited: Vec<Amount>,
}

impl VerifiedDepositAnswer {
    /// The answer, checked.
    pub fn answer(&self) -> &DepositAnswer {
        &self.answer
    }

    /// One result per permission, in the request's order.
    pub fn results(&self) -> &[DepositResult] {
        &self.answer.results
    }

    /// What this deposit credited the merchant: the accepted coins' amounts, summed per currency,
    /// sorted by currency.
    pub fn credited(&self) -> &[Amount] {
        &self.credited
    }

    /// The answer in the form the acquirer keeps (and the server's status endpoint names).
    pub fn into_response(self) -> DepositResponse {
        DepositResponse {
            merchant: self.answer.merchant,
            deposit_id: self.answer.deposit_id,
            results: self.answer.results,
        }
    }
}

/// The merchant's check of `answer`: signed by `acquirer_key`, the key of `acquirer`, and an
/// answer to `request`, the signed request the merchant sent. A pure function: no clock, no I/O.
pub fn verify_deposit_answer(
    answer: &SignedDepositAnswer,
    acquirer: BankId,
    acquirer_key: &VerifyingKey,
    request: &Signed<DepositRequest>,
) -> Result<VerifiedDepositAnswer, DepositAnswerError> {
    answer.verify(acquirer_key)?;
    let body = answer.body();
    if body.acquirer != acquirer {
        return Err(DepositAnswerError::WrongAcquirer {
            expected: acquirer,
            got: body.acquirer,
        });
    }
    let sent = request.body();
    if body.merchant != sent.merchant
        || body.deposit_id != sent.deposit_id
        || body.request_digest != request.body_digest()
    {
        return Err(DepositAnswerError::WrongRequest);
    }
    if body.results.len() != sent.permissions.len() {
        return Err(DepositAnswerError::WrongCount {
            permissions: sent.permissions.len(),
            results: body.results.len(),
        });
    }
    let accepted = body
        .results
        .iter()
        .zip(sent.permissions.iter())
        .filter(|(result, _)| matches!(result, DepositResult::Accepted))
        .map(|(_, permission)| permission.body().amount);
    let credited = Amount::sum_per_currency(accepted)?;
    Ok(VerifiedDepositAnswer {
        answer: body.clone(),
        credited,
    })
}

#[cfg(test)]
mod tests;
