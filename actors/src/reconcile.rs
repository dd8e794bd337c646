//! What every participant does once a settlement report is recorded: each new discrepancy is
//! counted and logged, once, here; a re-delivery only gets the answer recorded the first time.

use semper_protocol::ids::BankId;
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::reconcile::{Discrepancy, DiscrepancyKind};
use semper_storage::reports::ReportOutcome;

use crate::metrics::RECONCILE_DISCREPANCIES;

/// The discrepancies of a report `role` recorded; new ones are counted and logged.
pub(crate) fn found(role: &'static str, recorded: ReportOutcome) -> Vec<Discrepancy> {
    match recorded {
        ReportOutcome::Recorded(found) => {
            for discrepancy in &found {
                metrics::counter!(RECONCILE_DISCREPANCIES, "role" => role, "kind" => discrepancy.kind.code())
                    .increment(1);
                tracing::warn!(
                    role,
                    cycle = discrepancy.cycle_sequence,
                    kind = discrepancy.kind.code(),
                    counterparty = %discrepancy.counterparty,
                    currency = %discrepancy.currency,
                    batch = ?discrepancy.batch,
                    books_minor_units = discrepancy.books_minor_units,
                    report_minor_units = discrepancy.report_minor_units,
                    "settlement report disagrees with the books"
                );
            }
            found
        }
        ReportOutcome::Duplicate(found) => found,
        // Only a verified report can conflict, and it is then recorded as refused instead.
        ReportOutcome::Conflicting => Vec::new(),
    }
}

/// Counts and logs a refused report that names no currency to file its record under, when the
/// bank has none either: it cannot be recorded.
pub(crate) fn unfiled(role: &'static str, report: &SignedSettlementReport, counterparty: BankId) {
    let kind = DiscrepancyKind::BadReport.code();
    metrics::counter!(RECONCILE_DISCREPANCIES, "role" => role, "kind" => kind).increment(1);
    tracing::warn!(
        role,
        cycle = report.body().fields().sequence,
        %counterparty,
        "settlement report refused: bad signature or unknown clearing house"
    );
}
