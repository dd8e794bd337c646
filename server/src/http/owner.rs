//! Signed reads: an account's or a merchant's data read by the holder of its key, without the
//! operator token.
//!
//! The request carries `Authorization: Semper-Read <unix_ms>.<signature>`: the subject key's
//! Ed25519 signature (128 hex digits) over the canonical [`ReadRequest`] of the path's subject,
//! the request's path (without its query) and `unix_ms`, which must be within
//! [`READ_SKEW_MAX_MS`](semper_protocol::messages::read::READ_SKEW_MAX_MS) of the role's clock.
//! The server rebuilds the request from what it received, so a signature for another path,
//! subject or time does not verify.

use actix_web::dev::ServiceRequest;
use actix_web::web;
use semper_actors::issuer::IssuerError;
use semper_protocol::crypto::ed25519::{Signature, VerifyingKey};
use semper_protocol::hex_serde::decode_lower;
use semper_protocol::ids::{AccountId, MerchantId};
use semper_protocol::messages::read::{ReadPath, ReadRequest, ReadSubject, check_read};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_storage::ledger::{self, LedgerError};

use super::acquirer::acquirer;
use super::error::{ApiError, READ_MALFORMED};
use super::issuer::issuer;
use super::server::ApiState;

/// The `Authorization` scheme of a signed read.
pub const SCHEME: &str = "Semper-Read";

/// The credentials of a `Semper-Read` header value (the scheme's case does not matter).
pub fn credentials(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(SCHEME.len())?;
    let rest = rest.strip_prefix(b" ")?;
    scheme
        .eq_ignore_ascii_case(SCHEME.as_bytes())
        .then(|| rest.trim_ascii())
}

/// `<unix_ms>.<128 hex digits>`.
fn parse(credentials: &[u8]) -> Result<(Timestamp, Signature), ApiError> {
    let malformed = || {
        ApiError::new(
            READ_MALFORMED,
            format!("send Authorization: {SCHEME} <unix_ms>.<signature, 128 hex digits>"),
        )
    };
    let text = std::str::from_utf8(credentials).map_err(|_| malformed())?;
    let (at, signature) = text.split_once('.').ok_or_else(malformed)?;
    let at: u64 = at.parse().map_err(|_| malformed())?;
    let bytes = decode_lower(signature).map_err(|_| malformed())?;
    let bytes = <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| malformed())?;
    Ok((Timestamp::from_unix_ms(at), Signature(bytes)))
}

/// The 16-byte id in the path parameter `name`, if the path has it.
fn path_id(request: &ServiceRequest, name: &str) -> Result<Option<[u8; 16]>, ApiError> {
    let Some(text) = request.match_info().get(name) else {
        return Ok(None);
    };
    let malformed = || ApiError::malformed(format!("path: {name} is not 32 lower-case hex digits"));
    let bytes = decode_lower(text).map_err(|_| malformed())?;
    let id = <[u8; 16]>::try_from(bytes.as_slice()).map_err(|_| malformed())?;
    Ok(Some(id))
}

/// Whose data the path names.
fn subject(request: &ServiceRequest) -> Result<ReadSubject, ApiError> {
    if let Some(account) = path_id(request, "account")? {
        return Ok(ReadSubject::Account(AccountId(account)));
    }
    if let Some(merchant) = path_id(request, "merchant")? {
        return Ok(ReadSubject::Merchant(MerchantId(merchant)));
    }
    // Only routes with a subject in their path are registered as owner routes.
    Err(ApiError::malformed(
        "this path names no account or merchant",
    ))
}

/// The subject's key and the clock of the role that holds it.
async fn key_and_now(
    state: &ApiState,
    subject: ReadSubject,
) -> Result<(VerifyingKey, Timestamp), ApiError> {
    match subject {
        ReadSubject::Account(account) => {
            let issuer = issuer(state)?;
            let now = issuer.state().clock.now();
            let record = web::block(move || ledger::account(&issuer.state().store, &account))
                .await?
                .map_err(IssuerError::from)?
                .ok_or(IssuerError::Ledger(LedgerError::UnknownAccount))?;
            Ok((record.public_key, now))
        }
        ReadSubject::Merchant(merchant) => {
            let acquirer = acquirer(state)?;
            let now = acquirer.state().clock.now();
            let record = acquirer.merchant(merchant).await?;
            Ok((record.public_key, now))
        }
    }
}

/// Checks a signed read of `request`'s path, whose `Semper-Read` credentials are `credentials`.
pub async fn check(
    state: &ApiState,
    request: &ServiceRequest,
    credentials: &[u8],
) -> Result<(), ApiError> {
    let (at, signature) = parse(credentials)?;
    let subject = subject(request)?;
    let path = request.path();
    let read = Signed::from_parts(
        ReadRequest {
            subject,
            path: ReadPath::new(path).map_err(|e| ApiError::malformed(format!("path: {e}")))?,
            at,
        },
        signature,
    );
    let (key, now) = key_and_now(state, subject).await?;
    check_read(&read, subject, path, &key, now)
        .map_err(|error| ApiError::new(error.code(), error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_signed_read_credentials_parse() {
        assert_eq!(credentials(b"Semper-Read 1.ab"), Some(&b"1.ab"[..]));
        assert_eq!(credentials(b"semper-read  7.cd "), Some(&b"7.cd"[..]));
        assert_eq!(credentials(b"Bearer x"), None);
        assert_eq!(credentials(b"Semper-Readx 1.ab"), None);
        let signature = "0f".repeat(64);
        let (at, parsed) = parse(format!("12.{signature}").as_bytes()).unwrap();
        assert_eq!(at, Timestamp::from_unix_ms(12));
        assert_eq!(parsed, Signature([0x0f; 64]));
        for bad in ["12", "x.00", "12.0f", "-1.00", ""] {
            assert_eq!(parse(bad.as_bytes()).unwrap_err().code(), READ_MALFORMED);
        }
    }
}
