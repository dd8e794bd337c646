//! The endpoints every node has, whatever its roles: health, metrics and the OpenAPI document.

use actix_web::http::header::ContentType;
use actix_web::web::{self, Json};
use actix_web::{HttpResponse, HttpResponseBuilder, http::StatusCode};

use super::OPENAPI_JSON;
use super::server::ApiState;
use super::views::HealthView;

/// The content type of Prometheus's text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /health`: the node answers, and hosts these roles.
pub async fn health(state: web::Data<ApiState>) -> Json<HealthView> {
    let roles = &state.roles;
    let hosted = [
        ("issuer", roles.issuer.is_some()),
        ("acquirer", roles.acquirer.is_some()),
        ("clearing", roles.clearing.is_some()),
    ];
    Json(HealthView {
        status: "ok".into(),
        roles: hosted
            .into_iter()
            .filter(|(_, hosted)| *hosted)
            .map(|(role, _)| role.to_owned())
            .collect(),
    })
}

/// `GET /metrics` (operator: Prometheus scrapes with the bearer token): every series of the
/// process, as Prometheus text.
pub async fn metrics(state: web::Data<ApiState>) -> HttpResponse {
    let render = state.metrics.clone();
    HttpResponseBuilder::new(StatusCode::OK)
        .content_type(PROMETHEUS_TEXT)
        .body(render())
}

/// `GET /openapi.json`: the API's OpenAPI 3.0 document.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(OPENAPI_JSON)
}
