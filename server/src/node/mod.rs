//! A bank node: the roles one bank runs in this process (issuer, acquirer, clearing house), its
//! link server, and its links to the banks it calls.
//!
//! Links are opened without connecting, so nodes may start in any order: each call connects (and
//! reconnects) by itself. Every peer is authenticated by mutual TLS against the node's trust list.

mod config;
mod error;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use semper_actors::acquirer::{AcquirerHandle, AcquirerState};
use semper_actors::clearing::{ClearingHandle, ClearingState};
use semper_actors::clock::Clock;
use semper_actors::issuer::{IssuerHandle, IssuerState};
use semper_atm::{AtmSocket, CircuitConfig};
use semper_link::{
    Identity, IdentityError, Link, LinkClient, LinkConfig, LinkError, LinkServer, LinkServerConfig,
    LinkSocket,
};
use semper_protocol::ids::BankId;

pub use config::{NodeConfig, PeerAddress};
pub use error::NodeError;

use crate::interbank::{BankHandler, HostedRoles, LinkGateways};

/// How long a stopping node lets link requests under way finish.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How long a stopped node waits for its roles' DBs to close.
pub const CLOSE_WAIT: Duration = Duration::from_secs(10);
/// How often it looks.
const CLOSE_POLL: Duration = Duration::from_millis(10);

/// A socket of its own on an emulated ATM circuit to the peer at `peer_addr`: its cells travel
/// in UDP datagrams from a free port of the same loopback family.
fn atm_socket(peer_addr: SocketAddr, circuit: &CircuitConfig) -> Result<LinkSocket, LinkError> {
    let local: SocketAddr = match peer_addr {
        SocketAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::LOCALHOST, 0).into(),
    };
    let socket = AtmSocket::bind_udp(local, circuit.clone())?;
    Ok(LinkSocket::Custom(socket))
}

/// A running bank node. Start it inside an actix system; stop it with [`Node::stop`].
pub struct Node {
    bank: BankId,
    /// The identity its link server and links present: replaced in place by a reload.
    identity: Identity,
    roles: HostedRoles,
    server: LinkServer,
    links: Vec<Link>,
}

impl Node {
    /// Opens each role's keys and DB, opens the links to the peers, starts the actors and serves
    /// the link.
    pub fn start(config: NodeConfig, clock: Arc<dyn Clock>) -> Result<Self, NodeError> {
        let mut links = Vec::with_capacity(config.peers.len());
        let mut gateways = LinkGateways::new();
        for peer in &config.peers {
            let mut link_config = LinkConfig::to_any_of(
                peer.addrs.clone(),
                peer.bank,
                config.identity.clone(),
                config.trust.clone(),
            );
            link_config.limits = config.limits;
            link_config.transport = peer.transport;
            let link = match &peer.circuit {
                None => Link::open(link_config),
                Some(circuit) => match peer.addrs.as_slice() {
                    [addr] => atm_socket(*addr, circuit)
                        .and_then(|socket| Link::open_on(socket, link_config)),
                    _ => Err(LinkError::Config(
                        "a link over an ATM circuit has exactly one peer address".to_owned(),
                    )),
                },
            }
            .map_err(|error| NodeError::link(peer.bank, error))?;
            gateways = gateways.with_link(Arc::new(link.clone()) as Arc<dyn LinkClient>);
            links.push(link);
        }
        if let Some(clearing) = config.clearing_bank {
            gateways = gateways.with_clearing(clearing);
        }
        let gateways = Arc::new(gateways);

        let mut roles = HostedRoles::default();
        let identity = config.identity.clone();
        let started = start_roles(&config, clock, &gateways, &mut roles).and_then(|()| {
            let mut server_config = LinkServerConfig::new(config.identity, config.trust);
            server_config.transport = config.transport;
            LinkServer::bind(
                config.listen,
                server_config,
                BankHandler::new(roles.clone()),
            )
            .map_err(|error| NodeError::link(config.bank, error))
        });
        // A role that did start must not keep its DB open after a failed start.
        let server = started.inspect_err(|_| roles.stop())?;
        Ok(Self {
            bank: config.bank,
            identity,
            roles,
            server,
            links,
        })
    }

    /// The bank this node runs.
    pub fn bank(&self) -> BankId {
        self.bank
    }

    /// The identity its link server and links present now.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Takes `identity` (reloaded from disk, perhaps rotated) as the one its link server
    /// presents to new connections, and makes each of its links connect afresh, so that they
    /// present it and check the peers against the trust list of now. Requests under way finish
    /// on the connections they have.
    pub fn reload(&self, identity: &Identity) -> Result<(), IdentityError> {
        self.identity.replace(identity)?;
        for link in &self.links {
            link.reconnect();
        }
        Ok(())
    }

    /// The roles this node runs.
    pub fn roles(&self) -> &HostedRoles {
        &self.roles
    }

    /// The issuer, if this node is one.
    pub fn issuer(&self) -> Option<&IssuerHandle> {
        self.roles.issuer.as_ref()
    }

    /// The acquirer, if this node is one.
    pub fn acquirer(&self) -> Option<&AcquirerHandle> {
        self.roles.acquirer.as_ref()
    }

    /// The clearing house, if this node is one.
    pub fn clearing(&self) -> Option<&ClearingHandle> {
        self.roles.clearing.as_ref()
    }

    /// The address the link server listens on.
    pub fn link_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// Stops serving the link (letting requests under way finish briefly), stops the actors and
    /// closes the links, then waits (up to [`CLOSE_WAIT`]) until each role's state, and so its
    /// DB, is closed. A handle kept elsewhere keeps its DB open past that: the wait then ends with
    /// a warning, and the DB closes when that handle goes.
    pub async fn stop(self) {
        self.server.shutdown(STOP_GRACE).await;
        self.roles.stop();
        for link in &self.links {
            link.close().await;
        }
        let states = self.roles.state_refs();
        drop(self.roles);
        drop(self.links);
        let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
        while states.iter().any(|state| state.strong_count() > 0) {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("a role's state is still in use after its node stopped");
                return;
            }
            tokio::time::sleep(CLOSE_POLL).await;
        }
    }
}

/// Opens and starts each role `config` names, into `roles`; stops at the first that fails.
fn start_roles(
    config: &NodeConfig,
    clock: Arc<dyn Clock>,
    gateways: &Arc<LinkGateways>,
    roles: &mut HostedRoles,
) -> Result<(), NodeError> {
    if let Some(issuer) = &config.issuer {
        let state = IssuerState::open(issuer, clock.clone()).map_err(NodeError::Issuer)?;
        roles.issuer = Some(IssuerHandle::start(state, issuer.mailbox_capacity));
    }
    if let Some(acquirer) = &config.acquirer {
        let state = AcquirerState::open(acquirer, clock.clone()).map_err(NodeError::Acquirer)?;
        roles.acquirer = Some(AcquirerHandle::start(
            state,
            gateways.clone(),
            gateways.clone(),
        ));
    }
    if let Some(clearing) = &config.clearing {
        let state = ClearingState::open(clearing, clock).map_err(NodeError::Clearing)?;
        roles.clearing = Some(ClearingHandle::start(
            state,
            gateways.clone(),
            clearing.mailbox_capacity,
        ));
    }
    Ok(())
}
