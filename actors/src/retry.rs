//! Retrying a call to another bank: every inter-bank request is idempotent, so a retryable
//! failure is sent again, the same request, after a bounded exponential backoff.

use std::time::Duration;

use crate::gateway::{GatewayError, GatewayFuture};

/// How a call is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts in all, the first included; at least one is always made.
    pub attempts_max: u32,
    /// Wait before the second attempt, in ms; it doubles for each attempt after.
    pub backoff_initial_ms: u64,
    /// Longest wait between two attempts, in ms.
    pub backoff_max_ms: u64,
}

impl RetryConfig {
    /// The wait after failed attempt number `attempt` (from 1), in ms.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(63);
        self.backoff_initial_ms
            .saturating_mul(1u64 << doublings)
            .min(self.backoff_max_ms)
    }
}

/// Makes the call `call` builds until it succeeds, fails for good, or `config.attempts_max`
/// attempts have failed; returns the last answer. `what` names the call in logs.
pub async fn retry<'g, T>(
    config: &RetryConfig,
    what: &str,
    mut call: impl FnMut() -> GatewayFuture<'g, T>,
) -> Result<T, GatewayError> {
    let mut attempt = 1;
    loop {
        match call().await {
            Err(error) if error.retryable && attempt < config.attempts_max => {
                let wait_ms = config.backoff_ms(attempt);
                tracing::warn!(what, attempt, wait_ms, code = %error.code, "retrying");
                tokio::time::sleep(Duration::from_millis(wait_ms)).await;
                attempt += 1;
            }
            answer => return answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let config = RetryConfig {
            attempts_max: 10,
            backoff_initial_ms: 10,
            backoff_max_ms: 50,
        };
        let waits: Vec<u64> = (1..=5).map(|a| config.backoff_ms(a)).collect();
        assert_eq!(waits, vec![10, 20, 40, 50, 50]);
        assert_eq!(config.backoff_ms(u32::MAX), 50);
    }
}
