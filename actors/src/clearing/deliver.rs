//! Report delivery: each new report pushed to every participant, each on its own, retried with
//! doubling waits up to a bound. Delivery is best effort and not recorded: a participant that
//! missed a report, or a restart that interrupted its delivery, is caught up by `reports_after`.

use std::sync::Arc;
use std::time::Duration;

use semper_protocol::ids::BankId;
use semper_protocol::messages::settlement::SignedSettlementReport;

use super::config::DeliveryRetry;
use super::state::ClearingState;
use crate::gateway::ReportSink;
use crate::metrics::CLEARING_REPORT_DELIVERIES;

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
    retry: DeliveryRetry,
    sink: Arc<dyn ReportSink>,
    participant: BankId,
    report: SignedSettlementReport,
) {
    let cycle = report.body().fields().sequence;
    let attempts = retry.attempts_max.max(1);
    let mut wait_ms = retry.backoff_initial_ms;
    for attempt in 1..=attempts {
        let error = match sink.deliver(participant, report.clone()).await {
            Ok(()) => {
                metrics::counter!(CLEARING_REPORT_DELIVERIES, "result" => "delivered").increment(1);
                return;
            }
            Err(error) => error,
        };
        if !error.retryable || attempt == attempts {
            metrics::counter!(CLEARING_REPORT_DELIVERIES, "result" => "failed").increment(1);
            tracing::warn!(
                %participant, cycle, attempt, code = %error.code, message = %error.message,
                "settlement report not delivered; the participant must catch up"
            );
            return;
        }
        tracing::debug!(%participant, cycle, attempt, code = %error.code, "report delivery retried");
        actix::clock::sleep(Duration::from_millis(wait_ms)).await;
        wait_ms = wait_ms.saturating_mul(2).min(retry.backoff_max_ms);
    }
}
