//! What a bank node is started with.

use std::net::SocketAddr;
use std::sync::Arc;

use semper_actors::acquirer::AcquirerConfig;
use semper_actors::clearing::ClearingConfig;
use semper_actors::issuer::IssuerConfig;
use semper_atm::CircuitConfig;
use semper_link::{Identity, Limits, LinkSocket, LinkTransport, TrustStore};
use semper_protocol::ids::BankId;

/// Where a peer bank's link server listens.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerAddress {
    /// The peer bank; its certificate must be in the node's trust list.
    pub bank: BankId,
    /// Its link servers' addresses, tried in turn (one per process serving its link).
    pub addrs: Vec<SocketAddr>,
    /// The emulated ATM circuit the link runs over; `None` for QUIC over UDP.
    pub circuit: Option<CircuitConfig>,
    /// How the link to it sends: congestion controller and datagram size.
    pub transport: LinkTransport,
}

/// A bank node's configuration: its identity on the link, who it trusts and calls, and the roles
/// it runs.
pub struct NodeConfig {
    /// The bank.
    pub bank: BankId,
    /// Its certificate and TLS key.
    pub identity: Identity,
    /// The peers it accepts and calls, each pinned with its certificate and roles.
    pub trust: Arc<TrustStore>,
    /// Where its link server listens.
    pub listen: LinkSocket,
    /// How its link server sends: congestion controller and datagram size.
    pub transport: LinkTransport,
    /// The banks it calls: issuers and the clearing house for an acquirer, every participant for
    /// a clearing house.
    pub peers: Vec<PeerAddress>,
    /// The clearing house it settles through, one of `peers`.
    pub clearing_bank: Option<BankId>,
    /// Bounds of each link: requests in flight and timeouts.
    pub limits: Limits,
    /// The issuer role.
    pub issuer: Option<IssuerConfig>,
    /// The acquirer role.
    pub acquirer: Option<AcquirerConfig>,
    /// The clearing role.
    pub clearing: Option<ClearingConfig>,
}
