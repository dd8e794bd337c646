//! The submission path: the acquirer's signature, a look for an earlier answer, and the issuer
//! signatures on the pool; then one atomic claim-and-record; then the signed receipt. A cycle
//! that reaches its count cut-off is cut right after.

use std::sync::Arc;

use semper_protocol::clearing::{ClaimRef, authenticate, check_confirmations, check_refunds};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt, SubmissionReceipt};
use semper_protocol::messages::settlement::SignedSettlementSubmission;
use semper_protocol::signed::Signed;
use semper_storage::clearing::{self, RecordSubmission, SubmissionOutcome, SubmissionRefused};

use super::cycle;
use super::error::ClearingError;
use super::state::ClearingState;
use crate::gateway::ReportSink;
use crate::metrics::{CLEARING_CLAIMS, CLEARING_CLAIMS_REFUSED, CLEARING_SUBMISSIONS};

/// What the checks on the pool decided.
enum Checked {
    /// The same submission was answered before: its receipt.
    Answered(SubmissionReceipt),
    /// New: what to record.
    Fresh(RecordSubmission),
}

/// Handles a submission: the answer is the signed receipt, the same for every retry.
pub async fn run(
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
    submission: SignedSettlementSubmission,
) -> Result<SignedSubmissionReceipt, ClearingError> {
    let checked = state.on_pool(move |state| check(state, &submission)).await;
    let receipt = match checked.and_then(|checked| checked) {
        Ok(Checked::Answered(receipt)) => receipt,
        Ok(Checked::Fresh(transaction)) => match state.commit(transaction).await? {
            Ok(SubmissionOutcome::Replayed(receipt)) => receipt,
            Ok(SubmissionOutcome::Recorded { receipt, cycle }) => {
                count_claims(&receipt);
                // Only the cut-off lease's holder cuts; the others leave it to its timer.
                if cycle.submissions >= state.cycle_max_submissions && state.cycles.leads() {
                    let (state, sink) = (state.clone(), sink.clone());
                    actix::spawn(async move {
                        // A failed cut is logged where it fails; the timer tries again.
                        let _ = cycle::cut(state, sink, Some(cycle.sequence)).await;
                    });
                }
                receipt
            }
            Err(refused) => return Err(refuse(&state, sink, refused.into())),
        },
        Err(error) => return Err(refuse(&state, sink, error)),
    };
    metrics::counter!(CLEARING_SUBMISSIONS, "result" => "answered").increment(1);
    state
        .on_pool(move |state| Signed::sign(receipt, &state.key))
        .await
}

/// Everything that needs the pool: the acquirer's signature first, so that only its own acquirer
/// learns of an earlier answer; then the earlier answer; then every issuer signature.
fn check(
    state: &ClearingState,
    submission: &SignedSettlementSubmission,
) -> Result<Checked, ClearingError> {
    authenticate(submission, &state.participants)?;
    let body = submission.body();
    let body_digest = submission.body_digest();
    if let Some(stored) = clearing::submission(&state.store, &body.acquirer, &body.submission_id)? {
        // Checked again in the write, which is what counts; this spares the signature checks.
        return if stored.body_digest == body_digest {
            Ok(Checked::Answered(stored.receipt))
        } else {
            Err(SubmissionRefused::IdReused.into())
        };
    }
    Ok(Checked::Fresh(RecordSubmission {
        clearing: state.id,
        by: ClaimRef {
            acquirer: body.acquirer,
            submission_id: body.submission_id,
        },
        body_digest,
        received_at: state.clock.now(),
        verdicts: check_confirmations(submission, &state.participants),
        refund_verdicts: check_refunds(submission, &state.participants),
    }))
}

/// Counts and logs a refused submission; a full cycle is cut so that the retry finds room.
fn refuse(
    state: &Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
    error: ClearingError,
) -> ClearingError {
    metrics::counter!(CLEARING_SUBMISSIONS, "result" => error.code()).increment(1);
    tracing::info!(code = error.code(), %error, "settlement submission refused");
    if let ClearingError::Record(SubmissionRefused::CycleFull { cycle: sequence }) = error
        && state.cycles.leads()
    {
        let state = state.clone();
        actix::spawn(async move {
            let _ = cycle::cut(state, sink, Some(sequence)).await;
        });
    }
    error
}

/// Counts each confirmation's (and refund confirmation's) result: claims, and refusals by code.
/// The common results are tallied and counted once per receipt.
fn count_claims(receipt: &SubmissionReceipt) {
    let (mut claimed, mut already_claimed) = (0u64, 0u64);
    for claim in receipt.claims.iter().chain(receipt.refund_claims.iter()) {
        match claim {
            ClaimResult::Claimed => claimed += 1,
            ClaimResult::AlreadyClaimed { .. } => already_claimed += 1,
            ClaimResult::Refused { code } => {
                metrics::counter!(CLEARING_CLAIMS_REFUSED, "code" => code.clone()).increment(1);
            }
        }
    }
    if claimed > 0 {
        metrics::counter!(CLEARING_CLAIMS).increment(claimed);
    }
    if already_claimed > 0 {
        metrics::counter!(CLEARING_CLAIMS_REFUSED, "code" => "claim.already_claimed")
            .increment(already_claimed);
    }
}
