//! The clearing house's endpoints, and every node's own: health, metrics, the OpenAPI document
//! and unknown routes.

use serde_json::json;

use super::table::{Auth, Case, Request, refused, same};

pub fn cases() -> Vec<Case> {
    let not_allowed = "route.method_not_allowed";
    let cut = "/v1/clearing/cycle/cut";
    let reports = |query: &str| Request::get(format!("/v1/clearing/reports?{query}")).operator();
    vec![
        refused(
            "health: POST",
            Request::bare("POST", "/health"),
            405,
            not_allowed,
        ),
        refused(
            "metrics: POST",
            Request::bare("POST", "/metrics"),
            405,
            not_allowed,
        ),
        refused(
            "metrics: no token",
            Request::get("/metrics"),
            401,
            "auth.required",
        ),
        refused(
            "metrics: a wrong token",
            Request::get("/metrics").by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "reports: no token",
            reports("after=0").by(Auth::Public),
            401,
            "auth.required",
        ),
        refused(
            "reports: a wrong token",
            reports("after=0").by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "openapi: DELETE",
            Request::bare("DELETE", "/openapi.json"),
            405,
            not_allowed,
        ),
        refused(
            "an unknown route",
            Request::get("/v1/nothing/here"),
            404,
            "route.unknown",
        ),
        refused(
            "an unknown version",
            Request::get("/v2/issuer/denominations"),
            404,
            "route.unknown",
        ),
        refused(
            "cycle: POST",
            Request::bare("POST", "/v1/clearing/cycle"),
            405,
            not_allowed,
        ),
        refused(
            "cut: no token",
            Request::bare("POST", cut),
            401,
            "auth.required",
        ),
        refused(
            "cut: a wrong token",
            Request::bare("POST", cut).by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused("cut: GET", Request::get(cut).operator(), 405, not_allowed),
        refused(
            "reports: after a negative number",
            reports("after=-1"),
            400,
            "request.malformed",
        ),
        refused(
            "reports: after not a number",
            reports("after=minus-one"),
            400,
            "request.malformed",
        ),
        refused(
            "reports: after a number over 64 bits",
            reports("after=99999999999999999999"),
            400,
            "request.malformed",
        ),
        refused(
            "reports: an unknown parameter",
            reports("cycle=1"),
            400,
            "request.malformed",
        ),
        same(
            "reports: before any cycle was cut (none)",
            reports("after=0"),
            &json!([]),
        ),
        refused(
            "reports: a limit over its maximum, 16",
            reports(&format!("after={}&limit=17", u64::MAX)),
            400,
            "request.malformed",
        ),
        same(
            "reports: after the last cycle there can be, with a limit at its maximum (none)",
            reports(&format!("after={}&limit=16", u64::MAX)),
            &json!([]),
        ),
    ]
}
