//! The error a peer's handler answers with, and its encoding in an error frame.
//!
//! An error payload in a version-1 frame is the code's length (one byte), the code, then the
//! message. Version 2 puts a flags byte first, whose bit 0 says the refusal is retryable; the
//! other bits must be 0. Why the bit and not the code: only the refusing role knows whether the
//! same request may succeed later (`clearing.cycle_full` may, `clearing.unknown_acquirer` may
//! not), so the caller must not guess it from the code's spelling.

use crate::frame::{FRAME_PAYLOAD_MAX_BYTES, FrameError};

/// The longest error code carried, in bytes; longer codes are cut at a character boundary.
pub const REMOTE_CODE_MAX_BYTES: usize = 64;
/// The longest error message carried, in bytes; longer messages are cut at a character boundary.
pub const REMOTE_MESSAGE_MAX_BYTES: usize = 4096;

/// The flag of a retryable refusal, in the flags byte of a version-2 error payload.
const FLAG_RETRYABLE: u8 = 1;

// An error payload always fits in one frame.
const _: () =
    assert!(2 + REMOTE_CODE_MAX_BYTES + REMOTE_MESSAGE_MAX_BYTES <= FRAME_PAYLOAD_MAX_BYTES);

/// A handler's refusal: a stable code (e.g. `issuer.busy`), a human-readable message, and
/// whether the same request may succeed if sent again later.
///
/// The code and message are bounded by construction, so every value fits in an error frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RemoteError {
    code: String,
    message: String,
    retryable: bool,
}

impl RemoteError {
    /// A final refusal: the same request will be refused again. The code and message are cut
    /// to their bounds.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: truncated(code.into(), REMOTE_CODE_MAX_BYTES),
            message: truncated(message.into(), REMOTE_MESSAGE_MAX_BYTES),
            retryable: false,
        }
    }

    /// A refusal that the same request may not get later (busy, a full cycle, a restart).
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, message).with_retryable(true)
    }

    /// This refusal, retryable or not as `retryable` says.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Whether the same request may succeed if sent again later.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The stable error code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The payload of an error frame of `version` (see the module's doc); version 1 has no room
    /// for the retryable flag, so a peer that reads only version 1 gets every refusal as final.
    pub(crate) fn to_payload(&self, version: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.code.len() + self.message.len());
        if version >= 2 {
            out.push(if self.retryable { FLAG_RETRYABLE } else { 0 });
        }
        // The code is at most REMOTE_CODE_MAX_BYTES (< 256) long.
        out.push(u8::try_from(self.code.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.code.as_bytes());
        out.extend_from_slice(self.message.as_bytes());
        out
    }

    /// Reads the payload of an error frame of `version`. Public so that the fuzz targets reach
    /// it (`fuzz/`).
    pub fn from_payload(version: u8, payload: &[u8]) -> Result<Self, FrameError> {
        let bad = |reason| FrameError::BadErrorPayload { reason };
        let (retryable, payload) = if version >= 2 {
            let (&flags, rest) = payload.split_first().ok_or(bad("empty"))?;
            if flags & !FLAG_RETRYABLE != 0 {
                return Err(bad("unknown flags"));
            }
            (flags & FLAG_RETRYABLE != 0, rest)
        } else {
            (false, payload)
        };
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
            retryable,
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

    use crate::frame::{FRAME_VERSION, FRAME_VERSION_MIN};

    #[test]
    fn round_trips_with_its_retryable_flag() {
        for error in [
            RemoteError::retryable("clearing.cycle_full", "cut the cycle first"),
            RemoteError::new("clearing.unknown_acquirer", "who?"),
        ] {
            let payload = error.to_payload(FRAME_VERSION);
            assert_eq!(
                RemoteError::from_payload(FRAME_VERSION, &payload),
                Ok(error)
            );
        }
    }

    #[test]
    fn version_1_has_no_flag_and_reads_as_final() {
        let error = RemoteError::retryable("issuer.busy", "try again in 2 s");
        let payload = error.to_payload(FRAME_VERSION_MIN);
        assert_eq!(
            payload[0] as usize,
            "issuer.busy".len(),
            "the layout of version 1"
        );
        assert_eq!(
            RemoteError::from_payload(FRAME_VERSION_MIN, &payload),
            Ok(error.with_retryable(false))
        );
    }

    #[test]
    fn cuts_long_fields_at_a_character_boundary() {
        let error = RemoteError::new("é".repeat(40), "x".repeat(5000));
        assert_eq!(error.code().len(), 64);
        assert_eq!(error.message().len(), REMOTE_MESSAGE_MAX_BYTES);
        let payload = error.to_payload(FRAME_VERSION);
        assert_eq!(
            RemoteError::from_payload(FRAME_VERSION, &payload),
            Ok(error)
        );
    }

    #[test]
    fn refuses_malformed_payloads() {
        for payload in [&[][..], &[5, b'a'], &[200], &[2, 0xFF, 0xFE]] {
            let err = RemoteError::from_payload(FRAME_VERSION_MIN, payload).unwrap_err();
            assert_eq!(err.code(), "frame.bad_error_payload", "{payload:?}");
            let flagged = [&[0][..], payload].concat();
            let err = RemoteError::from_payload(FRAME_VERSION, &flagged).unwrap_err();
            assert_eq!(err.code(), "frame.bad_error_payload", "{payload:?}");
        }
        let unknown_flag = RemoteError::from_payload(FRAME_VERSION, &[2, 1, b'a']).unwrap_err();
        assert_eq!(unknown_flag.code(), "frame.bad_error_payload");
    }
}
