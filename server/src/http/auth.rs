//! The operator token, and the middleware that guards operator endpoints with it.
//!
//! Operator calls carry `Authorization: Bearer <token>`. No token in the request answers 401
//! `auth.required`; a wrong one 401 `auth.invalid`; a node configured without a token refuses
//! every operator call with 403 `auth.operator_disabled`.
//!
//! An account's or a merchant's own data may also be read with a signed read instead of the token
//! (`Authorization: Semper-Read ...`, see [`super::owner`]); its refusals are 401 `read.*`.

use std::fmt;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};
use semper_protocol::crypto::hash::sha256;

use super::error::{AUTH_INVALID, AUTH_OPERATOR_DISABLED, AUTH_REQUIRED, ApiError};
use super::owner;
use super::server::ApiState;

/// Shortest operator token accepted, in bytes: shorter ones are guessable.
pub const OPERATOR_TOKEN_MIN_BYTES: usize = 16;
/// Longest operator token accepted, in bytes: a bound on what a header is compared with.
pub const OPERATOR_TOKEN_MAX_BYTES: usize = 1024;

/// Why a string is not a usable operator token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Shorter than [`OPERATOR_TOKEN_MIN_BYTES`].
    #[error("operator token must be at least {OPERATOR_TOKEN_MIN_BYTES} bytes")]
    TooShort,
    /// Longer than [`OPERATOR_TOKEN_MAX_BYTES`].
    #[error("operator token must be at most {OPERATOR_TOKEN_MAX_BYTES} bytes")]
    TooLong,
    /// Holds characters a bearer token may not (whitespace, control characters, non-ASCII).
    #[error("operator token must be printable ASCII without spaces")]
    BadCharacters,
}

impl TokenError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "auth.token_too_short",
            Self::TooLong => "auth.token_too_long",
            Self::BadCharacters => "auth.token_bad_characters",
        }
    }
}

/// The operator's secret. Its `Debug` never shows it, and it is compared in constant time.
#[derive(Clone)]
pub struct OperatorToken(String);

impl OperatorToken {
    /// A token, if long enough and made of characters a bearer token may hold.
    pub fn new(token: String) -> Result<Self, TokenError> {
        if token.len() < OPERATOR_TOKEN_MIN_BYTES {
            return Err(TokenError::TooShort);
        }
        if token.len() > OPERATOR_TOKEN_MAX_BYTES {
            return Err(TokenError::TooLong);
        }
        if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(TokenError::BadCharacters);
        }
        Ok(Self(token))
    }

    /// The secret itself, for clients (tests, tools) that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token. Both sides are hashed first, and the digests compared
    /// without an early exit, so the time taken says nothing about the token or its length.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = sha256(&[self.0.as_bytes()]);
        let given = sha256(&[presented]);
        expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
    }
}

impl fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OperatorToken(***)")
    }
}

/// The credentials of a `Bearer` header value (the scheme's case does not matter).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    let (scheme, credentials) = value.split_at_checked(SCHEME.len())?;
    scheme
        .eq_ignore_ascii_case(SCHEME)
        .then(|| credentials.trim_ascii())
}

/// What the `Authorization` header says, against the configured token.
fn check(token: Option<&OperatorToken>, header: Option<&HeaderValue>) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Err(ApiError::new(
            AUTH_OPERATOR_DISABLED,
            "this node has no operator token configured",
        ));
    };
    let Some(header) = header else {
        return Err(ApiError::new(
            AUTH_REQUIRED,
            "operator call: send Authorization: Bearer <token>",
        ));
    };
    let presented = bearer(header.as_bytes())
        .ok_or_else(|| ApiError::new(AUTH_REQUIRED, "the Authorization scheme must be Bearer"))?;
    if token.matches(presented) {
        Ok(())
    } else {
        Err(ApiError::new(AUTH_INVALID, "wrong operator token"))
    }
}

/// Whether `headers` carry the operator's token: for an open endpoint that lifts a bound for the
/// operator.
pub fn is_operator(state: &ApiState, headers: &actix_web::http::header::HeaderMap) -> bool {
    check(state.operator.as_ref(), headers.get(AUTHORIZATION)).is_ok()
}

/// Middleware of every operator endpoint: answers the refusal itself, or runs the endpoint.
pub async fn require_operator(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let token = request
        .app_data::<web::Data<ApiState>>()
        .and_then(|state| state.operator.as_ref());
    let checked = check(token, request.headers().get(AUTHORIZATION));
    answer(request, next, checked, "Bearer").await
}

/// Middleware of the endpoints that read one account's or merchant's data: the operator's token,
/// or a signed read by the key of the account or merchant the path names.
pub async fn require_operator_or_owner(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = request.app_data::<web::Data<ApiState>>().cloned();
    let header = request.headers().get(AUTHORIZATION);
    let signed_read = header.and_then(|value| owner::credentials(value.as_bytes()));
    let checked = match (state, header, signed_read) {
        // Without credentials, the caller is told both ways in, whether or not the node has an
        // operator token.
        (_, None, _) => Err(ApiError::new(
            AUTH_REQUIRED,
            format!(
                "send Authorization: Bearer <operator token>, or a signed read: \
                 Authorization: {} <unix_ms>.<signature>",
                owner::SCHEME
            ),
        )),
        (Some(state), Some(_), Some(credentials)) => {
            owner::check(&state, &request, credentials).await
        }
        (state, Some(header), None) => check(
            state.as_ref().and_then(|state| state.operator.as_ref()),
            Some(header),
        ),
        (None, Some(_), Some(_)) => check(None, None),
    };
    answer(request, next, checked, "Bearer, Semper-Read").await
}

/// Runs the endpoint if `checked`, else answers the refusal, with `WWW-Authenticate: challenge`
/// on a 401.
async fn answer(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    checked: Result<(), ApiError>,
    challenge: &'static str,
) -> Result<ServiceResponse<BoxBody>, Error> {
    match checked {
        Ok(()) => Ok(next.call(request).await?.map_into_boxed_body()),
        Err(error) => {
            let mut response = error.error_response();
            if error.status() == actix_web::http::StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            }
            Ok(request.into_response(response))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> OperatorToken {
        OperatorToken::new("s3cret-operator-token".into()).unwrap()
    }

    #[test]
    fn http_token_is_checked_and_never_printed() {
        assert_eq!(
            OperatorToken::new("short".into()).unwrap_err(),
            TokenError::TooShort
        );
        assert_eq!(
            OperatorToken::new("has a space in it ok".into()).unwrap_err(),
            TokenError::BadCharacters
        );
        assert_eq!(format!("{:?}", token()), "OperatorToken(***)");
        assert!(token().matches(b"s3cret-operator-token"));
        assert!(!token().matches(b"s3cret-operator-tokeN"));
        assert!(!token().matches(b""));
    }

    #[test]
    fn http_auth_header_codes() {
        let code = |token: Option<&OperatorToken>, header: Option<&str>| {
            let header = header.map(|h| HeaderValue::from_str(h).unwrap());
            check(token, header.as_ref()).err().map(|e| e.code())
        };
        let t = token();
        assert_eq!(code(None, Some("Bearer x")), Some(AUTH_OPERATOR_DISABLED));
        assert_eq!(code(Some(&t), None), Some(AUTH_REQUIRED));
        assert_eq!(code(Some(&t), Some("Basic abc")), Some(AUTH_REQUIRED));
        assert_eq!(code(Some(&t), Some("Bearer nope")), Some(AUTH_INVALID));
        assert_eq!(code(Some(&t), Some("Bearer s3cret-operator-token")), None);
        assert_eq!(code(Some(&t), Some("bearer s3cret-operator-token")), None);
        assert_eq!(code(Some(&t), Some("Bearer")), Some(AUTH_REQUIRED));
    }
}
