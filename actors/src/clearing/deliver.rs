//! Report delivery: each new report pushed to every participant, each on its own, retried with
//! doubling waits up to a bound. Delivery is best effort and not recorded: a participant that
//! missed a report, or a restart that interrupted its delivery, is caught up by `reports_after`.

use std::sync::Arc;

use semper_protocol::ids::BankId;
use semper_protocol::messages::settlement::SignedSettlementReport;

use super::state::ClearingState;
use crate::gateway::ReportSink;
use crate::metrics::CLEARING_REPORT_DELIVERIES;
use crate::retry::{RetryConfig, retry};

/// Delivers `report` to every participant, concurrently.
pub async fn to_all(
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
    report: SignedSettlementReport,
) {
    for participant in state.participants.banks() {
        actix::spawn(to_one(
            state.delivery,
            sink.clone(),
            participant,
            report.clone(),
        ));
    }
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
