//! The JSON error every endpoint answers with: `{"code": "...", "message": "..."}`, with the status
//! [`codes::status_of`] gives its code. Also the extractor error handlers, so that a malformed body,
//! path or query is answered in the same form.

use actix_web::body::BoxBody;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use semper_actors::acquirer::AcquirerError;
use semper_actors::clearing::ClearingError;
use semper_actors::issuer::IssuerError;
use semper_protocol::amount::AmountError;
use semper_protocol::crypto::ed25519::SignatureError;
use serde::Serialize;
use serde_json::{Map, Value};

use super::codes;

/// A body, path or query that does not parse.
pub const REQUEST_MALFORMED: &str = "request.malformed";
/// A body that is not `application/json`.
pub const REQUEST_CONTENT_TYPE: &str = "request.content_type";
/// A body over the configured bound.
pub const REQUEST_TOO_LARGE: &str = "request.too_large";
/// No endpoint at this path.
pub const ROUTE_UNKNOWN: &str = "route.unknown";
/// An endpoint at this path, but not with this method.
pub const METHOD_NOT_ALLOWED: &str = "route.method_not_allowed";
/// The endpoint's role is not hosted by this process.
pub const ROLE_NOT_HOSTED: &str = "role.not_hosted";
/// An operator call without a bearer token.
pub const AUTH_REQUIRED: &str = "auth.required";
/// An operator call with a wrong token.
pub const AUTH_INVALID: &str = "auth.invalid";
/// An operator call to a node that has no operator token.
pub const AUTH_OPERATOR_DISABLED: &str = "auth.operator_disabled";
/// Too many requests in progress: retry after `Retry-After` seconds.
pub const SERVER_BUSY: &str = "server.busy";
/// A request that took longer than its deadline (a body sent too slowly, or work stuck).
pub const REQUEST_TIMEOUT: &str = "request.timeout";
/// A deposit the acquirer has never seen.
pub const DEPOSIT_UNKNOWN: &str = "deposit.unknown";
/// A signed read whose `Authorization: Semper-Read` credentials do not parse.
pub const READ_MALFORMED: &str = "read.malformed";
/// An account opening not signed by the key it registers.
pub const ACCOUNT_INVALID_SIGNATURE: &str = "account.invalid_signature";
/// Too many account openings from one client address: retry after `Retry-After` seconds.
pub const ACCOUNT_OPENS_LIMITED: &str = "account.opens_limited";

/// The longest message an error answer carries. Messages quote what was refused (a currency
/// code, a serde error naming the value), and a request can make that as long as its body: cut
/// it, so that a refusal never echoes an oversized value back.
pub const MESSAGE_MAX_BYTES: usize = 512;

/// `message`, cut to [`MESSAGE_MAX_BYTES`] on a character boundary, marked when cut.
fn bounded(mut message: String) -> String {
    const MARK: &str = "...";
    if message.len() > MESSAGE_MAX_BYTES {
        let mut end = MESSAGE_MAX_BYTES - MARK.len();
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str(MARK);
    }
    message
}

/// Marks a response whose request may succeed later: the overload middleware gives it a
/// `Retry-After` header with the configured delay.
#[derive(Clone, Copy, Debug)]
pub struct RetryLater;

/// An error answer.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry: bool,
    /// What the code's documented answer carries beside `code` and `message` (a swap's
    /// conflict: the coin and the proof), for the client to act on.
    fields: Option<Box<Map<String, Value>>>,
}

/// The JSON form of an error.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(flatten)]
    fields: Option<&'a Map<String, Value>>,
}

impl ApiError {
    /// An error with `code`, its status from the one table, and a message for people, cut to
    /// [`MESSAGE_MAX_BYTES`].
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = codes::status_of(code);
        Self {
            status,
            code,
            message: bounded(message.into()),
            // Every 503 is worth retrying: busy, stopped for a restart, or incomplete.
            retry: status == StatusCode::SERVICE_UNAVAILABLE,
            fields: None,
        }
    }

    /// The same error, its answer carrying `fields` beside `code` and `message` (the OpenAPI
    /// document gives the code's schema).
    pub fn with_fields(mut self, fields: Map<String, Value>) -> Self {
        self.fields = Some(Box::new(fields));
        self
    }

    /// The same error, marked retryable whatever its status.
    pub fn retryable(mut self, retry: bool) -> Self {
        self.retry |= retry;
        self
    }

    /// A body, path or query that does not parse.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(REQUEST_MALFORMED, message)
    }

    /// The role the endpoint needs is not in this process.
    pub fn not_hosted(role: &str) -> Self {
        Self::new(ROLE_NOT_HOSTED, format!("this node is not {role}"))
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        self.retry
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        // A server fault's detail (paths, RocksDB's words) goes to the log, not to the caller.
        let message = if self.status.is_server_error() && !self.retry {
            tracing::error!(code = self.code, message = %self.message, "request failed");
            "internal error: see the server log"
        } else {
            &self.message
        };
        let mut response = HttpResponse::build(self.status).json(ErrorBody {
            code: self.code,
            message,
            fields: self.fields.as_deref(),
        });
        if self.retry {
            response.extensions_mut().insert(RetryLater);
        }
        response
    }
}

impl From<IssuerError> for ApiError {
    fn from(error: IssuerError) -> Self {
        let api = Self::new(error.code(), error.to_string());
        match error {
            // What the wallet needs to see its double spend: which coin, and the proof.
            IssuerError::SwapConflict { index, earlier } => {
                let mut fields = Map::new();
                fields.insert("index".to_owned(), Value::from(index));
                match serde_json::to_value(&earlier) {
                    Ok(earlier) => {
                        fields.insert("earlier".to_owned(), earlier);
                    }
                    // A stored permission always has its JSON form.
                    Err(error) => tracing::error!(%error, "a swap conflict's proof as JSON"),
                }
                api.with_fields(fields)
            }
            _ => api,
        }
    }
}

impl From<AcquirerError> for ApiError {
    fn from(error: AcquirerError) -> Self {
        let retry = error.retryable();
        Self::new(error.code(), error.to_string()).retryable(retry)
    }
}

impl From<ClearingError> for ApiError {
    fn from(error: ClearingError) -> Self {
        let retry = error.retryable();
        Self::new(error.code(), error.to_string()).retryable(retry)
    }
}

impl From<AmountError> for ApiError {
    fn from(error: AmountError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        Self::new(SERVER_BUSY, "the server is stopping: retry later")
    }
}

/// Answers a body that could not be read as JSON.
pub fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(REQUEST_TOO_LARGE, error.to_string())
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => {
            ApiError::new(REQUEST_TOO_LARGE, error.to_string())
        }
        JsonPayloadError::ContentType => {
            ApiError::new(REQUEST_CONTENT_TYPE, "the body must be application/json")
        }
        JsonPayloadError::Deserialize(serde) => {
            let message = serde.to_string();
            match key_refusal(&message) {
                Some(code) => ApiError::new(code, message),
                None => ApiError::malformed(message),
            }
        }
        _ => ApiError::malformed(error.to_string()),
    };
    api.into()
}

/// The `ed25519.*` code of a key refused while the body was read, which the key's parse puts at
/// the head of serde's message (`semper_protocol`'s `VerifyingKey` deserializer), so that a
/// small-order, off-curve or non-canonical key gets its own code rather than `request.malformed`.
fn key_refusal(message: &str) -> Option<&'static str> {
    SignatureError::KEY_REFUSALS
        .iter()
        .map(SignatureError::code)
        .find(|code| {
            message
                .strip_prefix(code)
                .is_some_and(|rest| rest.starts_with(':'))
        })
}

/// Answers a path whose parameters do not parse.
pub fn path_error(error: PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::malformed(format!("path: {error}")).into()
}

/// Answers a query string that does not parse.
pub fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::malformed(format!("query: {error}")).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_error_is_json_with_its_status() {
        let error = ApiError::new(ROUTE_UNKNOWN, "no such endpoint");
        assert_eq!(error.status(), StatusCode::NOT_FOUND);
        assert!(!error.is_retryable());
        let busy = ApiError::new(SERVER_BUSY, "busy");
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(busy.is_retryable());
        assert!(busy.error_response().extensions().contains::<RetryLater>());
    }

    #[test]
    fn http_error_message_is_bounded_on_a_char_boundary() {
        let echoed = format!("unknown currency {:?}", "é".repeat(40_000));
        let error = ApiError::new("amount.unknown_currency", echoed.clone());
        assert!(error.message.len() <= MESSAGE_MAX_BYTES);
        assert!(error.message.ends_with("..."));
        assert!(echoed.starts_with(error.message.trim_end_matches("...")));
        let short = ApiError::new(ROUTE_UNKNOWN, "no such endpoint");
        assert_eq!(short.message, "no such endpoint");
    }
}
