//! Receiving a settlement report: its signature checked against the clearing house the issuer
//! trusts, then reconciled against the totals the issuer recorded for each batch it confirmed and
//! the refunds it confirmed, and recorded with what disagrees. A report that fails verification
//! is not applied: it is recorded as a bad report.

use std::sync::Arc;

use std::collections::HashMap;

use semper_protocol::ids::Digest;
use semper_protocol::messages::settlement::{SettlementReport, SignedSettlementReport};
use semper_protocol::reconcile::issuer::{batches_owed, reconcile_with_refunds, refunds_owed};
use semper_protocol::reconcile::refunds::{RefundBooks, RefundEntry};
use semper_protocol::reconcile::{Discrepancy, bad_report, signed_by};
use semper_storage::StorageError;
use semper_storage::confirmed_batches;
use semper_storage::refund_allowances::issuer_refunds;
use semper_storage::reports::{self, RecordRefusedReport, RecordReport, ReportOutcome};

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
    let refunds = match refund_books(&state, report.body()) {
        Ok(refunds) => refunds,
        Err(error) => return reply(Err(error.into())),
    };
    let transaction = RecordReport {
        discrepancies: reconcile_with_refunds(state.id, report.body(), &books, &refunds),
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

/// The refunds of `report` the issuer is owed, as it recorded them, and those that earlier
/// reports listed. A refund is recorded in the store that holds its coin's spent-set record:
/// the main store, or one of the shard groups, which are all asked for what the others lack.
fn refund_books(
    state: &IssuerState,
    report: &SettlementReport,
) -> Result<RefundBooks, StorageError> {
    let owed = refunds_owed(state.id, report);
    let mut found: HashMap<Digest, _> = issuer_refunds(&state.store, &owed)?;
    if let Some(shards) = &state.spent_shards {
        let mut number = 0;
        while let Some(store) = shards.store(number) {
            let missing: Vec<Digest> = owed
                .iter()
                .filter(|refund| !found.contains_key(*refund))
                .copied()
                .collect();
            if missing.is_empty() {
                break;
            }
            found.extend(issuer_refunds(store, &missing)?);
            number += 1;
        }
    }
    let recorded = found
        .into_iter()
        .map(|(refund, record)| {
            let body = record.confirmation.body();
            let entry = RefundEntry {
                acquirer: body.acquirer,
                issuer: body.issuer,
                amount: body.amount,
                fee: body.fee,
            };
            (refund, entry)
        })
        .collect();
    Ok(RefundBooks {
        recorded,
        whole_cycle: false,
        listed_before: reports::listed_before(&state.store, &owed)?,
    })
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
