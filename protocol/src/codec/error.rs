//! Why a decoder refused its input.

/// Why bytes could not be decoded into a value. Each variant has a stable [`DecodeError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    #[error("input ended early while reading {field}")]
    UnexpectedEnd {
        /// The field being read.
        field: &'static str,
    },
    /// The input had bytes left over after the value.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// The message carried a different domain tag from the one expected.
    #[error("wrong domain tag: expected {expected}")]
    WrongDomain {
        /// The tag that was expected.
        expected: &'static str,
    },
    /// The message carried a version this build does not read.
    #[error("unknown version {found} of {domain}")]
    UnknownVersion {
        /// The message kind.
        domain: &'static str,
        /// The version found.
        found: u8,
    },
    /// A length or count was over the field's bound.
    #[error("{field} is larger than its bound of {max}")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// The bound.
        max: usize,
    },
    /// A field's bytes were well-formed but not a valid value.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl DecodeError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnexpectedEnd { .. } => "decode.unexpected_end",
            Self::TrailingBytes { .. } => "decode.trailing_bytes",
            Self::WrongDomain { .. } => "decode.wrong_domain",
            Self::UnknownVersion { .. } => "decode.unknown_version",
            Self::TooLarge { .. } => "decode.too_large",
            Self::Invalid { .. } => "decode.invalid",
        }
    }

    /// Builds an [`DecodeError::Invalid`] from anything displayable.
    pub fn invalid(field: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid {
            field,
            reason: reason.to_string(),
        }
    }
}
