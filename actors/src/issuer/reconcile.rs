//! Receiving a settlement report: its signature checked against the clearing house the issuer
//! trusts, then reconciled against the totals the issuer recorded for each batch it confirmed, and
//! recorded with what disagrees. A report that fails verification is not applied: it is recorded
//! as a bad report.

use std::sync::Arc;

use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::reconcile::issuer::{batches_owed, reconcile};
use semper_protocol::reconcile::{Discrepancy, bad_report, signed_by};
use semper_storage::StorageError;
use semper_storage::confirmed_batches;
use semper_storage::reports::{RecordRefusedReport, RecordReport, ReportOutcome};

use super::error::IssuerError;
use super::state::IssuerState;
use crate::reconcile::{found, unfiled};

/// The role its metrics and logs name.
const ROLE: &str = "issuer";

/// Where the discrepancies of a received report go.
type Reply = Box<dyn FnOnce(Result<Vec<Discrepancy>, IssuerError>) + Send>;

/// Receives a report; `reply` gets its discrepancies (none when it agrees with the books) once
/// they are durable. A re-delivered report changes nothing and gets the same answer. Call it on
/// the pool: it verifies and reads in place.
pub fn run(state: Arc<IssuerState>, report: SignedSettlementReport, reply: Reply) {
    let trusted = state
        .clearing
        .is_some_and(|(clearing, key)| signed_by(&report, clearing, &key));
    if !trusted {
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
        unfiled(ROLE, &report, counterparty);
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

/// The discrepancies of a recorded report.
fn answer(recorded: Result<ReportOutcome, StorageError>) -> Result<Vec<Discrepancy>, IssuerError> {
    Ok(found(ROLE, recorded?))
}
