//! Per-request metrics and logs. Requests are labelled by the route pattern they matched (e.g.
//! `/v1/acquirer/merchants/{merchant}`), never by their raw path, so the series stay few.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

use super::error::ROUTE_UNKNOWN;

/// Requests answered, by endpoint, method and status.
pub const HTTP_REQUESTS_TOTAL: &str = "semper_http_requests_total";
/// Time to answer a request, in seconds, by endpoint, method and status.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "semper_http_request_duration_seconds";

/// The method as a label: the standard ones by name, anything else as `other`, so that no
/// client can add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware: counts and times each request, and logs one debug line for it (no body, no
/// headers: neither a token nor a payload reaches the log).
pub async fn record<B: MessageBody + 'static>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let endpoint = request
        .match_pattern()
        .unwrap_or_else(|| ROUTE_UNKNOWN.to_owned());
    let answered = next.call(request).await;
    let status = match &answered {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let seconds = started.elapsed().as_secs_f64();
    let labels = [
        ("endpoint", endpoint.clone()),
        ("method", method.to_owned()),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels).record(seconds);
    tracing::debug!(
        method,
        endpoint,
        status = status.as_u16(),
        duration_ms = seconds * 1000.0,
        "http request"
    );
    answered
}

#[cfg(test)]
mod tests {
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::web;
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;
    use crate::http::overload::Intake;
    use crate::http::server::{ApiState, app};

    #[test]
    fn http_metrics_label_the_route_pattern_not_the_path() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _local = metrics::set_default_local_recorder(&recorder);
        actix_web::rt::System::new().block_on(async {
            let state = web::Data::new(ApiState::for_tests(64, 1));
            let intake = web::Data::new(Intake::for_tests(8, 1));
            let service = init_service(app(state, intake)).await;
            for path in [
                "/v1/issuer/accounts/0123456789abcdef0123456789abcdef",
                "/v1/issuer/accounts/not-hex",
                "/secret/raw/path",
            ] {
                // A signed read gets past the owner check to the path's parsing and the role.
                let read = format!("Semper-Read 1.{}", "00".repeat(64));
                let request = TestRequest::get()
                    .uri(path)
                    .insert_header(("Authorization", read))
                    .to_request();
                call_service(&service, request).await;
            }
        });
        let text = handle.render();
        let pattern = r#"endpoint="/v1/issuer/accounts/{account}",method="GET",status="404""#;
        assert!(text.contains(pattern), "{text}");
        let malformed = r#"endpoint="/v1/issuer/accounts/{account}",method="GET",status="400""#;
        assert!(text.contains(malformed), "{text}");
        assert!(text.contains(r#"endpoint="route.unknown""#), "{text}");
        assert!(text.contains(HTTP_REQUEST_DURATION_SECONDS), "{text}");
        assert!(
            !text.contains("0123456789abcdef") && !text.contains("/secret"),
            "{text}"
        );
    }
}
