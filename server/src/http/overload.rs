//! The bounds on work in progress, each answered 503 `server.busy` with `Retry-After` at once
//! when full:
//! - requests in progress from one client address, from their headers to their answer, body
//!   upload included (the middleware [`limit`], with [`super::clients`]): a slow client holds
//!   only its own share;
//! - requests in progress across the server, counted once their body is read: the middleware
//!   reads the body first, within [`Intake::body_timeout`] (408 `request.timeout` after it), so
//!   that clients that send headers and then stall cannot hold this bound. An admitted request has
//!   [`REQUEST_DEADLINE`] to be answered;
//! - coins in progress, checked by the withdraw and deposit handlers once the body is read
//!   ([`Limiter::admit_or_busy`]): a coin's crypto is what costs, so this bound is what keeps the
//!   queue short, and every admitted request answered in time, when the offered load is many times
//!   what the cores can do. While the bound is full, those handlers refuse before parsing the
//!   body at all ([`RoomForCoins`]), so that a refusal costs no JSON parsing.
//!
//! Also where every "retry later" answer gets its `Retry-After` header.

use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpRequest, ResponseError, web};

use super::clients::Clients;
use super::error::{ApiError, REQUEST_TIMEOUT, REQUEST_TOO_LARGE, RetryLater, SERVER_BUSY};
use super::server::ApiState;

/// The longest an admitted request (its body read) may take to be answered. Work under way when
/// it passes goes on (an actor's answer is then dropped; every write is idempotent, so the client
/// retries the same request).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// What the middleware [`limit`] admits requests with; shared by every worker.
#[derive(Debug)]
pub struct Intake {
    /// Requests in progress across the server, their bodies read.
    pub requests: Limiter,
    /// Connections and requests in progress per client address.
    pub clients: Arc<Clients>,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// How long a client has to send a request's body once its headers are in.
    pub body_timeout: Duration,
}

#[cfg(test)]
impl Intake {
    /// The intake of the middleware's tests: `requests_max` requests, eight per client, bodies
    /// of 1 KiB sent within a second.
    pub(crate) fn for_tests(requests_max: usize, retry_after_s: u32) -> Self {
        Self {
            requests: Limiter::new(requests_max, retry_after_s),
            clients: Clients::new(super::clients::ClientBounds {
                connections_max: 8,
                requests_in_flight_max: 8,
            }),
            body_limit_bytes: 1024,
            body_timeout: Duration::from_secs(1),
        }
    }
}

/// Counts units in progress (requests, or coins), up to a bound; shared by every worker.
#[derive(Debug)]
pub struct Limiter {
    in_flight: AtomicUsize,
    max: usize,
    retry_after_s: u32,
}

/// Work admitted: its units counted until dropped, even if its future is dropped half-way.
#[derive(Debug)]
pub struct Admitted<'a> {
    limiter: &'a Limiter,
    units: usize,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.limiter
            .in_flight
            .fetch_sub(self.units, Ordering::AcqRel);
    }
}

impl Limiter {
    /// A limiter of `max` units in progress (at least one), answering busy with
    /// `retry_after_s`.
    pub fn new(max: usize, retry_after_s: u32) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            max: max.max(1),
            retry_after_s,
        }
    }

    /// Admits work of `units`, or `None` when they would take the count over `max`. Work larger
    /// than the whole bound is admitted when nothing else is in progress, so that it runs alone
    /// rather than never.
    pub fn admit(&self, units: usize) -> Option<Admitted<'_>> {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n == 0 || n.saturating_add(units) <= self.max).then_some(n.saturating_add(units))
            })
            .ok()
            .map(|_| Admitted {
                limiter: self,
                units,
            })
    }

    /// Admits work of `units` of `what` (say "coins"), or answers 503 `server.busy`, which the
    /// middleware gives its `Retry-After`.
    pub fn admit_or_busy(&self, units: usize, what: &str) -> Result<Admitted<'_>, ApiError> {
        self.admit(units).ok_or_else(|| self.busy(what))
    }

    /// The answer when no more `what` (say "coins") fit: 503 `server.busy`.
    fn busy(&self, what: &str) -> ApiError {
        ApiError::new(
            SERVER_BUSY,
            format!("more than {} {what} in progress", self.max),
        )
    }

    /// Whether no more work fits beside what is in progress.
    pub fn is_full(&self) -> bool {
        self.in_flight() >= self.max
    }

    /// Units in progress now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn retry_after(&self) -> HeaderValue {
        HeaderValue::from(self.retry_after_s)
    }
}

/// Extractor, put before the body's: refuses with 503 `server.busy` while the coins in progress
/// are at their bound, before the body is read (extractors run in order, and the first error
/// ends the extraction). A request let through is still weighed by [`Limiter::admit_or_busy`].
#[derive(Debug)]
pub struct RoomForCoins;

impl FromRequest for RoomForCoins {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match request.app_data::<web::Data<ApiState>>() {
            Some(state) if state.coins_in_flight.is_full() => {
                Err(state.coins_in_flight.busy("coins"))
            }
            _ => Ok(RoomForCoins),
        })
    }
}

/// Middleware: counts the request against its client, reads its body within the body timeout,
/// admits it under the server's bound, or answers busy; adds `Retry-After` to every answer
/// marked [`RetryLater`].
pub async fn limit(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(intake) = request.app_data::<web::Data<Intake>>().cloned() else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    let retry_after = intake.requests.retry_after();
    // A request without a peer address (not over TCP: a test's) is counted against no client.
    let _client = match request.peer_addr() {
        Some(peer) => match intake.clients.admit_request(peer.ip()) {
            Ok(held) => Some(held),
            Err(busy) => return Ok(refuse(request, busy, &retry_after)),
        },
        None => None,
    };
    // Full already: refuse before reading the body, which would then be read for nothing.
    if intake.requests.is_full() {
        let busy = intake.requests.busy("requests");
        return Ok(refuse(request, busy, &retry_after));
    }
    if let Err(refused) = read_body(&mut request, &intake).await {
        return Ok(refuse(request, refused, &retry_after));
    }
    let Some(_admitted) = intake.requests.admit(1) else {
        let busy = intake.requests.busy("requests");
        return Ok(refuse(request, busy, &retry_after));
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
        response.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    Ok(response)
}

/// Answers `request` with `error`, and `Retry-After` when it is worth retrying.
fn refuse(request: ServiceRequest, error: ApiError, retry_after: &HeaderValue) -> ServiceResponse {
    let mut response = error.error_response();
    if error.is_retryable() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, retry_after.clone());
    }
    request.into_response(response)
}

/// Reads the whole body of `request` (up to the body limit, within the body timeout) and puts it
/// back, read, for the handler's extractors.
async fn read_body(request: &mut ServiceRequest, intake: &Intake) -> Result<(), ApiError> {
    let timeout = intake.body_timeout;
    let body = match actix_web::rt::time::timeout(timeout, request.extract::<web::Bytes>()).await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) if error.as_response_error().status_code().as_u16() == 413 => {
            return Err(ApiError::new(
                REQUEST_TOO_LARGE,
                format!("the body is over {} bytes", intake.body_limit_bytes),
            ));
        }
        Ok(Err(error)) => return Err(ApiError::malformed(format!("body: {error}"))),
        Err(_) => {
            return Err(ApiError::new(
                REQUEST_TIMEOUT,
                format!(
                    "the body was not sent within {} ms: retry the same request",
                    timeout.as_millis()
                ),
            ));
        }
    };
    request.set_payload(body.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_limiter_admits_up_to_its_bound() {
        let limiter = Limiter::new(2, 1);
        let first = limiter.admit(1);
        let second = limiter.admit(1);
        assert!(first.is_some() && second.is_some());
        assert!(limiter.admit(1).is_none());
        drop(first);
        assert_eq!(limiter.in_flight(), 1);
        assert!(limiter.admit(1).is_some());
        drop(second);
        assert_eq!(limiter.in_flight(), 0);
    }

    #[test]
    fn http_a_withdrawal_or_deposit_is_refused_unread_while_the_coins_are_at_their_bound() {
        use actix_web::test::{TestRequest, call_service, init_service};
        actix_web::rt::System::new().block_on(async {
            let state = web::Data::new(ApiState::for_tests(64, 3));
            let intake = web::Data::new(Intake::for_tests(8, 3));
            let service = init_service(crate::http::server::app(state.clone(), intake)).await;
            let post = |path: &str| {
                TestRequest::post()
                    .uri(path)
                    .insert_header(("content-type", "application/json"))
                    .set_payload("not json")
                    .to_request()
            };
            let held = state.coins_in_flight.admit(64).unwrap();
            for path in ["/v1/issuer/withdraw", "/v1/acquirer/deposits"] {
                // Busy, not malformed: the body was never parsed.
                let busy = call_service(&service, post(path)).await;
                assert_eq!(busy.status().as_u16(), 503, "{path}");
                assert_eq!(busy.headers().get(RETRY_AFTER).unwrap(), "3");
            }
            drop(held);
            let malformed = call_service(&service, post("/v1/issuer/withdraw")).await;
            assert_eq!(malformed.status().as_u16(), 400);
        });
    }

    #[test]
    fn http_requests_over_the_servers_bound_answer_busy_and_bodies_are_bounded() {
        use actix_web::test::{TestRequest, call_service, init_service};
        actix_web::rt::System::new().block_on(async {
            let state = web::Data::new(ApiState::for_tests(64, 3));
            let intake = web::Data::new(Intake::for_tests(2, 3));
            let service = init_service(crate::http::server::app(state, intake.clone())).await;
            let health = || TestRequest::get().uri("/health").to_request();
            let held = intake.requests.admit(2).unwrap();
            let busy = call_service(&service, health()).await;
            assert_eq!(busy.status().as_u16(), 503);
            assert_eq!(busy.headers().get(RETRY_AFTER).unwrap(), "3");
            drop(held);
            assert_eq!(
                call_service(&service, health()).await.status().as_u16(),
                200
            );
            // A body over the bound is refused as the middleware reads it.
            let large = TestRequest::post()
                .uri("/v1/issuer/withdraw")
                .insert_header(("content-type", "application/json"))
                .set_payload(vec![b' '; 2048])
                .to_request();
            let refused = call_service(&service, large).await;
            assert_eq!(refused.status().as_u16(), 413);
            assert_eq!(intake.requests.in_flight(), 0);
        });
    }

    #[test]
    fn http_limiter_is_full_at_its_bound() {
        let coins = Limiter::new(10, 1);
        let held = coins.admit(10).unwrap();
        assert!(coins.is_full());
        drop(held);
        assert!(!coins.is_full());
    }

    #[test]
    fn http_limiter_weighs_work_and_runs_oversized_work_alone() {
        let coins = Limiter::new(100, 1);
        let sixty = coins.admit(60).unwrap();
        assert!(coins.admit(41).is_none());
        let forty = coins.admit(40).unwrap();
        assert_eq!(coins.in_flight(), 100);
        let refused = coins.admit_or_busy(1, "coins").unwrap_err();
        assert_eq!(refused.code(), SERVER_BUSY);
        assert_eq!(refused.status().as_u16(), 503);
        assert!(refused.is_retryable());
        drop((sixty, forty));
        // Larger than the bound: admitted alone, and nothing beside it.
        let large = coins.admit(250).unwrap();
        assert!(coins.admit(1).is_none());
        drop(large);
        assert_eq!(coins.in_flight(), 0);
    }
}
