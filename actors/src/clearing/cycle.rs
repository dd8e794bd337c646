//! The cut-off: by count after a submission, by time or count from the timer, or by the operator.
//! The report is made, signed and stored with the next cycle's opening in one write, then
//! delivered. When several processes share the store, only the holder of the cut-off lease cuts
//! (see `crate::leader`), and its tenure is checked in the cut's own write: a process that lost
//! the lease cuts nothing, and no cycle is cut twice.

use std::sync::Arc;

use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::signed::Signed;
use semper_storage::clearing::{CutCycle, CutOutcome};

use super::deliver;
use super::error::ClearingError;
use super::state::ClearingState;
use crate::gateway::ReportSink;
use crate::metrics::{CLEARING_CUT_FAILURES, CLEARING_CYCLES};

/// Cuts the open cycle (only if it is still cycle `sequence`, when given), then delivers its
/// report to every participant in the background. `None` when another cut-off came first.
pub async fn cut(
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
    sequence: Option<u64>,
) -> Result<Option<SignedSettlementReport>, ClearingError> {
    let fence = state.cycles.fence().map_err(|_| ClearingError::NotLeader)?;
    let key = state.key.clone();
    let transaction = CutCycle {
        clearing: state.id,
        sequence,
        cutoff_at: state.clock.now(),
        sign: std::sync::Arc::new(move |report| Signed::sign(report, &key)),
        fence,
    };
    let outcome = match state.commit(transaction).await? {
        Ok(outcome) => outcome,
        Err(error) => {
            metrics::counter!(CLEARING_CUT_FAILURES, "code" => error.code()).increment(1);
            tracing::error!(code = error.code(), %error, "clearing cycle could not be cut; it stays open");
            return Err(error.into());
        }
    };
    let (report, next) = match outcome {
        CutOutcome::Cut { report, next } => (report, next),
        CutOutcome::NotOpen(_) => return Ok(None),
        CutOutcome::NotHolder => {
            tracing::warn!("cut-off lease lost: the cycle is left to its new holder");
            return Err(ClearingError::NotLeader);
        }
    };
    let fields = report.body().fields();
    metrics::counter!(CLEARING_CYCLES).increment(1);
    tracing::info!(
        cycle = fields.sequence,
        obligations = fields.obligations.len(),
        positions = fields.net_positions.len(),
        next = next.sequence,
        "clearing cycle cut"
    );
    actix::spawn(deliver::to_all(state, sink, report.clone()));
    Ok(Some(report))
}

/// Cuts the open cycle if it has a submission and is older than the time cut-off, or has as many
/// submissions as the count cut-off (which another process of the clearing house may have
/// recorded), in the process that holds the cut-off lease.
pub async fn cut_if_due(
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
) -> Result<(), ClearingError> {
    if !state.cycles.leads() {
        return Ok(());
    }
    let open = state.open_cycle().await?;
    let due = open.opened_at.plus_ms(state.cycle_max_ms);
    let full = open.submissions >= state.cycle_max_submissions;
    if open.submissions > 0 && (state.clock.now() >= due || full) {
        cut(state, sink, Some(open.sequence)).await?;
    }
    Ok(())
}
