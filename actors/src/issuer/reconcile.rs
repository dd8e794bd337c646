//! Receiving a settlement report: its signature checked against the clearing house the issuer
//! trusts, then reconciled against the totals the issuer recorded for each batch it confirmed, and
//! recorded with what disagrees. A report that fails verification is not applied: it is recorded
//! as a bad report.

use std::sync::Arc;

use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::reconcile::Discrepancy;
use semper_protocol::reconcile::issuer::{bad_report, batches_owed, reconcile};
use semper_storage::StorageError;
use semper_storage::confirmed_batches;
use semper_storage::reports::{RecordRefusedReport, RecordReport, ReportOutcome};

use super::error::IssuerError;
use super::state::IssuerState;

/// Where the discrepancies of a received report go.
type Reply = Box<dyn FnOnce(Result<Vec<Discrepancy>, IssuerError>) + Send>;

/// Receives a report; `reply` gets its discrepancies (none when it agrees with the books) once
/// they are durable. A re-delivered report changes nothing and gets the same answer. Call it on
/// the pool: it verifies and reads in place.
pub fn run(state: Arc<IssuerState>, report: SignedSettlementReport, reply: Reply) {
    let claimed = report.body().fields().clearing;
    let trusted = state
        .clearing
        .filter(|(clearing, key)| *clearing == claimed && report.verify(key).is_ok());
    if trusted.is_none() {
        return refuse(state, report, reply);
    }
    let owed = batches_owed(state.id, report.body());
    let books = match confirmed_batches::totals(&state.store, &owed) {
        Ok(books) => books,
        Err(error) => return reply(Err(error.into())),
    };
    let transaction = RecordReport {
        discrepancies: reconcile(state.id, report.body(), &books),
        received_at: state.clock.now(),
        report: report.clone(),
    };
    let committer_state = state.clone();
    state
        .committer
        .submit_or_reply(transaction, move |result| match result {
            // Back to the pool: the committer's thread must never hold the last handle on the
            // state, whose committer it would then have to join.
            Ok(ReportOutcome::Conflicting) => {
                let pool_state = committer_state.clone();
                committer_state
                    .pool
                    .spawn(move || refuse(pool_state, report, reply));
            }
            other => reply(answer(other)),
        });
}

/// Records `report` as a bad report, once.
fn refuse(state: Arc<IssuerState>, report: SignedSettlementReport, reply: Reply) {
    let counterparty = state
        .clearing
        .map_or(report.body().fields().clearing, |(clearing, _)| clearing);
    let fallback = state.schedule.values.first().map(|value| value.currency());
    let Some(discrepancy) = bad_report(state.id, counterparty, &report, fallback) else {
        // No currency to file it under: the report names none and the issuer issues none.
        metrics::counter!("semper_reconcile_discrepancies_total", "role" => "issuer", "kind" => "reconcile.bad_report").increment(1);
        tracing::warn!(
            cycle = report.body().fields().sequence,
            %counterparty,
            "settlement report refused: bad signature or unknown clearing house"
        );
        return reply(Ok(Vec::new()));
    };
    let transaction = RecordRefusedReport {
        digest: report.body_digest(),
        discrepancy,
    };
    state
        .committer
        .submit_or_reply(transaction, move |result| reply(answer(result)));
}

/// The discrepancies of a recorded report; new ones are counted and logged once, here.
fn answer(recorded: Result<ReportOutcome, StorageError>) -> Result<Vec<Discrepancy>, IssuerError> {
    match recorded? {
        ReportOutcome::Recorded(found) => {
            for discrepancy in &found {
                metrics::counter!(
                    "semper_reconcile_discrepancies_total",
                    "role" => "issuer",
                    "kind" => discrepancy.kind.code()
                )
                .increment(1);
                tracing::warn!(
                    cycle = discrepancy.cycle_sequence,
                    kind = discrepancy.kind.code(),
                    counterparty = %discrepancy.counterparty,
                    currency = %discrepancy.currency,
                    batch = ?discrepancy.batch,
                    books_minor_units = discrepancy.books_minor_units,
                    report_minor_units = discrepancy.report_minor_units,
                    "settlement report disagrees with the issuer's books"
                );
            }
            Ok(found)
        }
        ReportOutcome::Duplicate(found) => Ok(found),
        // Only a verified report can conflict, and it is then recorded as refused instead.
        ReportOutcome::Conflicting => Ok(Vec::new()),
    }
}
