//! The signer's rate bound: a token bucket of signatures, refilled by elapsed time. A stolen
//! issuer can mint only as fast as this allows, and every signature it gets is counted.

use std::time::Instant;

/// A token bucket: up to `burst` signatures at once, `per_s` a second sustained.
#[derive(Debug)]
pub struct RateBound {
    per_s: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl RateBound {
    /// A full bucket.
    pub fn new(per_s: u32, burst: u32) -> Self {
        Self {
            per_s: f64::from(per_s),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            refilled: Instant::now(),
        }
    }

    /// Takes `n` tokens at `now` if the bucket holds them; otherwise takes none.
    pub fn take(&mut self, n: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_s).min(self.burst);
        self.refilled = now;
        let n = n as f64;
        if n <= self.tokens {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_refuses_past_its_burst_and_refills_with_time() {
        let start = Instant::now();
        let mut bound = RateBound::new(10, 20);
        assert!(bound.take(20, start));
        assert!(!bound.take(1, start));
        // Half a second refills five.
        let later = start + Duration::from_millis(500);
        assert!(!bound.take(6, later));
        assert!(bound.take(5, later));
        // Never more than the burst, however long it waited.
        let much_later = later + Duration::from_secs(3600);
        assert!(!bound.take(21, much_later));
        assert!(bound.take(20, much_later));
    }
}
