//! The error a peer's handler answers with, and its encoding in an error frame.

use crate::frame::{FRAME_PAYLOAD_MAX_BYTES, FrameError};

/// The longest error code carried, in bytes; longer codes are cut at a character boundary.
pub const REMOTE_CODE_MAX_BYTES: usize = 64;
/// The longest error message carried, in bytes; longer messages are cut at a character boundary.
pub const REMOTE_MESSAGE_MAX_BYTES: usize = 4096;

// An error payload always fits in one frame.
const _: () =
    assert!(1 + REMOTE_CODE_MAX_BYTES + REMOTE_MESSAGE_MAX_BYTES <= FRAME_PAYLOAD_MAX_BYTES);

/// A handler's refusal: a stable code (e.g. `issuer.busy`) and a human-readable message.
///
/// Both are bounded by construction, so every value fits in an error frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RemoteError {
    code: String,
    message: String,
}

impl RemoteError {
    /// A remote error; the code and message are cut to their bounds.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: truncated(code.into(), REMOTE_CODE_MAX_BYTES),
            message: truncated(message.into(), REMOTE_MESSAGE_MAX_BYTES),
        }
    }

    /// The stable error code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The payload of an error frame: the code's length (one byte), the code, then the message.
    pub(crate) fn to_payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.code.len() + self.message.len());
        // The code is at most REMOTE_CODE_MAX_BYTES (< 256) long.
        out.push(u8::try_from(self.code.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.code.as_bytes());
        out.extend_from_slice(self.message.as_bytes());
        out
    }

    /// Reads an error frame's payload. Public so that the fuzz targets reach it (`fuzz/`).
    pub fn from_payload(payload: &[u8]) -> Result<Self, FrameError> {
        let bad = |reason| FrameError::BadErrorPayload { reason };
        let (&code_len, rest) = payload.split_first().ok_or(bad("empty"))?;
        let code_len = usize::from(code_len);
        if code_len > REMOTE_CODE_MAX_BYTES || rest.len() < code_len {
            return Err(bad("code length out of range"));
        }
        let (code, message) = rest.split_at(code_len);
        if message.len() > REMOTE_MESSAGE_MAX_BYTES {
            return Err(bad("message too long"));
        }
        let code = std::str::from_utf8(code).map_err(|_| bad("code is not UTF-8"))?;
        let message = std::str::from_utf8(message).map_err(|_| bad("message is not UTF-8"))?;
        Ok(Self {
            code: code.to_owned(),
            message: message.to_owned(),
        })
    }
}

/// Applies the frame bound to a handler's answer, so every carrier refuses the same oversize reply.
pub(crate) fn bounded_reply(reply: Result<Vec<u8>, RemoteError>) -> Result<Vec<u8>, RemoteError> {
    match reply {
        Ok(payload) if payload.len() > FRAME_PAYLOAD_MAX_BYTES => Err(RemoteError::new(
            "link.response_too_large",
            format!(
                "the answer of {} bytes is over the frame bound of {FRAME_PAYLOAD_MAX_BYTES}",
                payload.len()
            ),
        )),
        other => other,
    }
}

fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let error = RemoteError::new("issuer.busy", "try again in 2 s");
        assert_eq!(RemoteError::from_payload(&error.to_payload()), Ok(error));
    }

    #[test]
    fn cuts_long_fields_at_a_character_boundary() {
        let error = RemoteError::new("é".repeat(40), "x".repeat(5000));
        assert_eq!(error.code().len(), 64);
        assert_eq!(error.message().len(), REMOTE_MESSAGE_MAX_BYTES);
        assert_eq!(RemoteError::from_payload(&error.to_payload()), Ok(error));
    }

    #[test]
    fn refuses_malformed_payloads() {
        for payload in [&[][..], &[5, b'a'], &[200], &[2, 0xFF, 0xFE]] {
            let err = RemoteError::from_payload(payload).unwrap_err();
            assert_eq!(err.code(), "frame.bad_error_payload", "{payload:?}");
        }
    }
}
