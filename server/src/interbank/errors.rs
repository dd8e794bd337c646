//! How failures cross the link: a role's refusal becomes the link's error response, with its
//! stable code; a link failure becomes a gateway error that says whether a retry may succeed.

use semper_link::{LinkError, RemoteError};

/// The refusal of a role as the link's error response: its stable code and its message.
pub fn remote_error(code: &str, error: impl std::fmt::Display) -> RemoteError {
    RemoteError::new(code, error.to_string())
}

/// A link failure as the actors see it. Every inter-bank request is idempotent, so anything that
/// may not have been handled, or was refused for load, is worth sending again.
pub fn gateway_error(error: LinkError) -> semper_actors::gateway::GatewayError {
    use semper_actors::gateway::GatewayError;
    match &error {
        LinkError::Remote { code, message } => {
            let busy = code.ends_with(".busy") || code.ends_with(".stopped");
            GatewayError {
                code: code.clone(),
                message: message.clone(),
                retryable: busy,
            }
        }
        LinkError::Timeout
        | LinkError::Busy
        | LinkError::Unreachable(_)
        | LinkError::ConnectionLost(_)
        | LinkError::StreamReset(_) => GatewayError::retryable(error.code(), error.to_string()),
        _ => GatewayError::refused(error.code(), error.to_string()),
    }
}
