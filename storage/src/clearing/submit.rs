//! Recording a settlement submission: the idempotency check, the claims of its spend and refund
//! confirmations and the receipt, in one atomic write.

use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::claim::{decide, decide_refunds};
use semper_protocol::clearing::{
    ClaimBook, ClaimRef, Claimable, CycleClaim, CycleRefund, RefundClaimable, RefundVerdict,
    Verdict,
};
use semper_protocol::codec::Encode;
use semper_protocol::ids::{BankId, Digest};
use semper_protocol::limits::{
    CYCLE_CONFIRMATIONS_MAX, CYCLE_REFUNDS_MAX, SUBMISSION_CONFIRMATIONS_MAX,
    SUBMISSION_REFUNDS_MAX,
};
use semper_protocol::messages::receipt::{ClaimResult, SubmissionReceipt};
use semper_protocol::time::Timestamp;

use super::{
    OpenCycle, StoredSubmission, read_open_cycle, read_open_refunds, write_open_cycle,
    write_open_refunds,
};
use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{
    Column, claimed_coin_key, claimed_confirmation_key, claimed_refund_key, cycle_claim_key,
    submission_key,
};

/// Why a submission was not recorded. Nothing was written. Each has a stable
/// [`SubmissionRefused::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionRefused {
    /// The acquirer used this submission id before, for another submission.
    #[error("submission id already used for another submission")]
    IdReused,
    /// The open cycle has no room for the submission's claims: retry once it is cut.
    #[error("cycle {cycle} is full: retry after its cut-off")]
    CycleFull {
        /// The full cycle's number.
        cycle: u64,
    },
}

impl SubmissionRefused {
    /// The stable error code that the link layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IdReused => "submission.id_reused",
            Self::CycleFull { .. } => "clearing.cycle_full",
        }
    }
}

/// What recording a submission did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmissionOutcome {
    /// Recorded now: the receipt, and the open cycle with the submission counted.
    Recorded {
        /// The receipt, to sign.
        receipt: SubmissionReceipt,
        /// The open cycle after it.
        cycle: OpenCycle,
    },
    /// Recorded before, with the same body: the receipt it got then.
    Replayed(SubmissionReceipt),
}

/// Records a checked submission: claims each claimable confirmation that neither it nor any of
/// its coins was claimed before, and each refund confirmation not settled before, adds the claims
/// to the open cycle, and keeps the receipt for retries, all in one write.
#[derive(Clone, Debug)]
pub struct RecordSubmission {
    /// The clearing house, which the receipt names.
    pub clearing: BankId,
    /// The submission: its acquirer and id.
    pub by: ClaimRef,
    /// SHA-256 of the signed submission's body: a retry must match it.
    pub body_digest: Digest,
    /// When the submission arrived.
    pub received_at: Timestamp,
    /// The verdict on each of its confirmations, in order.
    pub verdicts: BoundedVec<Verdict, SUBMISSION_CONFIRMATIONS_MAX>,
    /// The verdict on each of its refund confirmations, in order.
    pub refund_verdicts: BoundedVec<RefundVerdict, SUBMISSION_REFUNDS_MAX>,
}

impl Transaction for RecordSubmission {
    type Output = Result<SubmissionOutcome, SubmissionRefused>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let refuse = |refusal| Ok((Err(refusal), WriteSet::new()));
        let key = submission_key(&self.by.acquirer, &self.by.submission_id);
        if let Some(bytes) = reader.get(Column::Submissions, &key)? {
            let stored: StoredSubmission = decode_record("submissions", &bytes)?;
            if stored.body_digest != self.body_digest {
                return refuse(SubmissionRefused::IdReused);
            }
            return Ok((
                Ok(SubmissionOutcome::Replayed(stored.receipt)),
                WriteSet::new(),
            ));
        }
        let mut cycle = read_open_cycle(reader)?;
        let candidates: Vec<&Claimable> = self
            .verdicts
            .iter()
            .filter_map(|v| v.as_ref().ok())
            .collect();
        let refunds: Vec<&RefundClaimable> = self
            .refund_verdicts
            .iter()
            .filter_map(|v| v.as_ref().ok())
            .collect();
        let mut refunds_counted = read_open_refunds(reader)?;
        // Counted before claiming, so that a cycle never holds more than its bounds.
        let room = (CYCLE_CONFIRMATIONS_MAX as u64).saturating_sub(cycle.confirmations);
        let refund_room = (CYCLE_REFUNDS_MAX as u64).saturating_sub(refunds_counted);
        if candidates.len() as u64 > room || refunds.len() as u64 > refund_room {
            return refuse(SubmissionRefused::CycleFull {
                cycle: cycle.sequence,
            });
        }
        let mut book = earlier_claims(reader, &candidates)?;
        earlier_refunds(reader, &refunds, &mut book)?;
        let claims = decide(self.by, &self.verdicts, &mut book);
        let refund_claims = decide_refunds(self.by, &self.refund_verdicts, &mut book);

        let mut writes = WriteSet::new();
        let claimant = self.by.to_bytes();
        for (verdict, result) in self.verdicts.iter().zip(claims.iter()) {
            let (Ok(candidate), ClaimResult::Claimed) = (verdict, result) else {
                continue;
            };
            let confirmation = &candidate.key;
            writes.put(
                Column::ClaimedConfirmations,
                claimed_confirmation_key(
                    &confirmation.issuer,
                    &confirmation.acquirer,
                    &confirmation.batch_id,
                ),
                claimant.clone(),
            );
            for coin in &candidate.coins {
                writes.put(
                    Column::ClaimedCoins,
                    claimed_coin_key(&confirmation.issuer, coin.as_bytes()),
                    claimant.clone(),
                );
            }
            writes.put(
                Column::CycleClaims,
                cycle_claim_key(cycle.sequence, cycle.confirmations),
                CycleClaim::of(candidate).to_bytes(),
            );
            cycle.confirmations += 1;
        }
        for (verdict, result) in self.refund_verdicts.iter().zip(refund_claims.iter()) {
            let (Ok(candidate), ClaimResult::Claimed) = (verdict, result) else {
                continue;
            };
            writes.put(
                Column::ClaimedRefunds,
                claimed_refund_key(&candidate.key.issuer, &candidate.key.refund).to_vec(),
                claimant.clone(),
            );
            writes.put(
                Column::CycleRefunds,
                cycle_claim_key(cycle.sequence, refunds_counted).to_vec(),
                CycleRefund::of(candidate).to_bytes(),
            );
            refunds_counted += 1;
        }
        if !refunds.is_empty() {
            write_open_refunds(&mut writes, refunds_counted);
        }
        cycle.submissions += 1;
        write_open_cycle(&mut writes, &cycle);
        let receipt = SubmissionReceipt {
            clearing: self.clearing,
            acquirer: self.by.acquirer,
            submission_id: self.by.submission_id,
            cycle: cycle.id,
            cycle_sequence: cycle.sequence,
            received_at: self.received_at,
            claims,
            refund_claims,
        };
        let stored = StoredSubmission {
            body_digest: self.body_digest,
            receipt: receipt.clone(),
        };
        writes.put(Column::Submissions, key.to_vec(), stored.to_bytes());
        Ok((Ok(SubmissionOutcome::Recorded { receipt, cycle }), writes))
    }
}

/// Who claimed, before this submission, any of the candidates' confirmations or coins: two
/// multi-gets.
fn earlier_claims(
    reader: &GroupReader<'_>,
    candidates: &[&Claimable],
) -> Result<ClaimBook, StorageError> {
    let mut book = ClaimBook::new();
    let confirmation_keys: Vec<[u8; 48]> = candidates
        .iter()
        .map(|c| claimed_confirmation_key(&c.key.issuer, &c.key.acquirer, &c.key.batch_id))
        .collect();
    let refs: Vec<&[u8]> = confirmation_keys.iter().map(|k| k.as_slice()).collect();
    let found = reader.multi_get(Column::ClaimedConfirmations, &refs)?;
    for (candidate, value) in candidates.iter().zip(found) {
        if let Some(bytes) = value {
            let by: ClaimRef = decode_record("claimed_confirmations", &bytes)?;
            book.confirmation_claimed(candidate.key, by);
        }
    }
    let coins: Vec<_> = candidates.iter().flat_map(|c| c.coin_keys()).collect();
    let coin_keys: Vec<[u8; 48]> = coins
        .iter()
        .map(|coin| claimed_coin_key(&coin.issuer, coin.coin.as_bytes()))
        .collect();
    let refs: Vec<&[u8]> = coin_keys.iter().map(|k| k.as_slice()).collect();
    let found = reader.multi_get(Column::ClaimedCoins, &refs)?;
    for (coin, value) in coins.into_iter().zip(found) {
        if let Some(bytes) = value {
            let by: ClaimRef = decode_record("claimed_coins", &bytes)?;
            book.coin_claimed(coin, by);
        }
    }
    Ok(book)
}

/// Adds to `book` who settled, before this submission, any of the refund candidates: one
/// multi-get.
fn earlier_refunds(
    reader: &GroupReader<'_>,
    candidates: &[&RefundClaimable],
    book: &mut ClaimBook,
) -> Result<(), StorageError> {
    let keys: Vec<[u8; 48]> = candidates
        .iter()
        .map(|c| claimed_refund_key(&c.key.issuer, &c.key.refund))
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    let found = reader.multi_get(Column::ClaimedRefunds, &refs)?;
    for (candidate, value) in candidates.iter().zip(found) {
        if let Some(bytes) = value {
            let by: ClaimRef = decode_record("claimed_refunds", &bytes)?;
            book.refund_claimed(candidate.key, by);
        }
    }
    Ok(())
}
