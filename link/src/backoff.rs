//! Reconnection pacing: exponential backoff, bounded, with jitter.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// How a client paces its reconnection attempts after failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The pause after the first failure.
    pub initial: Duration,
    /// The longest pause, however many failures came before.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The pause after `failures` consecutive failures (at least 1): `initial` doubled per
    /// failure and capped at `max`, then scaled into its upper half by `random`, so that banks
    /// that lost a peer together do not retry in step.
    pub fn delay(&self, failures: u32, random: u64) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let base = self.initial.saturating_mul(1 << doublings).min(self.max);
        let base_ns = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
        let half = base_ns / 2;
        Duration::from_nanos(half + random % (base_ns - half + 1))
    }
}

/// A random number for jitter; not for cryptography.
pub(crate) fn jitter_seed() -> u64 {
    // Each RandomState has fresh keys, so hashing nothing yields a new random value.
    RandomState::new().hash_one(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps_within_the_upper_half() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let cases = [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ];
        for (failures, base_ms) in cases {
            let base = Duration::from_millis(base_ms);
            for random in [0, 1, 12345, u64::MAX] {
                let delay = backoff.delay(failures, random);
                assert!(
                    delay >= base / 2 && delay <= base,
                    "{failures} {random}: {delay:?}"
                );
            }
            assert_eq!(backoff.delay(failures, 0), base / 2);
        }
    }

    #[test]
    fn jitter_varies() {
        let seeds: std::collections::HashSet<u64> = (0..8).map(|_| jitter_seed()).collect();
        assert!(seeds.len() > 1);
    }
}
