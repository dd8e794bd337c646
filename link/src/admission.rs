//! The client-side bounds shared by every carrier: in-flight requests and the request timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::LinkError;
use crate::frame::FRAME_PAYLOAD_MAX_BYTES;

/// A client's bounds on its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a request (or one-way send) may take, from the call to the answer; waiting for
    /// an in-flight slot and for a connection count against it.
    pub request_timeout: Duration,
    /// How many requests and sends may be under way at once.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            max_in_flight: 256,
        }
    }
}

/// Admits calls within [`Limits`]: a call waits for a slot until its deadline, then gets
/// [`LinkError::Busy`].
#[derive(Debug)]
pub(crate) struct Admission {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Admission {
    /// Checks the limits and makes the slots.
    pub(crate) fn new(limits: Limits) -> Result<Self, LinkError> {
        if limits.max_in_flight == 0 || limits.max_in_flight > Semaphore::MAX_PERMITS {
            return Err(LinkError::Config(format!(
                "max_in_flight must be between 1 and {}",
                Semaphore::MAX_PERMITS
            )));
        }
        if limits.request_timeout.is_zero() {
            return Err(LinkError::Config(
                "request_timeout must not be zero".to_owned(),
            ));
        }
        Ok(Self {
            slots: Arc::new(Semaphore::new(limits.max_in_flight)),
            timeout: limits.request_timeout,
        })
    }

    /// Checks the payload bound, then waits for a slot; returns the slot and the call's deadline.
    pub(crate) async fn admit(
        &self,
        payload: &[u8],
    ) -> Result<(OwnedSemaphorePermit, Instant), LinkError> {
        if payload.len() > FRAME_PAYLOAD_MAX_BYTES {
            return Err(LinkError::TooLarge {
                len: payload.len(),
                max: FRAME_PAYLOAD_MAX_BYTES,
            });
        }
        let deadline = Instant::now() + self.timeout;
        match tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok((slot, deadline)),
            Ok(Err(_closed)) => Err(LinkError::Closed),
            Err(_elapsed) => Err(LinkError::Busy),
        }
    }

    /// Refuses every later call with [`LinkError::Closed`].
    pub(crate) fn close(&self) {
        self.slots.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_bound_answers_busy_at_the_deadline() {
        let admission = Admission::new(Limits {
            request_timeout: Duration::from_millis(30),
            max_in_flight: 1,
        })
        .unwrap();
        let held = admission.admit(b"x").await.unwrap();
        assert!(matches!(admission.admit(b"x").await, Err(LinkError::Busy)));
        drop(held);
        assert!(admission.admit(b"x").await.is_ok());
        admission.close();
        assert!(matches!(
            admission.admit(b"x").await,
            Err(LinkError::Closed)
        ));
    }

    #[test]
    fn refuses_unusable_limits() {
        let zero = Limits {
            max_in_flight: 0,
            ..Limits::default()
        };
        assert_eq!(Admission::new(zero).unwrap_err().code(), "link.config");
    }
}
