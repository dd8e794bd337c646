//! The acquirer's metrics, each name written once.

use semper_protocol::messages::merchant::{DepositResponse, DepositResult};

/// Coins per micro-batch.
pub const BATCH_COINS: &str = "semper_acquirer_micro_batch_coins";
/// Time to verify one micro-batch, in seconds.
pub const VERIFY_SECONDS: &str = "semper_acquirer_verify_seconds";
/// Deposits answered, by outcome.
pub const DEPOSITS: &str = "semper_acquirer_deposits_total";
/// Coins answered, by result.
pub const COINS: &str = "semper_acquirer_coins_total";
/// Confirmations waiting in the outbox.
pub const OUTBOX_DEPTH: &str = "semper_acquirer_outbox_depth";
/// Submissions answered, by outcome.
pub const SUBMISSIONS: &str = "semper_acquirer_submissions_total";

/// Records a micro-batch's size.
pub fn micro_batch(coins: usize) {
    metrics::histogram!(BATCH_COINS).record(coins as f64);
}

/// Records how long a micro-batch took to verify.
pub fn verified(seconds: f64) {
    metrics::histogram!(VERIFY_SECONDS).record(seconds);
}

/// Sets the outbox depth.
pub fn outbox_depth(depth: u64) {
    metrics::gauge!(OUTBOX_DEPTH).set(depth as f64);
}

/// Counts a submission's outcome.
pub fn submission_answered(outcome: &'static str) {
    metrics::counter!(SUBMISSIONS, "outcome" => outcome).increment(1);
}

/// Counts a deposit's outcome, and each coin's result when it has them.
pub fn deposit_answered(outcome: &'static str, response: Option<&DepositResponse>) {
    metrics::counter!(DEPOSITS, "outcome" => outcome).increment(1);
    for result in response.iter().flat_map(|r| r.results.iter()) {
        let result = match result {
            DepositResult::Accepted => "accepted",
            DepositResult::Replay => "replay",
            DepositResult::Conflict { .. } => "conflict",
            DepositResult::Refused { .. } => "refused",
        };
        metrics::counter!(COINS, "result" => result).increment(1);
    }
}
