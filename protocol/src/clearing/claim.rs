//! Claims: a confirmation is counted once, by its (issuer, acquirer, batch), and a coin at most
//! once across every confirmation, since an issuer confirms a replayed coin again in a later
//! batch. A confirmation is claimed whole or not at all. A refund confirmation is counted once,
//! by its (issuer, refund).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::codec_struct;
use crate::ids::{BankId, BatchId, CoinId, Digest, SubmissionId};
use crate::messages::receipt::ClaimResult;

use super::check::{Claimable, RefundClaimable, RefundVerdict, Verdict};

/// The identity of a confirmation: what may be claimed once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfirmationKey {
    /// The issuer that confirmed.
    pub issuer: BankId,
    /// The acquirer owed.
    pub acquirer: BankId,
    /// The spend-check batch confirmed.
    pub batch_id: BatchId,
}

/// The identity of a coin: its issuer and its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoinKey {
    /// The coin's issuer.
    pub issuer: BankId,
    /// The coin's public key.
    pub coin: CoinId,
}

/// The identity of a refund confirmation: its issuer and the refund. The refund's digest names
/// the merchant's signed request, so it is one refund wherever it is submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefundKey {
    /// The coin's issuer, which confirmed the refund and is owed.
    pub issuer: BankId,
    /// The refund (§7.20).
    pub refund: Digest,
}

/// The submission that claimed a confirmation or coin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClaimRef {
    /// The acquirer that submitted it.
    pub acquirer: BankId,
    /// Its id.
    pub submission_id: SubmissionId,
}

codec_struct!(ClaimRef {
    acquirer,
    submission_id
});

/// Who claimed which confirmations and coins: the earlier claims the caller loads, and those
/// decided since.
#[derive(Clone, Debug, Default)]
pub struct ClaimBook {
    confirmations: HashMap<ConfirmationKey, ClaimRef>,
    coins: HashMap<CoinKey, ClaimRef>,
    refunds: HashMap<RefundKey, ClaimRef>,
}

impl ClaimBook {
    /// A book with no claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `by` claimed the confirmation `key` earlier.
    pub fn confirmation_claimed(&mut self, key: ConfirmationKey, by: ClaimRef) {
        self.confirmations.insert(key, by);
    }

    /// Records that `by` claimed the coin `key` earlier.
    pub fn coin_claimed(&mut self, key: CoinKey, by: ClaimRef) {
        self.coins.insert(key, by);
    }

    /// Records that `by` claimed the refund `key` earlier.
    pub fn refund_claimed(&mut self, key: RefundKey, by: ClaimRef) {
        self.refunds.insert(key, by);
    }

    /// Claims the refund `candidate` for `by`, unless it was claimed before: then the answer
    /// names who did.
    pub fn claim_refund(&mut self, by: ClaimRef, candidate: &RefundClaimable) -> ClaimResult {
        if let Some(earlier) = self.refunds.get(&candidate.key) {
            return ClaimResult::AlreadyClaimed {
                acquirer: earlier.acquirer,
                submission_id: earlier.submission_id,
            };
        }
        self.refunds.insert(candidate.key, by);
        ClaimResult::Claimed
    }

    /// Claims `candidate` for `by`, unless it or any of its coins was claimed before: then
    /// nothing is claimed, and the answer names the first claimant found (the confirmation's own,
    /// else its first coin's).
    pub fn claim(&mut self, by: ClaimRef, candidate: &Claimable) -> ClaimResult {
        let earlier = self
            .confirmations
            .get(&candidate.key)
            .or_else(|| candidate.coin_keys().find_map(|coin| self.coins.get(&coin)));
        if let Some(earlier) = earlier {
            return ClaimResult::AlreadyClaimed {
                acquirer: earlier.acquirer,
                submission_id: earlier.submission_id,
            };
        }
        self.confirmations.insert(candidate.key, by);
        for coin in candidate.coin_keys() {
            self.coins.insert(coin, by);
        }
        ClaimResult::Claimed
    }
}

/// The result of each verdict of a submission by `by`, in order: refusals stay refusals, and
/// claimable confirmations are claimed in order against `book`, which records the new claims.
pub fn decide<const MAX: usize>(
    by: ClaimRef,
    verdicts: &BoundedVec<Verdict, MAX>,
    book: &mut ClaimBook,
) -> BoundedVec<ClaimResult, MAX> {
    verdicts.map(|verdict| match verdict {
        Ok(candidate) => book.claim(by, candidate),
        Err(refusal) => ClaimResult::Refused {
            code: refusal.code().to_owned(),
        },
    })
}

/// The result of each refund verdict of a submission by `by`, in order, as [`decide`] does for
/// spend confirmations.
pub fn decide_refunds<const MAX: usize>(
    by: ClaimRef,
    verdicts: &BoundedVec<RefundVerdict, MAX>,
    book: &mut ClaimBook,
) -> BoundedVec<ClaimResult, MAX> {
    verdicts.map(|verdict| match verdict {
        Ok(candidate) => book.claim_refund(by, candidate),
        Err(refusal) => ClaimResult::Refused {
            code: refusal.code().to_owned(),
        },
    })
}
