//! Why a node did not start.

use semper_actors::acquirer::AcquirerError;
use semper_actors::clearing::ClearingError;
use semper_actors::issuer::IssuerError;
use semper_link::LinkError;
use semper_protocol::ids::BankId;

/// A node could not start; the message names the role or the link that failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A link or the link server could not be set up.
    #[error("link of bank {bank}: {error}")]
    Link {
        /// The peer (or, for the server, this bank).
        bank: BankId,
        /// Why.
        error: LinkError,
    },
    /// The issuer could not start.
    #[error("issuer: {0}")]
    Issuer(IssuerError),
    /// The acquirer could not start.
    #[error("acquirer: {0}")]
    Acquirer(AcquirerError),
    /// The clearing house could not start.
    #[error("clearing house: {0}")]
    Clearing(ClearingError),
}

impl NodeError {
    pub(super) fn link(bank: BankId, error: LinkError) -> Self {
        Self::Link { bank, error }
    }
}
