//! A node on its own thread and actix system, as another process would be, serving a real
//! `LinkServer` with pinned mutual TLS; and the identities and trust of the settlement market.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use semper_actors::clearing::{ClearingConfig, ClearingHandle, ClearingState};
use semper_actors::clock::SystemClock;
use semper_link::{
    Handler, Identity, LinkServer, LinkServerConfig, LinkSocket, LinkTransport, Role, RoleSet,
    TrustStore, TrustedPeer, Validity,
};
use semper_server::interbank::{BankHandler, HostedRoles};

use crate::in_process::DiscardReports;
use crate::settlement::{ACQUIRERS, CLEARING};
use crate::sink::{CallCounts, Counted};

/// How long the certificates of a run are valid.
const CERTIFICATE_LIFETIME: Duration = Duration::from_secs(86_400);
/// How long a node's server lets requests under way finish when it stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The clearing house's and the acquirers' link identities, each pinned in one trust store.
pub struct Parties {
    /// The clearing house's identity.
    pub clearing: Identity,
    /// Each acquirer's identity, in the order of [`ACQUIRERS`].
    pub acquirers: [Identity; 2],
    /// Every party, with its role.
    pub trust: Arc<TrustStore>,
}

impl Parties {
    /// Fresh identities for the clearing house and the acquirers.
    pub fn generate() -> anyhow::Result<Self> {
        let identity =
            |bank| Identity::generate(bank, Validity::starting_now(CERTIFICATE_LIFETIME));
        let clearing = identity(CLEARING)?;
        let acquirers = [identity(ACQUIRERS[0])?, identity(ACQUIRERS[1])?];
        let mut peers = vec![TrustedPeer {
            bank: CLEARING,
            roles: RoleSet::of(&[Role::Clearing]),
            certificate: clearing.certificate().clone(),
        }];
        for (bank, identity) in ACQUIRERS.iter().zip(&acquirers) {
            peers.push(TrustedPeer {
                bank: *bank,
                roles: RoleSet::of(&[Role::Acquirer]),
                certificate: identity.certificate().clone(),
            });
        }
        Ok(Self {
            clearing,
            acquirers,
            trust: Arc::new(TrustStore::new(peers)?),
        })
    }
}

/// A node on its own thread and actix system, serving a link; `T` is what its start gave back
/// to the caller (e.g. the clearing house's handle).
pub struct LinkNode<T> {
    /// What the node's start gave back.
    pub inner: T,
    /// Where its link server listens.
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl<T: Send + 'static> LinkNode<T> {
    /// Starts a node that serves `socket` with the handler `start` makes on the node's own
    /// system, presenting `identity`, trusting `trust` and sending as `transport` says.
    pub fn start(
        socket: LinkSocket,
        identity: Identity,
        trust: Arc<TrustStore>,
        transport: LinkTransport,
        start: impl FnOnce() -> anyhow::Result<(Arc<dyn Handler>, T)> + Send + 'static,
    ) -> anyhow::Result<Self> {
        let (started, receiver) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let (handler, inner) = start()?;
                let mut config = LinkServerConfig::new(identity, trust);
                config.transport = transport;
                let server = LinkServer::bind(socket, config, handler)?;
                let _ = started.send((inner, server.local_addr()));
                // Sent at the end of the run, or dropped if the run fails.
                let _ = stopped.await;
                server.shutdown(SHUTDOWN_GRACE).await;
                anyhow::Ok(())
            })
        });
        match receiver.recv() {
            Ok((inner, addr)) => Ok(Self {
                inner,
                addr,
                stop,
                thread,
            }),
            Err(_) => match thread.join() {
                Ok(result) => Err(result
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("the node stopped at start"))),
                Err(_) => anyhow::bail!("the node panicked at start"),
            },
        }
    }

    /// Stops the server, then the node's system and thread.
    pub fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the node panicked"))?
    }
}

/// What a clearing house node gives back: its handle, and the requests its link server passed
/// to it.
pub struct ServedClearing {
    /// The clearing house.
    pub handle: ClearingHandle,
    /// Each request's calls of the clearing house's handler.
    pub calls: Arc<CallCounts>,
}

/// A clearing house node: `BankHandler` hosting only the clearing role, on a clearing house
/// opened from `config` (already provisioned), its requests counted.
pub type LinkedClearing = LinkNode<ServedClearing>;

impl LinkedClearing {
    /// Opens the clearing house of `config` on the node's own system and serves it on `socket`,
    /// sending as `transport` says.
    pub fn start_clearing(
        config: ClearingConfig,
        socket: LinkSocket,
        parties: &Parties,
        transport: LinkTransport,
    ) -> anyhow::Result<Self> {
        Self::start(
            socket,
            parties.clearing.clone(),
            parties.trust.clone(),
            transport,
            move || {
                let state = ClearingState::open(&config, Arc::new(SystemClock))?;
                let handle =
                    ClearingHandle::start(state, Arc::new(DiscardReports), config.mailbox_capacity);
                let roles = HostedRoles {
                    clearing: Some(handle.clone()),
                    ..Default::default()
                };
                let calls = Arc::new(CallCounts::default());
                let handler: Arc<dyn Handler> =
                    Arc::new(Counted::new(BankHandler::new(roles), calls.clone()));
                Ok((handler, ServedClearing { handle, calls }))
            },
        )
    }
}
