//! Checking a settlement submission: the acquirer's signature once, then each spend and refund
//! confirmation on its own, with the issuer signatures verified in batches, bisected when one
//! fails, so one bad confirmation never refuses its neighbours.

use std::collections::HashSet;

use crate::amount::{Amount, AmountError};
use crate::bounded::BoundedVec;
use crate::codec::{Encode, Message};
use crate::crypto::ed25519::{self, BatchItem, SignatureError, VerifyingKey};
use crate::ids::{BankId, CoinId};
use crate::limits::{SUBMISSION_CONFIRMATIONS_MAX, SUBMISSION_ENTRIES_MAX, SUBMISSION_REFUNDS_MAX};
use crate::messages::refund::SignedRefundConfirmation;
use crate::messages::settlement::SignedSettlementSubmission;
use crate::messages::spend::SignedSpendConfirmation;
use crate::signed::Signed;

use super::claim::{CoinKey, ConfirmationKey, RefundKey};
use super::participants::Participants;

/// Why a whole submission was refused. Each variant has a stable [`SubmissionRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionRefusal {
    /// The submitter is not a registered acquirer.
    #[error("unknown acquirer")]
    UnknownAcquirer,
    /// The acquirer's signature on the submission does not verify.
    #[error("acquirer signature: {0}")]
    AcquirerSignature(SignatureError),
    /// The confirmations hold more coins than one submission may: split it.
    #[error(
        "{entries} confirmed coins in one submission, over the bound of {SUBMISSION_ENTRIES_MAX}"
    )]
    TooManyEntries {
        /// The coins the submission holds.
        entries: usize,
    },
}

impl SubmissionRefusal {
    /// The stable error code that the link layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAcquirer => "submission.unknown_acquirer",
            Self::AcquirerSignature(_) => "submission.invalid_acquirer_signature",
            Self::TooManyEntries { .. } => "submission.too_many_entries",
        }
    }
}

/// Why one confirmation of a submission was not counted. Each has a stable
/// [`ConfirmationRefusal::code`], which the receipt carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmationRefusal {
    /// The confirmation is owed to another acquirer than the submitter.
    #[error("confirmation is owed to another acquirer")]
    WrongAcquirer,
    /// Its issuer is not a registered issuer.
    #[error("unknown issuer")]
    UnknownIssuer,
    /// The issuer's signature does not verify.
    #[error("issuer signature does not verify")]
    BadSignature,
    /// It confirms no coin.
    #[error("confirmation has no entries")]
    Empty,
    /// Its coins are in more than one currency.
    #[error("confirmation mixes currencies")]
    MixedCurrencies,
    /// Its total does not fit in 64 bits.
    #[error("confirmation total overflows")]
    AmountOverflow,
    /// It lists a coin twice, so its total would count that coin twice.
    #[error("confirmation lists a coin twice")]
    DuplicateCoin,
    /// A refund confirmation whose fee is in another currency than its amount, or not below it.
    #[error("refund fee not in the amount's currency or not below it")]
    BadFee,
}

impl ConfirmationRefusal {
    /// The stable error code, as the receipt reports it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongAcquirer => "confirmation.wrong_acquirer",
            Self::UnknownIssuer => "confirmation.unknown_issuer",
            Self::BadSignature => "confirmation.bad_signature",
            Self::Empty => "confirmation.empty",
            Self::MixedCurrencies => "confirmation.mixed_currencies",
            Self::AmountOverflow => "confirmation.amount_overflow",
            Self::DuplicateCoin => "confirmation.duplicate_coin",
            Self::BadFee => "confirmation.bad_fee",
        }
    }
}

/// A confirmation that passed every check: what claiming it would count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimable {
    /// Its identity: claimed once.
    pub key: ConfirmationKey,
    /// Its total, in its one currency.
    pub amount: Amount,
    /// The coins it confirms, each claimed at most once across all confirmations.
    pub coins: Vec<CoinId>,
}

impl Claimable {
    /// The identity of each of its coins.
    pub fn coin_keys(&self) -> impl Iterator<Item = CoinKey> + '_ {
        self.coins.iter().map(|coin| CoinKey {
            issuer: self.key.issuer,
            coin: *coin,
        })
    }
}

/// What checking one confirmation decided.
pub type Verdict = Result<Claimable, ConfirmationRefusal>;

/// A refund confirmation that passed every check: what settling it would count, owed by its
/// acquirer to its issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundClaimable {
    /// Its identity: the issuer and the refund, settled once.
    pub key: RefundKey,
    /// The acquirer that owes it.
    pub acquirer: BankId,
    /// What the acquirer owes.
    pub amount: Amount,
    /// The refund fee the issuer kept.
    pub fee: Amount,
}

/// What checking one refund confirmation decided.
pub type RefundVerdict = Result<RefundClaimable, ConfirmationRefusal>;

/// Checks that a registered acquirer signed the submission and that it is within its bound.
/// The bound is checked first, so an oversized submission costs no signature check.
pub fn authenticate(
    submission: &SignedSettlementSubmission,
    participants: &Participants,
) -> Result<(), SubmissionRefusal> {
    let body = submission.body();
    let key = participants
        .acquirer_key(&body.acquirer)
        .ok_or(SubmissionRefusal::UnknownAcquirer)?;
    // At most 1024 confirmations of at most 4096 entries: the sum cannot overflow.
    let entries: usize = body
        .confirmations
        .iter()
        .map(|confirmation| confirmation.body().entries.len())
        .sum();
    if entries > SUBMISSION_ENTRIES_MAX {
        return Err(SubmissionRefusal::TooManyEntries { entries });
    }
    submission
        .verify(key)
        .map_err(SubmissionRefusal::AcquirerSignature)
}

/// A verdict for each confirmation of an authenticated submission, in order. Cheap checks run
/// first, so only confirmations that pass them cost a signature check.
pub fn check_confirmations(
    submission: &SignedSettlementSubmission,
    participants: &Participants,
) -> BoundedVec<Verdict, SUBMISSION_CONFIRMATIONS_MAX> {
    let body = submission.body();
    check_each(
        body.acquirer,
        &body.confirmations,
        participants,
        |confirmation| (confirmation.acquirer, confirmation.issuer),
        claimable,
    )
}

/// A verdict for each refund confirmation of an authenticated submission, in order, checked as
/// the spend confirmations are: whose, from whom, the issuer's signature, then the content.
pub fn check_refunds(
    submission: &SignedSettlementSubmission,
    participants: &Participants,
) -> BoundedVec<RefundVerdict, SUBMISSION_REFUNDS_MAX> {
    let body = submission.body();
    check_each(
        body.acquirer,
        &body.refunds,
        participants,
        |confirmation| (confirmation.acquirer, confirmation.issuer),
        refund_claimable,
    )
}

/// A verdict for each issuer-signed confirmation that the submitting `acquirer` passes on, in
/// order: whose it is and from which issuer (`parties` gives its acquirer and issuer), the
/// issuer's signature (in one batch for all that passed so far), then its `content`.
fn check_each<T: Message + Encode, V, const MAX: usize>(
    acquirer: BankId,
    confirmations: &BoundedVec<Signed<T>, MAX>,
    participants: &Participants,
    parties: impl Fn(&T) -> (BankId, BankId),
    content: impl Fn(&Signed<T>) -> Result<V, ConfirmationRefusal>,
) -> BoundedVec<Result<V, ConfirmationRefusal>, MAX> {
    let prechecked = confirmations.map(|confirmation| {
        let (confirmation_acquirer, issuer) = parties(confirmation.body());
        let key = precheck(acquirer, confirmation_acquirer, issuer, participants);
        (confirmation, key)
    });
    // One answer per confirmation, in order.
    let mut checked = verify_prechecked(&prechecked).into_iter();
    prechecked.map(|(confirmation, _)| {
        let signature = checked
            .next()
            .unwrap_or(Err(ConfirmationRefusal::BadSignature));
        signature.and_then(|()| content(confirmation))
    })
}

/// Whether each prechecked signed message passed its precheck and its signature, in order: the
/// signatures of those that passed the precheck are verified in one batch, bisected on failure.
fn verify_prechecked<T: Message + Encode>(
    prechecked: &[(&Signed<T>, Result<&VerifyingKey, ConfirmationRefusal>)],
) -> Vec<Result<(), ConfirmationRefusal>> {
    let messages: Vec<Vec<u8>> = prechecked
        .iter()
        .filter(|(_, key)| key.is_ok())
        .map(|(signed, _)| signed.body().to_bytes())
        .collect();
    let items: Vec<BatchItem<'_>> = prechecked
        .iter()
        .filter_map(|(signed, key)| Some((signed, *key.as_ref().ok()?)))
        .zip(&messages)
        .map(|((signed, key), message)| BatchItem {
            key,
            message,
            signature: signed.signature(),
        })
        .collect();
    let mut signatures_ok = ed25519::verify_each(&items).into_iter();
    prechecked
        .iter()
        .map(|(_, key)| {
            key.as_ref().map_err(|refusal| *refusal)?;
            // One answer per item that was checked, in the same order.
            if signatures_ok.next().unwrap_or(false) {
                Ok(())
            } else {
                Err(ConfirmationRefusal::BadSignature)
            }
        })
        .collect()
}

/// The checks that need no signature: whose confirmation it is (its acquirer must be the
/// submitting `acquirer`), and from which registered issuer.
fn precheck(
    acquirer: BankId,
    confirmation_acquirer: BankId,
    issuer: BankId,
    participants: &Participants,
) -> Result<&VerifyingKey, ConfirmationRefusal> {
    if confirmation_acquirer != acquirer {
        return Err(ConfirmationRefusal::WrongAcquirer);
    }
    participants
        .issuer_key(&issuer)
        .ok_or(ConfirmationRefusal::UnknownIssuer)
}

/// The checks of a signed refund confirmation's content: an amount, and a fee in its currency
/// below it.
fn refund_claimable(confirmation: &SignedRefundConfirmation) -> RefundVerdict {
    let body = confirmation.body();
    if body.amount.minor_units() == 0 {
        return Err(ConfirmationRefusal::Empty);
    }
    if body.fee.currency() != body.amount.currency()
        || body.fee.minor_units() >= body.amount.minor_units()
    {
        return Err(ConfirmationRefusal::BadFee);
    }
    Ok(RefundClaimable {
        key: RefundKey {
            issuer: body.issuer,
            refund: body.refund,
        },
        acquirer: body.acquirer,
        amount: body.amount,
        fee: body.fee,
    })
}

/// The checks of a signed confirmation's content: one currency, a total, each coin once.
fn claimable(confirmation: &SignedSpendConfirmation) -> Verdict {
    let amount = match confirmation.total() {
        Ok(Some(amount)) => amount,
        Ok(None) => return Err(ConfirmationRefusal::Empty),
        Err(AmountError::CurrencyMismatch { .. }) => {
            return Err(ConfirmationRefusal::MixedCurrencies);
        }
        Err(_) => return Err(ConfirmationRefusal::AmountOverflow),
    };
    let body = confirmation.body();
    let mut seen = HashSet::with_capacity(body.entries.len());
    let coins: Vec<CoinId> = body.entries.iter().map(|entry| entry.coin).collect();
    if !coins.iter().all(|coin| seen.insert(*coin)) {
        return Err(ConfirmationRefusal::DuplicateCoin);
    }
    Ok(Claimable {
        key: ConfirmationKey {
            issuer: body.issuer,
            acquirer: body.acquirer,
            batch_id: body.batch_id,
        },
        amount,
        coins,
    })
}
