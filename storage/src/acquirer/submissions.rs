//! Settlement submissions: pending until the clearing house's receipt is stored, then the claims
//! and refunds it counted, filed by cycle for reconciliation, and those it did not, kept with the
//! reason.

use semper_protocol::acquirer::totals_by_currency;
use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::{Decode, DecodeError, Encode, Reader, Writer};
use semper_protocol::codec_struct;
use semper_protocol::ids::{BankId, BatchId, CycleId, Digest, SubmissionId};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt, SubmissionReceipt};
use semper_protocol::messages::refund::RefundConfirmation;
use semper_protocol::messages::settlement::SignedSettlementSubmission;
use semper_protocol::messages::spend::{REFUSAL_CODE_MAX_BYTES, SpendConfirmation};

use super::CURRENCIES_MAX;
use super::outbox::OutboxError;
use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{Column, claim_by_cycle_key, refund_claim_by_cycle_key, sequence_key};
use crate::store::Store;

/// Where a submission stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmissionState {
    /// Stored, and sent until a receipt comes.
    Pending,
    /// The clearing house's verified receipt.
    Answered(SignedSubmissionReceipt),
    /// The clearing house refused the whole submission; it is not sent again.
    Refused {
        /// The stable code of the refusal.
        code: String,
    },
}

impl Encode for SubmissionState {
    fn encode_to(&self, writer: &mut Writer) {
        match self {
            Self::Pending => writer.u8(0),
            Self::Answered(receipt) => {
                writer.u8(1);
                receipt.encode_to(writer);
            }
            Self::Refused { code } => {
                writer.u8(2);
                writer.bytes(code.as_bytes());
            }
        }
    }
}

impl Decode for SubmissionState {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8("submission state")? {
            0 => Ok(Self::Pending),
            1 => Ok(Self::Answered(SignedSubmissionReceipt::decode_from(
                reader,
            )?)),
            2 => Ok(Self::Refused {
                code: read_code(reader)?,
            }),
            other => Err(DecodeError::invalid(
                "submission state",
                format!("unknown tag {other}"),
            )),
        }
    }
}

fn read_code(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    let code = reader.bytes(REFUSAL_CODE_MAX_BYTES, "refusal code")?;
    std::str::from_utf8(code)
        .map(str::to_owned)
        .map_err(|e| DecodeError::invalid("refusal code", e))
}

/// A stored submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionRecord {
    /// Its place among the acquirer's submissions: pending ones are sent oldest first.
    pub sequence: u64,
    /// The signed submission, exactly as sent every time.
    pub submission: SignedSettlementSubmission,
    /// Where it stands.
    pub state: SubmissionState,
}

codec_struct!(SubmissionRecord {
    sequence,
    submission,
    state
});

/// A confirmation the clearing house counted: filed under its cycle and issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedConfirmation {
    /// The cycle it was counted in.
    pub cycle: CycleId,
    /// The submission that claimed it.
    pub submission_id: SubmissionId,
    /// What it claims from its issuer, per currency, sorted by currency.
    pub totals: BoundedVec<Amount, CURRENCIES_MAX>,
}

codec_struct!(ClaimedConfirmation {
    cycle,
    submission_id,
    totals
});

/// A confirmation the clearing house did not count, with its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedClaim {
    /// The confirmation's spend-check batch.
    pub batch_id: BatchId,
    /// Its issuer.
    pub issuer: BankId,
    /// The submission that carried it.
    pub submission_id: SubmissionId,
    /// The clearing house's answer (never `Claimed`).
    pub result: ClaimResult,
}

codec_struct!(RefusedClaim {
    batch_id,
    issuer,
    submission_id,
    result
});

/// A refund the clearing house settled: filed under its cycle and issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedRefund {
    /// The cycle it was counted in.
    pub cycle: CycleId,
    /// The submission that carried it.
    pub submission_id: SubmissionId,
    /// What the acquirer owes the issuer for it.
    pub amount: Amount,
    /// The refund fee the issuer kept.
    pub fee: Amount,
}

codec_struct!(ClaimedRefund {
    cycle,
    submission_id,
    amount,
    fee
});

/// A refund confirmation the clearing house did not settle, with its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedRefund {
    /// The refund.
    pub refund: Digest,
    /// Its issuer.
    pub issuer: BankId,
    /// The submission that carried it.
    pub submission_id: SubmissionId,
    /// The clearing house's answer (never `Claimed`).
    pub result: ClaimResult,
}

codec_struct!(RefusedRefund {
    refund,
    issuer,
    submission_id,
    result
});

/// Stores the clearing house's answer to a pending submission: its receipt and the claims it
/// counted or refused, or its refusal of the whole submission. A submission already answered is
/// left as it is, so a repeated answer changes nothing.
#[derive(Clone, Debug)]
pub struct SettleSubmission {
    /// The submission answered.
    pub submission_id: SubmissionId,
    /// The verified receipt, or the refusal (`Pending` changes nothing).
    pub outcome: SubmissionState,
}

impl Transaction for SettleSubmission {
    type Output = Result<SubmissionRecord, OutboxError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        let Some(bytes) = reader.get(Column::OutboxSubmissions, self.submission_id.as_bytes())?
        else {
            return Ok((Err(OutboxError::UnknownSubmission), writes));
        };
        let record: SubmissionRecord = decode_record("outbox_submissions", &bytes)?;
        if record.state != SubmissionState::Pending || self.outcome == SubmissionState::Pending {
            return Ok((Ok(record), writes));
        }
        let body = record.submission.body();
        for (index, confirmation) in body.confirmations.iter().enumerate() {
            let confirmation = confirmation.body();
            let claim = match &self.outcome {
                SubmissionState::Answered(receipt) => {
                    match receipt.body().claims.get(index).cloned() {
                        Some(ClaimResult::Claimed) => {
                            match file_claimed(
                                &mut writes,
                                receipt.body(),
                                confirmation,
                                self.submission_id,
                            ) {
                                Ok(()) => continue,
                                Err(code) => ClaimResult::Refused { code: code.into() },
                            }
                        }
                        Some(other) => other,
                        // The receipt was checked to have a claim per confirmation.
                        None => ClaimResult::Refused {
                            code: "receipt.missing_claim".into(),
                        },
                    }
                }
                SubmissionState::Refused { code } => ClaimResult::Refused { code: code.clone() },
                SubmissionState::Pending => continue,
            };
            let refused = RefusedClaim {
                batch_id: confirmation.batch_id,
                issuer: confirmation.issuer,
                submission_id: self.submission_id,
                result: claim,
            };
            writes.put(
                Column::RefusedClaims,
                confirmation.batch_id.as_bytes().to_vec(),
                refused.to_bytes(),
            );
        }
        for (index, confirmation) in body.refunds.iter().enumerate() {
            let claim = match &self.outcome {
                SubmissionState::Answered(receipt) => {
                    match receipt.body().refund_claims.get(index).cloned() {
                        Some(ClaimResult::Claimed) => {
                            file_refund(&mut writes, receipt.body(), confirmation.body());
                            continue;
                        }
                        Some(other) => other,
                        // The receipt was checked to have a result per refund.
                        None => ClaimResult::Refused {
                            code: "receipt.missing_claim".into(),
                        },
                    }
                }
                SubmissionState::Refused { code } => ClaimResult::Refused { code: code.clone() },
                SubmissionState::Pending => continue,
            };
            let confirmation = confirmation.body();
            let refused = RefusedRefund {
                refund: confirmation.refund,
                issuer: confirmation.issuer,
                submission_id: self.submission_id,
                result: claim,
            };
            writes.put(
                Column::RefusedRefunds,
                confirmation.refund.as_bytes().to_vec(),
                refused.to_bytes(),
            );
        }
        writes.delete(
            Column::OutboxPending,
            sequence_key(record.sequence).to_vec(),
        );
        let settled = SubmissionRecord {
            state: self.outcome,
            ..record
        };
        writes.put(
            Column::OutboxSubmissions,
            self.submission_id.as_bytes().to_vec(),
            settled.to_bytes(),
        );
        Ok((Ok(settled), writes))
    }
}

/// Files a confirmation the clearing house counted under its cycle and issuer; the code of why
/// it cannot be, otherwise.
fn file_claimed(
    writes: &mut WriteSet,
    receipt: &SubmissionReceipt,
    confirmation: &SpendConfirmation,
    submission_id: SubmissionId,
) -> Result<(), &'static str> {
    let totals = totals_by_currency(confirmation).map_err(|e| e.code())?;
    let totals = BoundedVec::new(totals).map_err(|_| "claim.too_many_currencies")?;
    let key = claim_by_cycle_key(
        receipt.cycle_sequence,
        &confirmation.issuer,
        &confirmation.batch_id,
    );
    let claimed = ClaimedConfirmation {
        cycle: receipt.cycle,
        submission_id,
        totals,
    };
    writes.put(Column::ClaimsByCycle, key.to_vec(), claimed.to_bytes());
    Ok(())
}

/// Files a refund the clearing house settled under its cycle and issuer.
fn file_refund(
    writes: &mut WriteSet,
    receipt: &SubmissionReceipt,
    confirmation: &RefundConfirmation,
) {
    let key = refund_claim_by_cycle_key(
        receipt.cycle_sequence,
        &confirmation.issuer,
        &confirmation.refund,
    );
    let claimed = ClaimedRefund {
        cycle: receipt.cycle,
        submission_id: receipt.submission_id,
        amount: confirmation.amount,
        fee: confirmation.fee,
    };
    writes.put(
        Column::RefundClaimsByCycle,
        key.to_vec(),
        claimed.to_bytes(),
    );
}

/// A stored submission, read directly from the store.
pub fn submission(
    store: &Store,
    submission_id: &SubmissionId,
) -> Result<Option<SubmissionRecord>, StorageError> {
    store
        .get(Column::OutboxSubmissions, submission_id.as_bytes())?
        .map(|bytes| decode_record("outbox_submissions", &bytes))
        .transpose()
}

/// The ids of up to `limit` pending submissions, oldest first.
pub fn pending_ids(store: &Store, limit: usize) -> Result<Vec<SubmissionId>, StorageError> {
    store
        .scan_prefix(Column::OutboxPending, &[], limit)?
        .into_iter()
        .map(|(_, id)| {
            <[u8; SubmissionId::LEN]>::try_from(id.as_slice())
                .map(SubmissionId)
                .map_err(|_| StorageError::Corrupt {
                    column: "outbox_pending",
                    reason: "value is not a submission id".into(),
                })
        })
        .collect()
}

/// The oldest pending submission: what is sent (again) before anything new.
pub fn oldest_pending(store: &Store) -> Result<Option<SubmissionRecord>, StorageError> {
    let Some(id) = pending_ids(store, 1)?.pop() else {
        return Ok(None);
    };
    submission(store, &id)?
        .ok_or(StorageError::Corrupt {
            column: "outbox_pending",
            reason: format!("pending submission {id} is not stored"),
        })
        .map(Some)
}

/// Up to `limit` confirmations the clearing house did not count, by batch id.
pub fn refused_claims(store: &Store, limit: usize) -> Result<Vec<RefusedClaim>, StorageError> {
    store
        .scan_prefix(Column::RefusedClaims, &[], limit)?
        .into_iter()
        .map(|(_, value)| decode_record("refused_claims", &value))
        .collect()
}

/// Up to `limit` confirmations counted in the cycle numbered `cycle_sequence`, by issuer and batch:
/// what a reconciliation compares the cycle's report against.
pub fn cycle_claims(
    store: &Store,
    cycle_sequence: u64,
    limit: usize,
) -> Result<Vec<(BankId, BatchId, ClaimedConfirmation)>, StorageError> {
    store
        .scan_prefix(Column::ClaimsByCycle, &cycle_sequence.to_be_bytes(), limit)?
        .into_iter()
        .map(|(key, value)| {
            let ids = key.get(8..).unwrap_or_default();
            let (issuer, batch) = ids.split_at(ids.len().min(BankId::LEN));
            let issuer = <[u8; BankId::LEN]>::try_from(issuer).map(BankId);
            let batch = <[u8; BatchId::LEN]>::try_from(batch).map(BatchId);
            match (issuer, batch) {
                (Ok(issuer), Ok(batch)) => {
                    Ok((issuer, batch, decode_record("claims_by_cycle", &value)?))
                }
                _ => Err(StorageError::Corrupt {
                    column: "claims_by_cycle",
                    reason: "malformed key".into(),
                }),
            }
        })
        .collect()
}

/// Up to `limit` refund confirmations the clearing house did not settle, by refund.
pub fn refused_refunds(store: &Store, limit: usize) -> Result<Vec<RefusedRefund>, StorageError> {
    store
        .scan_prefix(Column::RefusedRefunds, &[], limit)?
        .into_iter()
        .map(|(_, value)| decode_record("refused_refunds", &value))
        .collect()
}

/// Up to `limit` refunds settled in the cycle numbered `cycle_sequence`, by issuer and refund:
/// what a reconciliation compares the cycle's refund obligations against.
pub fn cycle_refunds(
    store: &Store,
    cycle_sequence: u64,
    limit: usize,
) -> Result<Vec<(BankId, Digest, ClaimedRefund)>, StorageError> {
    store
        .scan_prefix(
            Column::RefundClaimsByCycle,
            &cycle_sequence.to_be_bytes(),
            limit,
        )?
        .into_iter()
        .map(|(key, value)| {
            let ids = key.get(8..).unwrap_or_default();
            let (issuer, refund) = ids.split_at(ids.len().min(BankId::LEN));
            let issuer = <[u8; BankId::LEN]>::try_from(issuer).map(BankId);
            let refund = <[u8; 32]>::try_from(refund).map(Digest);
            match (issuer, refund) {
                (Ok(issuer), Ok(refund)) => Ok((
                    issuer,
                    refund,
                    decode_record("refund_claims_by_cycle", &value)?,
                )),
                _ => Err(StorageError::Corrupt {
                    column: "refund_claims_by_cycle",
                    reason: "malformed key".into(),
                }),
            }
        })
        .collect()
}
