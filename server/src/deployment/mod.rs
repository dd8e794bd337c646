//! A deployment: the banks one process runs (from its config), their links, and the HTTP API.
//! It provisions each bank's keys on first start, starts each bank's node, and stops them in an
//! order that loses nothing: intake (HTTP) first, then the nodes. A reload (SIGHUP) re-reads
//! the banks' link identities and the peers' cards, for a certificate rotation.

mod error;
mod expiry;
mod provision;
mod refresher;
mod roles;
mod token;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use semper_actors::acquirer::AcquirerConfig;
use semper_actors::clearing::ClearingConfig;
use semper_actors::clock::Clock;
use semper_actors::issuer::IssuerConfig;
use semper_atm::{AtmSocket, CircuitConfig};
use semper_link::{LinkSocket, LinkTransport, TrustStore, TrustedPeer};
use semper_protocol::ids::BankId;

pub use error::DeployError;
pub use expiry::{CERTIFICATE_EXPIRY_WARNING, CertificateExpiry};
pub use provision::{ProvisionedBank, make_denomination_keys, provision, role_dir};
pub use token::{TokenSource, configured_operator_token};

use crate::config::{
    BankCard, BankSection, Carrier, Config, ConfigError, circuit_of, transport_of,
};
use crate::http::{ClientBounds, HttpApi, HttpSettings, MetricsRender, OperatorToken, TlsFiles};
use crate::interbank::HostedRoles;
use crate::node::{Node, NodeConfig, PeerAddress};
use roles::Directory;

/// What one started bank is, for the start-up summary.
#[derive(Clone, Debug)]
pub struct StartedBank {
    /// Its name in the config.
    pub name: String,
    /// The bank.
    pub id: BankId,
    /// The roles it runs.
    pub roles: Vec<&'static str>,
    /// Where its link server listens.
    pub link_addr: SocketAddr,
    /// What its link server runs over.
    pub carrier: Carrier,
    /// Its directory: identity, card, DBs and keys.
    pub dir: PathBuf,
    /// Its public card.
    pub card: PathBuf,
}

/// The running banks of one process and their HTTP API.
pub struct Deployment {
    /// The config it started from: a reload reads the same files again.
    config: Config,
    /// The trust list every node of the process shares.
    trust: Arc<TrustStore>,
    nodes: Vec<Node>,
    banks: Vec<StartedBank>,
    roles: HostedRoles,
    http: Option<HttpApi>,
    operator_token: OperatorToken,
    token_source: TokenSource,
    refreshers: Vec<tokio::task::JoinHandle<()>>,
}

impl Deployment {
    /// Provisions and starts every bank of `config`, then the HTTP API. Call it inside an actix
    /// system. A failed start stops what it had started.
    pub async fn start(
        config: &Config,
        clock: Arc<dyn Clock>,
        metrics: MetricsRender,
    ) -> Result<Self, DeployError> {
        let provisioned = config
            .banks
            .iter()
            .map(|bank| provision(config, bank))
            .collect::<Result<Vec<_>, _>>()?;
        let (operator_token, token_source) = token::operator_token(config)?;
        let mut cards: Vec<BankCard> = provisioned.iter().map(|p| p.card.clone()).collect();
        let mut routes = Routes::default();
        read_peer_cards(config, &mut cards, &mut routes)?;
        let trust = trust_store(&cards)?;

        let mut sockets = Vec::with_capacity(config.banks.len());
        for bank in &config.banks {
            let (socket, addr) = bind_link(bank)?;
            routes.addrs.insert(bank.id, vec![addr]);
            let circuit = circuit_of(bank.carrier, bank.atm.as_ref());
            routes
                .transports
                .insert(bank.id, transport_of(circuit.as_ref(), None));
            if let Some(circuit) = circuit {
                routes.circuits.insert(bank.id, circuit);
            }
            sockets.push(socket);
        }

        let directory = Directory { cards: &cards };
        let mut deployment = Self {
            config: config.clone(),
            trust: trust.clone(),
            nodes: Vec::new(),
            banks: Vec::new(),
            roles: HostedRoles::default(),
            http: None,
            operator_token,
            token_source,
            refreshers: Vec::new(),
        };
        for (index, ((bank, provisioned), socket)) in config
            .banks
            .iter()
            .zip(provisioned)
            .zip(sockets)
            .enumerate()
        {
            let started = node_config(
                config,
                index,
                bank,
                provisioned,
                socket,
                &directory,
                &routes,
                &trust,
            )
            .and_then(|(node_config, summary)| {
                let node = Node::start(node_config, clock.clone()).map_err(|source| {
                    DeployError::Node {
                        bank: bank.name.clone(),
                        id: bank.id,
                        source,
                    }
                })?;
                Ok((node, summary))
            });
            match started {
                Ok((node, summary)) => {
                    deployment.adopt(&node);
                    deployment.banks.push(summary);
                    deployment.nodes.push(node);
                }
                Err(error) => {
                    deployment.stop().await;
                    return Err(error);
                }
            }
        }

        for (bank, node) in config.banks.iter().zip(&deployment.nodes) {
            if let (Some(section), Some(acquirer)) = (&bank.acquirer, node.acquirer()) {
                deployment.refreshers.push(refresher::start(
                    acquirer.clone(),
                    Duration::from_millis(section.denomination_refresh_ms),
                ));
            }
        }

        let own = deployment
            .nodes
            .iter()
            .map(|node| node.identity().clone())
            .collect();
        deployment
            .refreshers
            .push(expiry::start_exporter(own, deployment.trust.clone()));

        let settings = http_settings(config, deployment.operator_token.clone());
        match HttpApi::serve(&settings, deployment.roles.clone(), metrics, None) {
            Ok(http) => deployment.http = Some(http),
            Err(source) => {
                deployment.stop().await;
                return Err(DeployError::Http {
                    addr: config.http.listen,
                    source,
                });
            }
        }
        Ok(deployment)
    }

    /// Takes `node`'s roles into the process's roles (validation allows one bank per role).
    fn adopt(&mut self, node: &Node) {
        let roles = node.roles();
        if roles.issuer.is_some() {
            self.roles.issuer = roles.issuer.clone();
        }
        if roles.acquirer.is_some() {
            self.roles.acquirer = roles.acquirer.clone();
        }
        if roles.clearing.is_some() {
            self.roles.clearing = roles.clearing.clone();
        }
    }

    /// The roles this process runs.
    pub fn roles(&self) -> HostedRoles {
        self.roles.clone()
    }

    /// The banks started, in config order.
    pub fn banks(&self) -> &[StartedBank] {
        &self.banks
    }

    /// `https` when the HTTP API serves TLS, `http` otherwise.
    pub fn http_scheme(&self) -> Option<&'static str> {
        self.http.as_ref().map(HttpApi::scheme)
    }

    /// Where the HTTP API listens.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(HttpApi::local_addr)
    }

    /// The operator token, for tests and tools in the same process.
    pub fn operator_token(&self) -> &OperatorToken {
        &self.operator_token
    }

    /// Where the operator token came from.
    pub fn token_source(&self) -> &TokenSource {
        &self.token_source
    }

    /// When each link certificate this process depends on expires: its banks' own, and its
    /// peers'.
    pub fn certificate_expiries(&self) -> Vec<CertificateExpiry> {
        let own: Vec<_> = self
            .nodes
            .iter()
            .map(|node| node.identity().clone())
            .collect();
        expiry::expiries(&own, &self.trust)
    }

    /// Logs a warning for each link certificate that expires within
    /// [`CERTIFICATE_EXPIRY_WARNING`], and returns them.
    pub fn warn_of_expiries(&self) -> Vec<CertificateExpiry> {
        let now = std::time::SystemTime::now();
        let all = self.certificate_expiries();
        expiry::export(&all, now);
        expiry::warn_of_near(&all, now)
    }

    /// Re-reads each bank's link identity (provisioning it again, which rewrites its card: the
    /// current certificate, and the next one during a rotation) and every peer's card; then
    /// swaps the trust list, makes each bank present its identity to new connections, and makes
    /// every link connect afresh. Requests under way finish on the connections they have.
    /// Nothing changes when a file does not read or check. Returns how many certificates the
    /// trust list pins now.
    pub fn reload(&self) -> Result<usize, DeployError> {
        let provisioned = self
            .config
            .banks
            .iter()
            .map(|bank| provision(&self.config, bank))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cards: Vec<BankCard> = provisioned.iter().map(|p| p.card.clone()).collect();
        read_peer_cards(&self.config, &mut cards, &mut Routes::default())?;
        let peers = trusted_peers(&cards)?;
        let pinned = peers.len();
        self.trust.replace(peers).map_err(trust_list_error)?;
        for node in &self.nodes {
            let Some(bank) = provisioned
                .iter()
                .find(|p| p.identity.bank() == node.bank())
            else {
                continue;
            };
            node.reload(&bank.identity).map_err(|error| {
                DeployError::provision(&bank.card.name, format!("link identity: {error}"))
            })?;
        }
        self.warn_of_expiries();
        tracing::info!(pinned, "reloaded the link identities and the peers' cards");
        Ok(pinned)
    }

    /// Stops intake first (the HTTP API, letting requests under way finish), then each bank's
    /// node: its link server, its actors and links. Each DB closes once its last handle is gone;
    /// everything acknowledged is already durable.
    pub async fn stop(mut self) {
        if let Some(http) = self.http.take() {
            http.stop().await;
        }
        for refresher in self.refreshers.drain(..) {
            refresher.abort();
        }
        // The nodes wait for their DBs to close: no handle may stay here.
        self.roles = HostedRoles::default();
        // Acquirers first: they stop taking deposits while issuers still answer.
        self.nodes
            .sort_by_key(|node| if node.acquirer().is_some() { 0 } else { 1 });
        for node in self.nodes.drain(..) {
            node.stop().await;
        }
    }
}

/// Reads the cards of every bank's peers into `cards`, and their addresses into `addrs`.
/// How to reach each known bank's link server: its address, and its circuit when it is served
/// over an emulated ATM circuit.
#[derive(Default)]
struct Routes {
    /// Where each bank's link servers listen: its peer entry's `addr`, else its card's list.
    addrs: HashMap<BankId, Vec<SocketAddr>>,
    circuits: HashMap<BankId, CircuitConfig>,
    /// How a link to each sends: the peer entry's `transport`, else its carrier's defaults.
    transports: HashMap<BankId, LinkTransport>,
}

/// Binds a bank's link server socket: plain UDP for QUIC, or the cell socket of an emulated ATM
/// circuit (which needs the tokio runtime). Returns it with the address it got.
fn bind_link(bank: &BankSection) -> Result<(LinkSocket, SocketAddr), DeployError> {
    let fail = |error: std::io::Error| {
        DeployError::provision(
            &bank.name,
            format!("cannot bind the link address {}: {error}", bank.link_listen),
        )
    };
    match circuit_of(bank.carrier, bank.atm.as_ref()) {
        None => {
            let socket = UdpSocket::bind(bank.link_listen).map_err(fail)?;
            let addr = socket.local_addr().map_err(fail)?;
            Ok((LinkSocket::Udp(socket), addr))
        }
        Some(circuit) => {
            let socket = AtmSocket::bind_udp(bank.link_listen, circuit).map_err(fail)?;
            let addr = socket.local_addr();
            Ok((LinkSocket::Custom(socket), addr))
        }
    }
}

fn read_peer_cards(
    config: &Config,
    cards: &mut Vec<BankCard>,
    routes: &mut Routes,
) -> Result<(), DeployError> {
    for (index, bank) in config.banks.iter().enumerate() {
        for (peer_index, peer) in bank.peers.iter().enumerate() {
            let key = format!("banks[{index}].peers[{peer_index}]");
            let card = BankCard::read(&peer.card, &format!("{key}.card"))?;
            if config.banks.iter().any(|local| local.id == card.id) {
                return Err(ConfigError::invalid(
                    format!("{key}.card"),
                    format!("{} is a bank of this process, not a peer", card.id),
                )
                .into());
            }
            match cards.iter().find(|known| known.id == card.id) {
                Some(known) if *known != card => {
                    return Err(ConfigError::invalid(
                        format!("{key}.card"),
                        format!("another card of bank {} differs from this one", card.id),
                    )
                    .into());
                }
                Some(_) => {}
                None => cards.push(card.clone()),
            }
            match peer.addr {
                Some(addr) => {
                    routes.addrs.insert(card.id, vec![addr]);
                }
                None if !card.link_addrs.is_empty() => {
                    routes.addrs.insert(card.id, card.link_addrs.clone());
                }
                None => {}
            }
            let circuit = circuit_of(peer.carrier, peer.atm.as_ref().or(bank.atm.as_ref()));
            routes.transports.insert(
                card.id,
                transport_of(circuit.as_ref(), peer.transport.as_ref()),
            );
            if let Some(circuit) = circuit {
                routes.circuits.insert(card.id, circuit);
            }
        }
    }
    Ok(())
}

fn trust_store(cards: &[BankCard]) -> Result<Arc<TrustStore>, DeployError> {
    TrustStore::new(trusted_peers(cards)?)
        .map(Arc::new)
        .map_err(trust_list_error)
}

/// The trust list entries of `cards`: one per certificate each carries.
fn trusted_peers(cards: &[BankCard]) -> Result<Vec<TrustedPeer>, DeployError> {
    let mut peers = Vec::with_capacity(cards.len());
    for card in cards {
        peers.extend(card.trusted_peers(&format!("card of bank {}", card.name))?);
    }
    Ok(peers)
}

fn trust_list_error(error: semper_link::TrustError) -> DeployError {
    ConfigError::invalid("banks", format!("trust list: {error}")).into()
}

/// The node config of local bank number `index`, and its summary.
#[allow(clippy::too_many_arguments)]
fn node_config(
    config: &Config,
    index: usize,
    bank: &BankSection,
    provisioned: ProvisionedBank,
    socket: LinkSocket,
    directory: &Directory<'_>,
    routes: &Routes,
    trust: &Arc<TrustStore>,
) -> Result<(NodeConfig, StartedBank), DeployError> {
    let key = format!("banks[{index}]");
    let bank_dir = config.bank_dir(bank);
    let clearing = directory.clearing().map_err(|ids| {
        ConfigError::invalid(
            "banks",
            format!(
                "more than one clearing house is known ({ids:?}); a process settles through one"
            ),
        )
    })?;
    let mut callees: Vec<BankId> = Vec::new();
    if bank.acquirer.is_some() {
        callees.extend(directory.issuers().map(|(id, _)| id));
        callees.extend(clearing.map(|clearing| clearing.id));
    }
    if bank.clearing.is_some() {
        callees.extend(directory.participants(bank.id).map(|card| card.id));
    }
    callees.sort();
    callees.dedup();
    callees.retain(|callee| *callee != bank.id);
    let peers = callees
        .iter()
        .map(|callee| {
            let addrs = routes.addrs.get(callee).cloned().ok_or_else(|| {
                ConfigError::invalid(
                    format!("{key}.peers"),
                    format!(
                        "this bank calls bank {callee}: give the addr of its peer entry, or \
                         link_addrs on its card"
                    ),
                )
            })?;
            let circuit = routes.circuits.get(callee).cloned();
            if circuit.is_some() && addrs.len() > 1 {
                return Err(ConfigError::invalid(
                    format!("{key}.peers"),
                    format!("bank {callee} is reached over one ATM circuit: give one addr"),
                ));
            }
            Ok(PeerAddress {
                bank: *callee,
                addrs,
                circuit,
                transport: routes.transports.get(callee).copied().unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;

    let store = bank.store_location();
    let issuer = bank.issuer.as_ref().map(|section| IssuerConfig {
        store: store.clone(),
        ..roles::issuer(bank.id, &bank_dir, section, directory, clearing)
    });
    let acquirer = match &bank.acquirer {
        Some(section) => {
            let clearing = clearing.ok_or_else(|| {
                ConfigError::invalid(
                    format!("{key}.acquirer"),
                    format!(
                        "an acquirer settles through a clearing house: add its card to {key}.peers"
                    ),
                )
            })?;
            Some(AcquirerConfig {
                store: store.clone(),
                ..roles::acquirer(bank.id, &bank_dir, section, directory, clearing)
            })
        }
        None => None,
    };
    let clearing_config = bank.clearing.as_ref().map(|section| ClearingConfig {
        store: store.clone(),
        ..roles::clearing(bank.id, &bank_dir, section, directory)
    });

    let mut role_names = Vec::new();
    if issuer.is_some() {
        role_names.push("issuer");
    }
    if acquirer.is_some() {
        role_names.push("acquirer");
    }
    if clearing_config.is_some() {
        role_names.push("clearing");
    }
    let summary = StartedBank {
        name: bank.name.clone(),
        id: bank.id,
        roles: role_names,
        link_addr: routes
            .addrs
            .get(&bank.id)
            .and_then(|addrs| addrs.first().copied())
            .unwrap_or(bank.link_listen),
        carrier: bank.carrier,
        dir: bank_dir,
        card: provisioned.card_path,
    };
    let node_config = NodeConfig {
        bank: bank.id,
        identity: provisioned.identity,
        trust: trust.clone(),
        listen: socket,
        transport: transport_of(
            circuit_of(bank.carrier, bank.atm.as_ref()).as_ref(),
            bank.transport.as_ref(),
        ),
        peers,
        clearing_bank: if bank.acquirer.is_some() {
            clearing.map(|clearing| clearing.id)
        } else {
            None
        },
        limits: roles::limits(&config.link),
        issuer,
        acquirer,
        clearing: clearing_config,
    };
    Ok((node_config, summary))
}

/// The HTTP API's settings from the config's `http` section; TLS files are relative to
/// `node.data_dir` unless absolute.
fn http_settings(config: &Config, operator_token: OperatorToken) -> HttpSettings {
    let http = &config.http;
    let in_data_dir = |path: &std::path::Path| config.node.data_dir.join(path);
    HttpSettings {
        listen: http.listen,
        tls: match (&http.tls_cert, &http.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: in_data_dir(cert),
                key: in_data_dir(key),
            }),
            _ => None,
        },
        workers: http.workers,
        body_limit_bytes: http.body_limit_bytes,
        requests_in_flight_max: http.requests_in_flight_max,
        connections_max: http.connections_max,
        clients: ClientBounds {
            connections_max: http.client_connections_max,
            requests_in_flight_max: http.client_requests_in_flight_max,
        },
        head_timeout: Duration::from_millis(http.head_timeout_ms),
        body_timeout: Duration::from_millis(http.body_timeout_ms),
        keep_alive: Duration::from_millis(http.keep_alive_ms),
        coins_in_flight_max: http.coins_in_flight_max,
        retry_after_s: http.retry_after_s,
        operator_token: Some(operator_token),
        account_opens_per_client_per_min: http.account_opens_per_client_per_min,
    }
}

#[cfg(test)]
mod tests;
