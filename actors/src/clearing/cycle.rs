//! The cut-off: by count after a submission, by time from the timer, or by the operator. The
//! report is made, signed and stored with the next cycle's opening in one write, then delivered.

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
    let key = state.key.clone();
    let transaction = CutCycle {
        clearing: state.id,
        sequence,
        cutoff_at: state.clock.now(),
        sign: std::sync::Arc::new(move |report| Signed::sign(report, &key)),
    };
    let outcome = match state.commit(transaction).await? {
        Ok(outcome) => outcome,
        Err(error) => {
            metrics::counter!(CLEARING_CUT_FAILURES, "code" => error.code()).increment(1);
            tracing::error!(code = error.code(), %error, "clearing cycle could not be cut; it stays open");
            return Err(error.into());
        }
    };
    let CutOutcome::Cut { report, next } = outcome else {
        return Ok(None);
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

/// Cuts the open cycle if it has a submission and is older than the time cut-off.
pub async fn cut_if_due(
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
) -> Result<(), ClearingError> {
    let open = state.open_cycle().await?;
    let due = open.opened_at.plus_ms(state.cycle_max_ms);
    if open.submissions > 0 && state.clock.now() >= due {
        cut(state, sink, Some(open.sequence)).await?;
    }
    Ok(())
}
