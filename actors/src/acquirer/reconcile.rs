//! Settlement reports: each checked against the clearing house in the config, reconciled against
//! the confirmations and refunds the clearing house counted for the acquirer in the report's
//! cycle, and recorded with what disagrees. A report that fails verification, or that conflicts with the one
//! recorded for its cycle, is never applied: it is recorded as a bad report.
//!
//! Reports are pushed best effort, so the acquirer also catches up: it asks the clearing house for
//! every report after the last one it applied in order, and receives each.
//!
//! A report is not reconciled while a submission awaits its receipt: that receipt may file claims
//! of the report's cycle, which the books would then lack. The report is refused as retryable,
//! and the next catch-up, which follows an outbox pass, applies it.

use std::sync::Arc;

use semper_protocol::limits::{CYCLE_CONFIRMATIONS_MAX, CYCLE_REFUNDS_MAX, REPORTS_AFTER_MAX};
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::reconcile::acquirer::{CycleBooks, reconcile_with_refunds};
use semper_protocol::reconcile::refunds::{RefundBooks, RefundEntry};
use semper_protocol::reconcile::{Discrepancy, bad_report, signed_by};
use semper_storage::acquirer::submissions;
use semper_storage::reports::{self, RecordRefusedReport, RecordReport, ReportOutcome};

use super::error::AcquirerError;
use super::state::AcquirerState;
use crate::gateway::ClearingGateway;
use crate::reconcile::{found, unfiled};

/// The role its metrics and logs name.
const ROLE: &str = "acquirer";

/// What to record for a report received.
enum Record {
    /// A verified report, with what reconciliation found in it.
    Verified(RecordReport),
    /// A report that failed verification.
    Refused(RecordRefusedReport),
    /// A report that failed verification and names no currency to file it under.
    Unfiled,
}

/// A report received: its discrepancies, and whether it was applied just now.
struct Received {
    discrepancies: Vec<Discrepancy>,
    applied: bool,
}

/// Receives a report: its discrepancies (none when it agrees with the books) once they are
/// durable. A re-delivered report changes nothing and gets the same answer.
pub async fn receive(
    state: Arc<AcquirerState>,
    report: SignedSettlementReport,
) -> Result<Vec<Discrepancy>, AcquirerError> {
    Ok(receive_one(&state, report).await?.discrepancies)
}

/// Asks `clearing` for every report after the last one applied in order, and receives each;
/// returns how many it applied that it had not before. A report that cannot be received now stops
/// it, with that report's error: the next catch-up asks again.
pub async fn catch_up(
    state: Arc<AcquirerState>,
    clearing: Arc<dyn ClearingGateway>,
) -> Result<usize, AcquirerError> {
    let mut after = state
        .on_pool(|state| reports::applied_through(&state.store))
        .await??;
    let limit = u32::try_from(REPORTS_AFTER_MAX).unwrap_or(u32::MAX);
    let mut applied = 0;
    loop {
        let page = clearing
            .reports_after(after, limit)
            .await
            .map_err(AcquirerError::Gateway)?;
        let full = page.len() >= REPORTS_AFTER_MAX;
        let mut advanced = false;
        for report in page {
            let sequence = report.body().fields().sequence;
            // Only reports after the last one asked from: so each page moves on, and the loop ends.
            if sequence <= after {
                continue;
            }
            after = sequence;
            advanced = true;
            if receive_one(&state, report).await?.applied {
                applied += 1;
            }
        }
        if !full || !advanced {
            return Ok(applied);
        }
    }
}

async fn receive_one(
    state: &Arc<AcquirerState>,
    report: SignedSettlementReport,
) -> Result<Received, AcquirerError> {
    let received = report.clone();
    let record = state
        .on_pool(move |state| prepare(state, received))
        .await??;
    let transaction = match record {
        Record::Verified(transaction) => transaction,
        Record::Refused(transaction) => return refused(state, transaction).await,
        Record::Unfiled => return Ok(nothing_applied()),
    };
    match state.commit(transaction).await? {
        // The clearing house signed two reports of one cycle: the first is kept.
        ReportOutcome::Conflicting => match refusal(state, &report) {
            Some(transaction) => refused(state, transaction).await,
            None => Ok(nothing_applied()),
        },
        outcome => Ok(Received {
            applied: matches!(outcome, ReportOutcome::Recorded(_)),
            discrepancies: found(ROLE, outcome),
        }),
    }
}

/// Verifies `report` and reconciles it against the books of its cycle. On the pool: it verifies
/// and reads.
fn prepare(state: &AcquirerState, report: SignedSettlementReport) -> Result<Record, AcquirerError> {
    let clearing = &state.clearing;
    if !signed_by(&report, clearing.id, &clearing.key) {
        return Ok(refusal(state, &report).map_or(Record::Unfiled, Record::Refused));
    }
    let sequence = report.body().fields().sequence;
    // A report recorded before gets the answer recorded then: nothing to reconcile.
    if reports::received_report(&state.store, sequence)?.is_some() {
        return Ok(Record::Verified(RecordReport {
            report,
            received_at: state.clock.now(),
            discrepancies: Vec::new(),
        }));
    }
    // Pending first, then the books: a receipt files its claims in the write that ends pending.
    if submissions::oldest_pending(&state.store)?.is_some() {
        return Err(AcquirerError::SubmissionsPending);
    }
    // No cycle counts more claims than this, so neither do the acquirer's books of one.
    let books: CycleBooks =
        submissions::cycle_claims(&state.store, sequence, CYCLE_CONFIRMATIONS_MAX)?
            .into_iter()
            .map(|(issuer, batch, claimed)| ((issuer, batch), claimed.totals.into_vec()))
            .collect();
    let refunds = refund_books(state, report.body())?;
    Ok(Record::Verified(RecordReport {
        discrepancies: reconcile_with_refunds(state.id, report.body(), &books, &refunds),
        received_at: state.clock.now(),
        report,
    }))
}

/// The refunds the clearing house settled for the acquirer in the report's cycle, and the
/// report's own refunds that earlier reports listed.
fn refund_books(
    state: &AcquirerState,
    report: &semper_protocol::messages::settlement::SettlementReport,
) -> Result<RefundBooks, AcquirerError> {
    let fields = report.fields();
    // No cycle settles more refunds than this, so neither do the acquirer's books of one.
    let recorded = submissions::cycle_refunds(&state.store, fields.sequence, CYCLE_REFUNDS_MAX)?
        .into_iter()
        .map(|(issuer, refund, claimed)| {
            let entry = RefundEntry {
                acquirer: state.id,
                issuer,
                amount: claimed.amount,
                fee: claimed.fee,
            };
            (refund, entry)
        })
        .collect();
    let listed: Vec<_> = fields
        .refunds
        .iter()
        .filter(|obligation| obligation.acquirer == state.id)
        .flat_map(|obligation| obligation.refunds.iter().copied())
        .collect();
    Ok(RefundBooks {
        recorded,
        whole_cycle: true,
        listed_before: reports::listed_before(&state.store, &listed)?,
    })
}

/// The record of `report` refused, filed under a currency it names or else one the acquirer
/// takes; `None` when there is neither (then it is only counted and logged).
fn refusal(state: &AcquirerState, report: &SignedSettlementReport) -> Option<RecordRefusedReport> {
    let fallback = state
        .denominations()
        .iter()
        .next()
        .map(|denomination| denomination.fields().value.currency());
    match bad_report(state.id, state.clearing.id, report, fallback) {
        Some(discrepancy) => Some(RecordRefusedReport {
            digest: report.body_digest(),
            discrepancy,
        }),
        None => {
            unfiled(ROLE, report, state.clearing.id);
            None
        }
    }
}

/// Records a refused report, once.
async fn refused(
    state: &Arc<AcquirerState>,
    transaction: RecordRefusedReport,
) -> Result<Received, AcquirerError> {
    let outcome = state.commit(transaction).await?;
    Ok(Received {
        discrepancies: found(ROLE, outcome),
        applied: false,
    })
}

fn nothing_applied() -> Received {
    Received {
        discrepancies: Vec::new(),
        applied: false,
    }
}
