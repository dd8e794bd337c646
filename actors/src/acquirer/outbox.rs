//! The outbox to the clearing house, exactly once. A pass first sends the submissions stored
//! but not answered (after a restart too), oldest first, then makes new ones from the outbox and
//! the refund outbox: each is signed and stored, its spend and refund confirmations moved out of
//! their outboxes in the same write, before it is ever sent. Retries send the stored submission again, same id and bytes, which the
//! clearing house counts once. Its receipt is checked and stored, and the submission is done.
//!
//! Several gateways of one acquirer sharing a store run the outbox one at a time: only the
//! holder of the outbox lease (`crate::leader`) makes and sends submissions, and the write that
//! moves confirmations into a new submission checks its tenure. So each confirmation goes into
//! exactly one submission, and each submission is sent by one gateway. A gateway that dies
//! mid-submission leaves it pending; the next holder sends the same stored bytes, which the
//! clearing house answers as a replay, never as a second claim.

use std::sync::Arc;

use semper_protocol::acquirer::{bounded_code, check_receipt};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::ids::SubmissionId;
use semper_protocol::messages::settlement::SettlementSubmission;
use semper_protocol::signed::Signed;
use semper_storage::acquirer::outbox::{self, CreateSubmission, OutboxError};
use semper_storage::acquirer::submissions::{
    self, RefusedClaim, RefusedRefund, SettleSubmission, SubmissionRecord, SubmissionState,
};
use semper_storage::lease::Fence;

use super::error::AcquirerError;
use super::metrics;
use super::state::AcquirerState;
use crate::gateway::ClearingGateway;
use crate::retry::retry;

/// Most pending submissions an [`OutboxStatus`] lists.
pub const PENDING_LISTED_MAX: usize = 256;
/// Most refused confirmations an [`OutboxStatus`] lists.
pub const REFUSED_LISTED_MAX: usize = 256;

/// Where the outbox stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Confirmations waiting for a submission.
    pub queued: u64,
    /// Submissions stored and not yet answered, oldest first (at most [`PENDING_LISTED_MAX`]).
    pub pending: Vec<SubmissionId>,
    /// Confirmations the clearing house did not count, with its reason (at most
    /// [`REFUSED_LISTED_MAX`]).
    pub refused: Vec<RefusedClaim>,
    /// Refund confirmations waiting for a submission.
    pub refunds_queued: u64,
    /// Refund confirmations the clearing house did not settle, with its reason (at most
    /// [`REFUSED_LISTED_MAX`]).
    pub refused_refunds: Vec<RefusedRefund>,
}

/// What the pass does next.
enum Next {
    /// Nothing pending, nothing queued.
    Idle,
    /// Send this stored submission (again).
    Send(SubmissionRecord),
    /// Store this new submission, then send it.
    Create(CreateSubmission),
}

/// One pass: sends until nothing is pending or queued, or until a submission cannot get through
/// (then it stays pending for the next pass). Returns where the outbox stands after it.
pub async fn pass(
    state: Arc<AcquirerState>,
    clearing: Arc<dyn ClearingGateway>,
) -> Result<OutboxStatus, AcquirerError> {
    // Only the lease's holder sends: a pass of a gateway that lost it stops here.
    while let Ok(fence) = state.outbox_lease.fence() {
        let record = match state.on_pool(move |state| next(state, fence)).await?? {
            Next::Idle => break,
            Next::Send(record) => record,
            Next::Create(create) => match state.commit(create).await? {
                Ok(record) => record,
                Err(OutboxError::NotLeader) => break,
                Err(error) => return Err(error.into()),
            },
        };
        send(&state, &clearing, record).await?;
    }
    state.on_pool(status).await?
}

/// Where the outbox stands. Reads the store: run it on the pool.
pub fn status(state: &AcquirerState) -> Result<OutboxStatus, AcquirerError> {
    let queued = outbox::depth(&state.store)?;
    metrics::outbox_depth(queued);
    Ok(OutboxStatus {
        queued,
        pending: submissions::pending_ids(&state.store, PENDING_LISTED_MAX)?,
        refused: submissions::refused_claims(&state.store, REFUSED_LISTED_MAX)?,
        refunds_queued: outbox::refund_depth(&state.store)?,
        refused_refunds: submissions::refused_refunds(&state.store, REFUSED_LISTED_MAX)?,
    })
}

/// The oldest pending submission, or a new one of the oldest queued spend and refund
/// confirmations, signed, to be stored under the outbox lease's tenure `fence`. On the pool: it
/// reads the store and signs.
fn next(state: &AcquirerState, fence: Option<Fence>) -> Result<Next, AcquirerError> {
    if let Some(record) = submissions::oldest_pending(&state.store)? {
        return Ok(Next::Send(record));
    }
    let limit = state.config.submission_max_confirmations;
    let oldest = outbox::oldest(&state.store, limit)?;
    let refunds = outbox::oldest_refunds(&state.store, limit)?;
    if oldest.is_empty() && refunds.is_empty() {
        return Ok(Next::Idle);
    }
    let (outbox_sequences, confirmations): (Vec<u64>, Vec<_>) = oldest.into_iter().unzip();
    let (refund_sequences, refunds): (Vec<u64>, Vec<_>) = refunds.into_iter().unzip();
    let over = |e| AcquirerError::Config(format!("submission over its bound: {e}"));
    let submission = SettlementSubmission {
        acquirer: state.id,
        submission_id: SubmissionId(rand::random()),
        submitted_at: state.clock.now(),
        // `outbox::oldest` and `oldest_refunds` take no more than a submission may carry.
        confirmations: BoundedVec::new(confirmations).map_err(over)?,
        refunds: BoundedVec::new(refunds).map_err(over)?,
    };
    Ok(Next::Create(CreateSubmission {
        submission: Signed::sign(submission, state.bank_key()),
        outbox_sequences,
        refund_sequences,
        fence,
    }))
}

/// Sends a stored submission until the clearing house answers, and stores its answer.
async fn send(
    state: &Arc<AcquirerState>,
    clearing: &Arc<dyn ClearingGateway>,
    record: SubmissionRecord,
) -> Result<(), AcquirerError> {
    let submission = record.submission;
    let id = submission.body().submission_id;
    tracing::info!(
        submission = %id,
        confirmations = submission.body().confirmations.len(),
        refunds = submission.body().refunds.len(),
        "submitting to the clearing house"
    );
    let answer = retry(&state.config.submit_retry, "settlement submission", || {
        clearing.submit(submission.clone())
    })
    .await;
    let outcome = match answer {
        Ok(receipt) => {
            let checked = state
                .on_pool(move |state| {
                    check_receipt(
                        submission.body(),
                        state.clearing.id,
                        &state.clearing.key,
                        &receipt,
                    )
                    .map(|()| receipt)
                })
                .await?;
            match checked {
                Ok(receipt) => SubmissionState::Answered(receipt),
                Err(error) => {
                    tracing::error!(submission = %id, code = error.code(), "receipt refused");
                    metrics::submission_answered("bad_receipt");
                    return Err(error.into());
                }
            }
        }
        Err(error) if error.retryable => {
            tracing::warn!(submission = %id, code = %error.code, "clearing house unreachable");
            metrics::submission_answered("unreachable");
            return Err(AcquirerError::Gateway(error));
        }
        Err(error) => {
            tracing::error!(submission = %id, code = %error.code, %error, "submission refused");
            SubmissionState::Refused {
                code: bounded_code(&error.code),
            }
        }
    };
    let settled = state
        .commit(SettleSubmission {
            submission_id: id,
            outcome,
        })
        .await??;
    match &settled.state {
        SubmissionState::Answered(receipt) => {
            let receipt = receipt.body();
            tracing::info!(submission = %id, cycle = receipt.cycle_sequence, "receipt stored");
            metrics::submission_answered("answered");
        }
        _ => metrics::submission_answered("refused"),
    }
    Ok(())
}
