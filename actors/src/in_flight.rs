//! A bound on requests in progress: past it, new ones are answered "busy" at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts requests in progress, up to a maximum.
#[derive(Clone, Debug)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    max: usize,
}

/// One admitted request; dropping it frees its place.
#[derive(Debug)]
pub struct Ticket(Arc<AtomicUsize>);

impl InFlight {
    /// A limit of `max` requests in progress.
    pub fn new(max: usize) -> Self {
        Self {
            count: Arc::new(AtomicUsize::new(0)),
            max: max.max(1),
        }
    }

    /// A ticket, or `None` when `max` requests are already in progress.
    pub fn admit(&self) -> Option<Ticket> {
        let admitted = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| Ticket(self.count.clone()))
    }

    /// Requests in progress now.
    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_bound_and_frees_on_drop() {
        let limit = InFlight::new(2);
        let a = limit.admit().unwrap();
        let _b = limit.admit().unwrap();
        assert!(limit.admit().is_none());
        drop(a);
        assert!(limit.admit().is_some());
    }
}
