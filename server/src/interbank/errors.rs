//! How failures cross the link: a role's refusal becomes the link's error response, with its
//! stable code and whether a retry may succeed; a link failure becomes a gateway error that says
//! the same.

use semper_actors::acquirer::AcquirerError;
use semper_actors::clearing::ClearingError;
use semper_actors::issuer::IssuerError;
use semper_link::{LinkError, RemoteError};

/// A role's error, as the link answers it.
pub trait RoleRefusal: std::fmt::Display {
    /// The stable error code.
    fn code(&self) -> &'static str;
    /// Whether the same request may succeed later. Only the role knows: the caller reads this
    /// bit, never the code's spelling.
    fn retryable(&self) -> bool;
}

impl RoleRefusal for ClearingError {
    fn code(&self) -> &'static str {
        ClearingError::code(self)
    }

    fn retryable(&self) -> bool {
        ClearingError::retryable(self)
    }
}

impl RoleRefusal for AcquirerError {
    fn code(&self) -> &'static str {
        AcquirerError::code(self)
    }

    fn retryable(&self) -> bool {
        AcquirerError::retryable(self)
    }
}

impl RoleRefusal for IssuerError {
    fn code(&self) -> &'static str {
        IssuerError::code(self)
    }

    /// Busy, stopped for a restart, or a transient storage fault (a failover of its database:
    /// a spend check's retry replays each coin's verdict); every other refusal is the request's
    /// own.
    fn retryable(&self) -> bool {
        match self {
            IssuerError::Busy | IssuerError::Stopped => true,
            IssuerError::Storage(error) => error.retryable(),
            _ => false,
        }
    }
}

/// A role's refusal as the link's error response: its code, its message and its retryable bit.
pub fn role_refusal(error: &impl RoleRefusal) -> RemoteError {
    RemoteError::new(error.code(), error.to_string()).with_retryable(error.retryable())
}

/// A final refusal as the link's error response, e.g. a request that does not decode.
pub fn remote_error(code: &str, error: impl std::fmt::Display) -> RemoteError {
    RemoteError::new(code, error.to_string())
}

/// A link failure as the actors see it. Every inter-bank request is idempotent, so anything that
/// may not have been handled, or that the peer says may succeed later, is worth sending again.
pub fn gateway_error(error: LinkError) -> semper_actors::gateway::GatewayError {
    use semper_actors::gateway::GatewayError;
    match &error {
        LinkError::Remote {
            code,
            message,
            retryable,
        } => GatewayError {
            code: code.clone(),
            message: message.clone(),
            retryable: *retryable,
        },
        LinkError::Timeout
        | LinkError::Busy
        | LinkError::Unreachable(_)
        | LinkError::ConnectionLost(_)
        | LinkError::StreamReset(_) => GatewayError::retryable(error.code(), error.to_string()),
        _ => GatewayError::refused(error.code(), error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use semper_storage::StorageError;
    use semper_storage::clearing::SubmissionRefused;

    use super::*;

    #[test]
    fn the_role_says_what_is_retryable_not_the_code() {
        let cycle_full = ClearingError::Record(SubmissionRefused::CycleFull { cycle: 1 });
        assert!(role_refusal(&cycle_full).is_retryable());
        assert!(role_refusal(&IssuerError::Busy).is_retryable());
        assert!(!role_refusal(&IssuerError::UnknownDenomination).is_retryable());
        // A failover of a role's database is transient: the same request is sent again, never
        // recorded as refused (the soak's settlement submissions refused so, issue 19).
        let unavailable = || StorageError::Unavailable("connection closed".into());
        assert!(role_refusal(&ClearingError::from(unavailable())).is_retryable());
        assert!(role_refusal(&IssuerError::from(unavailable())).is_retryable());
        assert!(role_refusal(&AcquirerError::from(unavailable())).is_retryable());
        let corrupt = StorageError::Corrupt {
            column: "submissions",
            reason: String::new(),
        };
        assert!(!role_refusal(&ClearingError::from(corrupt)).is_retryable());
        // A peer's ".busy" that it says is final stays final.
        let error = gateway_error(LinkError::Remote {
            code: "other.busy".to_owned(),
            message: String::new(),
            retryable: false,
        });
        assert!(!error.retryable);
    }
}
