//! The bound on requests in progress across the server: above it, a request is answered 503
//! `server.busy` with `Retry-After` at once, before any work. A request admitted has
//! [`REQUEST_DEADLINE`] to be answered, so that slow clients cannot hold the bound for ever. Also
//! where every "retry later" answer gets its `Retry-After` header.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};

use super::error::{ApiError, REQUEST_TIMEOUT, RetryLater, SERVER_BUSY};

/// The longest a request may take from its headers to its answer, body upload included. Work
/// under way when it passes goes on (an actor's answer is then dropped; every write is
/// idempotent, so the client retries the same request).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// Counts requests in progress, up to a bound; shared by every worker.
#[derive(Debug)]
pub struct Limiter {
    in_flight: AtomicUsize,
    max: usize,
    retry_after_s: u32,
}

/// A request admitted: counted until dropped, even if its future is dropped half-way.
struct Admitted<'a>(&'a Limiter);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Limiter {
    /// A limiter of `max` requests in progress (at least one), answering busy with
    /// `retry_after_s`.
    pub fn new(max: usize, retry_after_s: u32) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            max: max.max(1),
            retry_after_s,
        }
    }

    /// Admits a request, or `None` when `max` are in progress.
    fn admit(&self) -> Option<Admitted<'_>> {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Admitted(self))
    }

    /// Requests in progress now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn retry_after(&self) -> HeaderValue {
        HeaderValue::from(self.retry_after_s)
    }
}

/// Middleware: admits the request under the bound, or answers busy; adds `Retry-After` to every
/// answer marked [`RetryLater`].
pub async fn limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(limiter) = request.app_data::<web::Data<Limiter>>().cloned() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    let Some(_admitted) = limiter.admit() else {
        let busy = ApiError::new(
            SERVER_BUSY,
            format!("more than {} requests in progress", limiter.max),
        );
        let mut response = busy.error_response();
        response
            .headers_mut()
            .insert(RETRY_AFTER, limiter.retry_after());
        return Ok(request.into_response(response));
    };
    // The request is not cloned to answer a timeout: actix-web's router needs the only
    // reference to it, and panics otherwise. The error becomes the response on its own.
    let mut response =
        match actix_web::rt::time::timeout(REQUEST_DEADLINE, next.call(request)).await {
            Ok(answered) => answered?.map_into_boxed_body(),
            Err(_) => {
                return Err(ApiError::new(
                    REQUEST_TIMEOUT,
                    format!(
                        "no answer within {} s: retry the same request",
                        REQUEST_DEADLINE.as_secs()
                    ),
                )
                .into());
            }
        };
    if response.response().extensions().contains::<RetryLater>() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, limiter.retry_after());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_limiter_admits_up_to_its_bound() {
        let limiter = Limiter::new(2, 1);
        let first = limiter.admit();
        let second = limiter.admit();
        assert!(first.is_some() && second.is_some());
        assert!(limiter.admit().is_none());
        drop(first);
        assert_eq!(limiter.in_flight(), 1);
        assert!(limiter.admit().is_some());
        drop(second);
        assert_eq!(limiter.in_flight(), 0);
    }
}
