//! Why a deployment could not start.

use semper_protocol::ids::BankId;

use crate::config::ConfigError;
use crate::node::NodeError;

/// A deployment that could not start; each variant says which bank and what.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The config does not describe a deployment that can run.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A bank's keys, identity or card could not be made or read.
    #[error("bank {bank}: {problem}")]
    Provision {
        /// The bank's name.
        bank: String,
        /// Why.
        problem: String,
    },
    /// A bank's node did not start.
    #[error("bank {bank} ({id}) did not start: {source}")]
    Node {
        /// The bank's name.
        bank: String,
        /// The bank.
        id: BankId,
        /// Why.
        source: NodeError,
    },
    /// The HTTP API did not start.
    #[error("the HTTP API did not start on {addr}: {source}")]
    Http {
        /// Where it was to listen.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl DeployError {
    /// A provisioning failure of `bank`.
    pub fn provision(bank: &str, problem: impl std::fmt::Display) -> Self {
        Self::Provision {
            bank: bank.to_owned(),
            problem: problem.to_string(),
        }
    }
}
