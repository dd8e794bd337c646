//! One link frame: version, kind, request id, length and payload, and its encoder.
//!
//! The layout is fixed and big-endian:
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | version, [`FRAME_VERSION_MIN`] to [`FRAME_VERSION`] |
//! | 1 | kind, see [`FrameKind`] |
//! | 8 | request id (0 for a one-way frame) |
//! | 4 | payload length, at most [`FRAME_PAYLOAD_MAX_BYTES`] |
//! | length | payload |

//!
//! Versions, and how builds of each talk to each other:
//! - Version 1: an error frame's payload is code length, code, message.
//! - Version 2: the same header and kinds; an error frame's payload starts with a flags byte that
//!   says whether the refusal is retryable (`RemoteError`).
//!
//! Which version a connection speaks is settled in its TLS handshake, by ALPN: this build offers
//! and accepts `semper-link/2` first, then `semper-link/1` (`tls.rs`). An old build knows only
//! `semper-link/1`, so a new client sends it version-1 requests, and a new server answers each
//! request in the version the request came in: an old peer never sees a version-2 frame, and
//! reads every frame as before. What a version-1 connection loses is the flag: its refusals read
//! as final, so a bank upgrades its clients and servers before it relies on retries of them.
//! A new version gets a new ALPN name; this build still reads and writes every version from
//! [`FRAME_VERSION_MIN`].

use crate::remote::RemoteError;

/// The newest frame version, which this build writes to a peer that reads it.
pub const FRAME_VERSION: u8 = 2;
/// The oldest frame version this build still reads and writes, for peers not yet upgraded.
pub const FRAME_VERSION_MIN: u8 = 1;
/// The header's length in bytes: version, kind, request id and payload length.
pub const FRAME_HEADER_BYTES: usize = 1 + 1 + 8 + 4;
/// The largest payload one frame carries: one protocol message.
pub const FRAME_PAYLOAD_MAX_BYTES: usize = semper_protocol::codec::MESSAGE_MAX_BYTES;

/// What a frame is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A request that expects one answer with the same request id.
    Request,
    /// The successful answer to a request.
    Response,
    /// A message that expects no answer.
    OneWay,
    /// The failed answer to a request: its payload is a [`RemoteError`].
    Error,
}

impl FrameKind {
    /// The kind's byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            Self::Request => 1,
            Self::Response => 2,
            Self::OneWay => 3,
            Self::Error => 4,
        }
    }

    /// The kind a wire byte names, if any.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Request),
            2 => Some(Self::Response),
            3 => Some(Self::OneWay),
            4 => Some(Self::Error),
            _ => None,
        }
    }
}

/// Why a frame could not be built or decoded. Each variant has a stable [`FrameError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame carried a version this build does not read.
    #[error("unknown frame version {found}")]
    UnknownVersion {
        /// The version byte found.
        found: u8,
    },
    /// The frame carried a kind byte that names no kind.
    #[error("unknown frame kind {found}")]
    UnknownKind {
        /// The kind byte found.
        found: u8,
    },
    /// The payload is over [`FRAME_PAYLOAD_MAX_BYTES`].
    #[error("frame payload of {len} bytes is over the bound of {max}")]
    TooLarge {
        /// The payload's length.
        len: u64,
        /// The bound.
        max: usize,
    },
    /// A one-way frame carried a request id other than 0.
    #[error("one-way frame with request id {id}")]
    OneWayWithId {
        /// The request id found.
        id: u64,
    },
    /// The input ended inside a frame.
    #[error("input ended inside a frame, {buffered} bytes in")]
    Truncated {
        /// How many bytes of the unfinished frame had arrived.
        buffered: usize,
    },
    /// An error frame's payload was not a well-formed remote error.
    #[error("malformed error payload: {reason}")]
    BadErrorPayload {
        /// What was wrong.
        reason: &'static str,
    },
}

impl FrameError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownVersion { .. } => "frame.unknown_version",
            Self::UnknownKind { .. } => "frame.unknown_kind",
            Self::TooLarge { .. } => "frame.too_large",
            Self::OneWayWithId { .. } => "frame.one_way_with_id",
            Self::Truncated { .. } => "frame.truncated",
            Self::BadErrorPayload { .. } => "frame.bad_error_payload",
        }
    }
}

/// The fixed-size start of a frame, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) version: u8,
    pub(crate) kind: FrameKind,
    pub(crate) request_id: u64,
    pub(crate) len: usize,
}

impl Header {
    /// Parses and validates a header: version, kind, length bound and the one-way id rule.
    pub(crate) fn parse(bytes: &[u8; FRAME_HEADER_BYTES]) -> Result<Self, FrameError> {
        let [version, kind, id @ .., l0, l1, l2, l3] = *bytes;
        check_version(version)?;
        let kind = FrameKind::from_byte(kind).ok_or(FrameError::UnknownKind { found: kind })?;
        let request_id = u64::from_be_bytes(id);
        let len = u32::from_be_bytes([l0, l1, l2, l3]);
        let len = check_len(u64::from(len))?;
        check_id(kind, request_id)?;
        Ok(Self {
            version,
            kind,
            request_id,
            len,
        })
    }
}

fn check_version(version: u8) -> Result<(), FrameError> {
    if (FRAME_VERSION_MIN..=FRAME_VERSION).contains(&version) {
        Ok(())
    } else {
        Err(FrameError::UnknownVersion { found: version })
    }
}

fn check_len(len: u64) -> Result<usize, FrameError> {
    match usize::try_from(len) {
        Ok(len) if len <= FRAME_PAYLOAD_MAX_BYTES => Ok(len),
        _ => Err(FrameError::TooLarge {
            len,
            max: FRAME_PAYLOAD_MAX_BYTES,
        }),
    }
}

fn check_id(kind: FrameKind, request_id: u64) -> Result<(), FrameError> {
    if kind == FrameKind::OneWay && request_id != 0 {
        return Err(FrameError::OneWayWithId { id: request_id });
    }
    Ok(())
}

/// A valid frame: its version is one this build speaks, its payload is within bound, and a
/// one-way frame has request id 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    version: u8,
    kind: FrameKind,
    request_id: u64,
    payload: Vec<u8>,
}

impl Frame {
    /// Builds a frame of any kind in [`FRAME_VERSION`], checking the payload bound and the
    /// one-way id rule.
    pub fn new(kind: FrameKind, request_id: u64, payload: Vec<u8>) -> Result<Self, FrameError> {
        Self::new_in(FRAME_VERSION, kind, request_id, payload)
    }

    /// Builds a frame of any kind in `version`, checking it too. An error frame's payload must
    /// be encoded for its version: [`Frame::error_in`] does that.
    pub fn new_in(
        version: u8,
        kind: FrameKind,
        request_id: u64,
        payload: Vec<u8>,
    ) -> Result<Self, FrameError> {
        check_version(version)?;
        check_len(payload.len() as u64)?;
        check_id(kind, request_id)?;
        Ok(Self {
            version,
            kind,
            request_id,
            payload,
        })
    }

    /// A request frame.
    pub fn request(request_id: u64, payload: Vec<u8>) -> Result<Self, FrameError> {
        Self::new(FrameKind::Request, request_id, payload)
    }

    /// A successful response frame.
    pub fn response(request_id: u64, payload: Vec<u8>) -> Result<Self, FrameError> {
        Self::new(FrameKind::Response, request_id, payload)
    }

    /// A one-way frame (request id 0).
    pub fn one_way(payload: Vec<u8>) -> Result<Self, FrameError> {
        Self::new(FrameKind::OneWay, 0, payload)
    }

    /// An error response frame in [`FRAME_VERSION`]; a [`RemoteError`] is always within the
    /// payload bound.
    pub fn error(request_id: u64, error: &RemoteError) -> Self {
        Self::error_in(FRAME_VERSION, request_id, error)
    }

    /// An error response frame in `version` (clamped to the versions this build speaks), for a
    /// peer that reads only that version.
    pub fn error_in(version: u8, request_id: u64, error: &RemoteError) -> Self {
        let version = version.clamp(FRAME_VERSION_MIN, FRAME_VERSION);
        Self {
            version,
            kind: FrameKind::Error,
            request_id,
            payload: error.to_payload(version),
        }
    }

    /// The frame's version.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The remote error an error frame carries, read for the frame's version.
    pub fn remote_error(&self) -> Result<RemoteError, FrameError> {
        RemoteError::from_payload(self.version, &self.payload)
    }

    /// The frame's kind.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The request id this frame belongs to (0 for one-way).
    pub fn request_id(&self) -> u64 {
        self.request_id
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload, by value.
    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }

    /// The encoded frame's length in bytes.
    pub fn encoded_len(&self) -> usize {
        FRAME_HEADER_BYTES + self.payload.len()
    }

    /// Encodes the frame: header, then payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // The constructors bound the payload by FRAME_PAYLOAD_MAX_BYTES, which fits in a u32.
        let len = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        out.push(self.version);
        out.push(self.kind.to_byte());
        out.extend_from_slice(&self.request_id.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_fixed() {
        let frame = Frame::request(0x0102_0304_0506_0708, vec![0xAA, 0xBB]).unwrap();
        assert_eq!(
            frame.encode(),
            [2, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, 0xAA, 0xBB]
        );
        let old = Frame::new_in(
            1,
            FrameKind::Request,
            0x0102_0304_0506_0708,
            vec![0xAA, 0xBB],
        );
        assert_eq!(
            old.unwrap().encode(),
            [1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, 0xAA, 0xBB]
        );
    }

    #[test]
    fn an_error_frame_carries_the_retryable_flag_from_version_2() {
        let error = RemoteError::retryable("clearing.cycle_full", "later");
        let frame = Frame::error(7, &error);
        assert_eq!(frame.encode()[..2], [2, 4]);
        assert_eq!(frame.remote_error(), Ok(error.clone()));
        let old = Frame::error_in(1, 7, &error);
        assert_eq!(old.encode()[..2], [1, 4]);
        assert_eq!(old.remote_error(), Ok(error.with_retryable(false)));
        assert_eq!(
            Frame::new_in(3, FrameKind::Request, 1, vec![]),
            Err(FrameError::UnknownVersion { found: 3 })
        );
    }

    #[test]
    fn payload_bound_is_enforced() {
        let err = Frame::one_way(vec![0; FRAME_PAYLOAD_MAX_BYTES + 1]).unwrap_err();
        assert_eq!(err.code(), "frame.too_large");
        assert!(Frame::one_way(vec![0; FRAME_PAYLOAD_MAX_BYTES]).is_ok());
    }

    #[test]
    fn one_way_frames_carry_id_zero() {
        assert_eq!(
            Frame::new(FrameKind::OneWay, 7, vec![]),
            Err(FrameError::OneWayWithId { id: 7 })
        );
    }

    #[test]
    fn every_kind_round_trips_through_its_byte() {
        for kind in [
            FrameKind::Request,
            FrameKind::Response,
            FrameKind::OneWay,
            FrameKind::Error,
        ] {
            assert_eq!(FrameKind::from_byte(kind.to_byte()), Some(kind));
        }
        assert_eq!(FrameKind::from_byte(0), None);
        assert_eq!(FrameKind::from_byte(5), None);
    }
}
