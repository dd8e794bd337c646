//! Open loop: operation `i` is due at `t0 + i / rate`, whatever happened to the ones before.
//! A worker takes the next due operation, waits for its time if it is early, and its latency is
//! measured from that intended time: when the server falls behind, the wait for a free worker
//! counts, so coordinated omission does not hide the queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Pacing, Slot};

/// When operation `index` is due after the start, at `rate_per_s`.
pub fn due_after(index: u64, rate_per_s: f64) -> Duration {
    Duration::from_secs_f64(index as f64 / rate_per_s)
}

/// The schedule of an open-loop run.
pub struct OpenLoop {
    t0: Instant,
    rate_per_s: f64,
    issued: AtomicU64,
    operations_max: u64,
    duration: Duration,
}

impl OpenLoop {
    /// `rate_per_s` operations a second from `t0`, at most `operations_max`, none due at or after
    /// `duration`.
    pub fn new(t0: Instant, rate_per_s: f64, operations_max: u64, duration: Duration) -> Self {
        Self {
            t0,
            rate_per_s,
            issued: AtomicU64::new(0),
            operations_max,
            duration,
        }
    }

    /// The next slot without waiting for it. None is handed out once `duration` has passed,
    /// even if the schedule is behind: a run at many times what the server can do still ends on
    /// time, and the operations it never started are not offered (their count is the schedule's
    /// minus the operations run).
    pub fn take(&self) -> Option<Slot> {
        if self.t0.elapsed() >= self.duration {
            return None;
        }
        let index = self.issued.fetch_add(1, Ordering::Relaxed);
        let due = due_after(index, self.rate_per_s);
        (index < self.operations_max && due < self.duration).then(|| Slot {
            index,
            intended: Some(self.t0 + due),
        })
    }
}

impl Pacing for OpenLoop {
    fn next(&self) -> Option<Slot> {
        let slot = self.take()?;
        if let Some(intended) = slot.intended {
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now);
            }
        }
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_due_at_even_intervals() {
        assert_eq!(due_after(0, 100.0), Duration::ZERO);
        assert_eq!(due_after(1, 100.0), Duration::from_millis(10));
        assert_eq!(due_after(250, 100.0), Duration::from_millis(2500));
        assert_eq!(due_after(3, 0.5), Duration::from_secs(6));
    }

    #[test]
    fn the_schedule_ends_at_its_duration_or_operation_bound() {
        let t0 = Instant::now();
        let schedule = OpenLoop::new(t0, 10.0, u64::MAX, Duration::from_secs(2));
        let slots: Vec<_> = std::iter::from_fn(|| schedule.take()).collect();
        assert_eq!(slots.len(), 20);
        assert_eq!(slots[7].intended, Some(t0 + Duration::from_millis(700)));
        let schedule = OpenLoop::new(t0, 10.0, 5, Duration::from_secs(60));
        assert_eq!(std::iter::from_fn(|| schedule.take()).count(), 5);
    }

    #[test]
    fn a_schedule_behind_ends_at_its_duration() {
        let t0 = Instant::now() - Duration::from_secs(3);
        let schedule = OpenLoop::new(t0, 10.0, u64::MAX, Duration::from_secs(2));
        // Twenty slots were due, none taken: the duration has passed, so none is handed out.
        assert_eq!(schedule.take(), None);
    }

    #[test]
    fn a_late_slot_keeps_its_intended_time() {
        let t0 = Instant::now() - Duration::from_secs(5);
        let schedule = OpenLoop::new(t0, 1.0, 10, Duration::from_secs(60));
        let slot = schedule.next().unwrap();
        // Due 5 s ago: handed out at once, and its latency will count those 5 s.
        assert_eq!(slot.intended, Some(t0));
    }
}
