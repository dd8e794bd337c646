//! Counts a server's running request tasks, so that a graceful shutdown can wait for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// A count of live tasks, and a wake-up when it reaches zero.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    live: AtomicUsize,
    idle: Notify,
}

/// Held by one task; dropping it ends the task's count.
#[derive(Debug)]
pub(crate) struct TaskGuard {
    inner: Arc<Inner>,
}

impl Tracker {
    /// Counts one more task until the guard is dropped.
    pub(crate) fn enter(&self) -> TaskGuard {
        self.inner.live.fetch_add(1, Ordering::AcqRel);
        TaskGuard {
            inner: self.inner.clone(),
        }
    }

    /// Waits until no task is live.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            // Registered before the check, so a guard dropped in between still wakes us.
            idle.as_mut().enable();
            if self.inner.live.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.inner.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waits_for_every_guard() {
        let tracker = Tracker::default();
        tracker.wait_idle().await;
        let one = tracker.enter();
        let two = tracker.enter();
        drop(one);
        let waiting = tokio::time::timeout(Duration::from_millis(20), tracker.wait_idle());
        assert!(waiting.await.is_err(), "one task is still live");
        drop(two);
        tokio::time::timeout(Duration::from_secs(5), tracker.wait_idle())
            .await
            .unwrap();
    }
}
