//! Report delivery: each new report pushed to every participant, each on its own, retried with
//! doubling waits up to a bound. A participant that a delivery did not reach within its retries
//! is caught up by `reports_after`.
//!
//! The cut marks its report undelivered in its own write, and the mark is removed once every
//! participant's delivery ended (delivered, or given up). A clearing house that died in between
//! leaves the mark: the process that cuts next, the new holder of the cut-off lease or the same
//! process restarted, delivers every marked report again before its first cut ([`undelivered`],
//! from the database alone). A participant records a report once and answers a re-delivery as a
//! duplicate, so a report delivered twice, when its first delivery ended but its mark's removal
//! was lost, changes nothing.

use std::sync::Arc;

use semper_protocol::ids::BankId;
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_storage::clearing::{self, ReportDelivered};

use super::error::ClearingError;
use super::state::ClearingState;
use crate::gateway::ReportSink;
use crate::metrics::CLEARING_REPORT_DELIVERIES;
use crate::retry::{RetryConfig, retry};

/// Most marked reports one catch-up pass delivers again; a later tenure takes the rest.
pub const UNDELIVERED_PASS_MAX: usize = 64;

/// Delivers `report` to every participant, concurrently; once every delivery ended, removes the
/// report's undelivered mark.
pub async fn to_all(
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
    report: SignedSettlementReport,
) {
    let sequence = report.body().fields().sequence;
    let deliveries: Vec<_> = state
        .participants
        .banks()
        .map(|participant| {
            actix::spawn(to_one(
                state.delivery,
                sink.clone(),
                participant,
                report.clone(),
            ))
        })
        .collect();
    for delivery in deliveries {
        // A delivery task that panicked ended too; its participant catches up.
        let _ = delivery.await;
    }
    if let Err(error) = state.commit(ReportDelivered { sequence }).await {
        // The mark stays: the next tenure delivers the report again, which changes nothing.
        tracing::warn!(cycle = sequence, code = error.code(), %error, "report's delivery not recorded");
    }
}

/// Delivers again every report marked undelivered (at most [`UNDELIVERED_PASS_MAX`]), each in
/// the background: the reports of cycles cut by a process that died before it delivered them.
pub async fn undelivered(
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
) -> Result<usize, ClearingError> {
    let reports = state
        .on_pool(|state| -> Result<_, ClearingError> {
            let mut reports = Vec::new();
            for sequence in clearing::undelivered(&state.store, UNDELIVERED_PASS_MAX)? {
                if let Some(report) = clearing::report(&state.store, sequence)? {
                    reports.push(report);
                }
            }
            Ok(reports)
        })
        .await??;
    let count = reports.len();
    for report in reports {
        tracing::info!(
            cycle = report.body().fields().sequence,
            "delivering a report cut before the last restart or takeover"
        );
        actix::spawn(to_all(state.clone(), sink.clone(), report));
    }
    Ok(count)
}

/// Delivers `report` to `participant`, retrying what may succeed later.
async fn to_one(
    config: RetryConfig,
    sink: Arc<dyn ReportSink>,
    participant: BankId,
    report: SignedSettlementReport,
) {
    let cycle = report.body().fields().sequence;
    let delivered = retry(&config, "report delivery", || {
        sink.deliver(participant, report.clone())
    })
    .await;
    match delivered {
        Ok(()) => {
            metrics::counter!(CLEARING_REPORT_DELIVERIES, "result" => "delivered").increment(1);
        }
        Err(error) => {
            metrics::counter!(CLEARING_REPORT_DELIVERIES, "result" => "failed").increment(1);
            tracing::warn!(
                %participant, cycle, code = %error.code, message = %error.message,
                "settlement report not delivered; the participant must catch up"
            );
        }
    }
}
