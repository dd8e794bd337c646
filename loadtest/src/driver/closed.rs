//! Closed loop: each worker runs its next operation as soon as the last one answered, so the
//! offered load follows the server's speed. Latency is measured from each operation's start.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::{Pacing, Slot};

/// Hands out operations until `operations_max` were handed out or `deadline` passed.
pub struct ClosedLoop {
    issued: AtomicU64,
    operations_max: u64,
    deadline: Instant,
}

impl ClosedLoop {
    /// At most `operations_max` operations, none started after `deadline`.
    pub fn new(operations_max: u64, deadline: Instant) -> Self {
        Self {
            issued: AtomicU64::new(0),
            operations_max,
            deadline,
        }
    }
}

impl Pacing for ClosedLoop {
    fn next(&self) -> Option<Slot> {
        if Instant::now() >= self.deadline {
            return None;
        }
        let index = self.issued.fetch_add(1, Ordering::Relaxed);
        (index < self.operations_max).then_some(Slot {
            index,
            intended: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn it_stops_at_the_operation_bound_or_the_deadline() {
        let pacing = ClosedLoop::new(3, Instant::now() + Duration::from_secs(60));
        let slots: Vec<_> = std::iter::from_fn(|| pacing.next()).collect();
        assert_eq!(slots.iter().map(|s| s.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(slots.iter().all(|s| s.intended.is_none()));
        let pacing = ClosedLoop::new(u64::MAX, Instant::now());
        assert!(pacing.next().is_none());
    }
}
