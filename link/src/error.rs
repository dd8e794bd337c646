//! What can go wrong on a link, each with a stable code.

use std::fmt;

use quinn::ConnectionError;
use rustls::AlertDescription;

use crate::frame::FrameError;
use crate::identity::IdentityError;
use crate::remote::RemoteError;
use crate::trust::TrustError;

/// Why a link operation failed. Each variant has a stable [`LinkError::code`].
///
/// Whether the peer may have acted on a request matters for retries: after [`LinkError::Busy`],
/// [`LinkError::Unreachable`], [`LinkError::Refused`], [`LinkError::TooLarge`] and
/// [`LinkError::Closed`] the request was never sent; after the others it may have been handled.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No answer came within the request timeout.
    #[error("no answer within the request timeout")]
    Timeout,
    /// The in-flight bound stayed full for the whole request timeout; the request was not sent.
    #[error("too many requests in flight: none finished within the request timeout")]
    Busy,
    /// No connection to the peer could be made within the request timeout.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// A TLS handshake failed on trust: one side refused the other's certificate.
    #[error("handshake refused by the {by}: {refusal}")]
    Refused {
        /// The side that refused.
        by: RefusedBy,
        /// Why, as the TLS alert says.
        refusal: Refusal,
    },
    /// The connection failed while the request was under way.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// The peer reset the request's stream with an error code.
    #[error("the peer reset the stream with code {0}")]
    StreamReset(u64),
    /// The peer's handler answered with an error.
    #[error("remote error {code}: {message}")]
    Remote {
        /// The handler's stable error code.
        code: String,
        /// The handler's message.
        message: String,
        /// Whether the handler said the same request may succeed later; the same on every
        /// carrier ([`RemoteError::is_retryable`]).
        retryable: bool,
    },
    /// The payload is over the frame bound.
    #[error("payload of {len} bytes is over the frame bound of {max}")]
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The peer sent something the link protocol does not allow.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A frame could not be decoded.
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    /// The link was closed locally.
    #[error("the link is closed")]
    Closed,
    /// The configuration is unusable.
    #[error("bad link configuration: {0}")]
    Config(String),
    /// The identity could not be used.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The trust list could not be used.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The socket could not be set up.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

impl LinkError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout => "link.timeout",
            Self::Busy => "link.busy",
            Self::Unreachable(_) => "link.unreachable",
            Self::Refused { .. } => "link.refused",
            Self::ConnectionLost(_) => "link.connection_lost",
            Self::StreamReset(_) => "link.stream_reset",
            Self::Remote { .. } => "link.remote",
            Self::TooLarge { .. } => "link.too_large",
            Self::Protocol(_) => "link.protocol",
            Self::Frame(e) => e.code(),
            Self::Closed => "link.closed",
            Self::Config(_) => "link.config",
            Self::Identity(e) => e.code(),
            Self::Trust(e) => e.code(),
            Self::Io(_) => "link.io",
        }
    }

    /// Whether a connection failure is a trust refusal, which waiting and retrying won't mend.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, Self::Refused { .. })
    }

    /// A connection failure met while connecting: a refusal, or the peer is unreachable.
    pub(crate) fn connecting(error: ConnectionError) -> Self {
        Self::refusal_of(&error).unwrap_or_else(|| Self::Unreachable(error.to_string()))
    }

    /// A connection failure met during a request: a refusal, closed, or lost.
    pub(crate) fn during_request(error: ConnectionError) -> Self {
        match error {
            ConnectionError::LocallyClosed => Self::Closed,
            error => {
                Self::refusal_of(&error).unwrap_or_else(|| Self::ConnectionLost(error.to_string()))
            }
        }
    }

    fn refusal_of(error: &ConnectionError) -> Option<Self> {
        let (by, code) = match error {
            ConnectionError::TransportError(e) => (RefusedBy::Local, u64::from(e.code)),
            ConnectionError::ConnectionClosed(close) => {
                (RefusedBy::Peer, u64::from(close.error_code))
            }
            _ => return None,
        };
        let refusal = Refusal::from_quic_code(code)?;
        Some(Self::Refused { by, refusal })
    }
}

impl From<RemoteError> for LinkError {
    fn from(error: RemoteError) -> Self {
        Self::Remote {
            code: error.code().to_owned(),
            message: error.message().to_owned(),
            retryable: error.is_retryable(),
        }
    }
}

/// Which side of a handshake refused the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    /// This side refused the peer's certificate.
    Local,
    /// The peer refused this side's certificate.
    Peer,
}

impl fmt::Display for RefusedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "local side",
            Self::Peer => "peer",
        })
    }
}

/// Why a handshake was refused, as far as the TLS alert on the wire tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The certificate is not one of the pinned ones.
    UntrustedCertificate,
    /// The certificate is outside its validity window (expired or not yet valid).
    CertificateExpired,
    /// No certificate was presented, and one is required.
    CertificateRequired,
    /// The certificate is trusted but belongs to another bank, or is malformed.
    BadCertificate,
    /// Any other handshake failure, by its TLS alert number.
    Other(u8),
}

impl Refusal {
    /// Reads a QUIC CRYPTO_ERROR code (0x100 + TLS alert); `None` for other codes.
    fn from_quic_code(code: u64) -> Option<Self> {
        let alert = u8::try_from(code.checked_sub(0x100)?).ok()?;
        Some(match AlertDescription::from(alert) {
            AlertDescription::UnknownCA => Self::UntrustedCertificate,
            AlertDescription::CertificateExpired => Self::CertificateExpired,
            AlertDescription::CertificateRequired => Self::CertificateRequired,
            AlertDescription::BadCertificate => Self::BadCertificate,
            _ => Self::Other(alert),
        })
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UntrustedCertificate => f.write_str("untrusted certificate"),
            Self::CertificateExpired => f.write_str("certificate expired or not yet valid"),
            Self::CertificateRequired => f.write_str("a client certificate is required"),
            Self::BadCertificate => f.write_str("bad certificate or wrong bank"),
            Self::Other(alert) => write!(f, "TLS alert {alert}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tls_alerts_from_quic_crypto_codes() {
        assert_eq!(
            Refusal::from_quic_code(0x100 + 48),
            Some(Refusal::UntrustedCertificate)
        );
        assert_eq!(
            Refusal::from_quic_code(0x100 + 45),
            Some(Refusal::CertificateExpired)
        );
        assert_eq!(
            Refusal::from_quic_code(0x100 + 116),
            Some(Refusal::CertificateRequired)
        );
        assert_eq!(
            Refusal::from_quic_code(0x100 + 42),
            Some(Refusal::BadCertificate)
        );
        assert_eq!(
            Refusal::from_quic_code(0x100 + 40),
            Some(Refusal::Other(40))
        );
        assert_eq!(Refusal::from_quic_code(0x0A), None);
        assert_eq!(Refusal::from_quic_code(0x200), None);
    }
}
