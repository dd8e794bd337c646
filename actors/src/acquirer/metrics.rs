//! The acquirer's metrics; their names are in [`crate::metrics`].

use semper_protocol::messages::merchant::{DepositResponse, DepositResult};

use crate::metrics::{
    ACQUIRER_COINS, ACQUIRER_DEPOSITS, ACQUIRER_MICRO_BATCH_COINS, ACQUIRER_OUTBOX_DEPTH,
    ACQUIRER_SUBMISSIONS, ACQUIRER_VERIFY_SECONDS,
};

/// Records a micro-batch's size.
pub fn micro_batch(coins: usize) {
    metrics::histogram!(ACQUIRER_MICRO_BATCH_COINS).record(coins as f64);
}

/// Records how long a micro-batch took to verify.
pub fn verified(seconds: f64) {
    metrics::histogram!(ACQUIRER_VERIFY_SECONDS).record(seconds);
}

/// Sets the outbox depth.
pub fn outbox_depth(depth: u64) {
    metrics::gauge!(ACQUIRER_OUTBOX_DEPTH).set(depth as f64);
}

/// Counts a submission's outcome.
pub fn submission_answered(outcome: &'static str) {
    metrics::counter!(ACQUIRER_SUBMISSIONS, "outcome" => outcome).increment(1);
}

/// Counts a deposit's outcome, and its coins by result when it has them: tallied first, so that
/// each result is one increment per deposit, not one per coin.
pub fn deposit_answered(outcome: &'static str, response: Option<&DepositResponse>) {
    metrics::counter!(ACQUIRER_DEPOSITS, "outcome" => outcome).increment(1);
    let Some(response) = response else {
        return;
    };
    let mut tally = [0u64; 4];
    for result in response.results.iter() {
        tally[match result {
            DepositResult::Accepted => 0,
            DepositResult::Replay => 1,
            DepositResult::Conflict { .. }
            | DepositResult::Swapped { .. }
            | DepositResult::Recouped { .. } => 2,
            DepositResult::Refused { .. } => 3,
        }] += 1;
    }
    // Literal labels: each counter's key is static, so no allocation per call.
    let [accepted, replay, conflict, refused] = tally;
    if accepted > 0 {
        metrics::counter!(ACQUIRER_COINS, "result" => "accepted").increment(accepted);
    }
    if replay > 0 {
        metrics::counter!(ACQUIRER_COINS, "result" => "replay").increment(replay);
    }
    if conflict > 0 {
        metrics::counter!(ACQUIRER_COINS, "result" => "conflict").increment(conflict);
    }
    if refused > 0 {
        metrics::counter!(ACQUIRER_COINS, "result" => "refused").increment(refused);
    }
}
