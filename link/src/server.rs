//! The QUIC server: accepts pinned peers and hands each message to a [`Handler`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{Connection, Endpoint, Incoming, RecvStream, SendStream, VarInt};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::error::LinkError;
use crate::frame::{Frame, FrameKind};
use crate::handler::Handler;
use crate::identity::Identity;
use crate::link::authenticated_peer;
use crate::metrics::{HandshakeResult, ServerMetrics};
use crate::peer::PeerIdentity;
use crate::pending::{PendingGuard, PendingHandshakes, PendingRefusal};
use crate::remote::{RemoteError, bounded_reply};
use crate::socket::LinkSocket;
use crate::stream::{read_frame, reset, write_frame};
use crate::tls::server_config;
use crate::tracker::{TaskGuard, Tracker};
use crate::transport::LinkTransport;
use crate::trust::TrustStore;

/// The application close code of a server shutting down.
const CLOSE_SHUTDOWN: VarInt = VarInt::from_u32(1);
/// The application close code for a connection whose peer could not be mapped to the trust list.
const CLOSE_UNKNOWN_PEER: VarInt = VarInt::from_u32(2);
/// The application close code for an authenticated peer that found every connection slot taken.
const CLOSE_SERVER_FULL: VarInt = VarInt::from_u32(3);
/// How long a handshake may take, from its first validated packet to the peer's authentication.
/// A bank on loopback or across a continent needs a few round trips; a peer that keeps a
/// handshake open longer is stalling it.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Handshakes under way at once, from every source; more are refused.
pub const HANDSHAKES_PENDING_MAX: usize = 128;
/// Handshakes under way at once from one source address; more from it are refused. A bank opens
/// one connection per link, so a handful covers its restarts.
pub const HANDSHAKES_PENDING_PER_ADDRESS_MAX: usize = 8;
/// How long a shutdown waits for peers to learn that their connections are closed.
const CLOSE_WAIT_MAX: Duration = Duration::from_secs(1);
/// How long a request task waits for the peer to acknowledge its answer before it stops
/// counting as in flight.
const ANSWER_ACK_WAIT_MAX: Duration = Duration::from_secs(2);

/// A link server's identity, trust list and bounds.
#[derive(Debug, Clone)]
pub struct LinkServerConfig {
    /// This bank's identity, presented to clients.
    pub identity: Identity,
    /// The peers allowed to connect: every client must present one of these certificates.
    pub trust: Arc<TrustStore>,
    /// Authenticated connections open at once; more are refused. A slot is taken only once the
    /// peer is authenticated, so handshakes never hold one.
    pub max_connections: usize,
    /// The deadline on one handshake.
    pub handshake_timeout: Duration,
    /// Handshakes under way at once, in all.
    pub max_pending_handshakes: usize,
    /// Handshakes under way at once from one source address.
    pub max_pending_handshakes_per_address: usize,
    /// Requests open at once on one connection (and as many one-way messages); QUIC flow
    /// control makes the client wait beyond that.
    pub max_requests_per_connection: u32,
    /// The sender's congestion controller and datagram size (for answers): by default QUIC's
    /// standard behaviour over the internet.
    pub transport: LinkTransport,
}

impl LinkServerConfig {
    /// A config with default bounds.
    pub fn new(identity: Identity, trust: Arc<TrustStore>) -> Self {
        Self {
            identity,
            trust,
            max_connections: 64,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            max_pending_handshakes: HANDSHAKES_PENDING_MAX,
            max_pending_handshakes_per_address: HANDSHAKES_PENDING_PER_ADDRESS_MAX,
            max_requests_per_connection: 256,
            transport: LinkTransport::default(),
        }
    }
}

/// A running link server. Drop it or call [`LinkServer::shutdown`] to stop it.
#[derive(Debug)]
pub struct LinkServer {
    endpoint: Endpoint,
    local_addr: SocketAddr,
    stopping: watch::Sender<bool>,
    tasks: Tracker,
    accept_loop: Option<JoinHandle<()>>,
}

/// What every task of one server shares.
struct Shared {
    handler: Arc<dyn Handler>,
    trust: Arc<TrustStore>,
    connection_slots: Arc<Semaphore>,
    pending: Arc<PendingHandshakes>,
    handshake_timeout: Duration,
    metrics: ServerMetrics,
    tasks: Tracker,
    stopping: watch::Receiver<bool>,
}

impl LinkServer {
    /// Starts serving on `socket` (e.g. a [`SocketAddr`]); must run inside a tokio runtime.
    pub fn bind(
        socket: impl Into<LinkSocket>,
        config: LinkServerConfig,
        handler: Arc<dyn Handler>,
    ) -> Result<Self, LinkError> {
        if config.max_connections == 0 || config.max_connections > Semaphore::MAX_PERMITS {
            return Err(LinkError::Config(
                "max_connections is out of range".to_owned(),
            ));
        }
        if config.max_pending_handshakes == 0 || config.max_pending_handshakes_per_address == 0 {
            return Err(LinkError::Config(
                "the bounds on pending handshakes must not be zero".to_owned(),
            ));
        }
        if config.handshake_timeout.is_zero() {
            return Err(LinkError::Config(
                "handshake_timeout must not be zero".to_owned(),
            ));
        }
        if config.max_requests_per_connection == 0 {
            return Err(LinkError::Config(
                "max_requests_per_connection must not be zero".to_owned(),
            ));
        }
        let quic = server_config(
            &config.identity,
            config.trust.clone(),
            config.max_requests_per_connection,
            &config.transport,
        )?;
        let endpoint = socket.into().endpoint(Some(quic))?;
        let local_addr = endpoint.local_addr()?;
        let (stopping, stopping_rx) = watch::channel(false);
        let tasks = Tracker::default();
        let shared = Arc::new(Shared {
            handler,
            trust: config.trust,
            connection_slots: Arc::new(Semaphore::new(config.max_connections)),
            pending: PendingHandshakes::new(
                config.max_pending_handshakes,
                config.max_pending_handshakes_per_address,
            ),
            handshake_timeout: config.handshake_timeout,
            metrics: ServerMetrics::register(),
            tasks: tasks.clone(),
            stopping: stopping_rx,
        });
        let accept_loop = tokio::spawn(accept_loop(endpoint.clone(), shared));
        tracing::info!(%local_addr, "link server listening");
        Ok(Self {
            endpoint,
            local_addr,
            stopping,
            tasks,
            accept_loop: Some(accept_loop),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server gracefully: takes no new connections or messages, lets the ones under
    /// way finish for up to `grace`, then closes every connection.
    ///
    /// Requests that peers open during the grace period are not taken; their callers see the
    /// connection close, or their timeout.
    pub async fn shutdown(mut self, grace: Duration) {
        self.stopping.send_replace(true);
        if tokio::time::timeout(grace, self.tasks.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!("link server shutdown: cutting requests still under way");
        }
        self.endpoint.close(CLOSE_SHUTDOWN, b"shutdown");
        let _ = tokio::time::timeout(CLOSE_WAIT_MAX, self.endpoint.wait_idle()).await;
        if let Some(accept_loop) = self.accept_loop.take() {
            let _ = accept_loop.await;
        }
        tracing::info!(local_addr = %self.local_addr, "link server stopped");
    }
}

impl Drop for LinkServer {
    fn drop(&mut self) {
        self.stopping.send_replace(true);
        self.endpoint.close(CLOSE_SHUTDOWN, b"shutdown");
    }
}

impl Shared {
    /// Resolves when the server starts shutting down (or is dropped).
    async fn stopped(&self) {
        let mut stopping = self.stopping.clone();
        let _ = stopping.wait_for(|&stopping| stopping).await;
    }
}

async fn accept_loop(endpoint: Endpoint, shared: Arc<Shared>) {
    loop {
        let incoming = tokio::select! {
            _ = shared.stopped() => break,
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => incoming,
                None => break,
            },
        };
        admit(incoming, &shared);
    }
}

/// Decides what to do with a new connection attempt before any handshake state is kept: a Retry
/// for an address not yet validated, a refusal beyond the handshake bounds, else a handshake on
/// its own task.
fn admit(incoming: Incoming, shared: &Arc<Shared>) {
    let remote = incoming.remote_address();
    if !incoming.remote_address_validated() {
        // The stateless Retry makes the client prove that it receives at its source address
        // before the server keeps anything, so spoofed sources cannot hold handshakes.
        shared.metrics.handshake(HandshakeResult::Retried);
        if incoming.may_retry() {
            if let Err(error) = incoming.retry() {
                error.into_incoming().refuse();
            }
        } else {
            incoming.refuse();
        }
        return;
    }
    let pending = match shared.pending.admit(remote.ip()) {
        Ok(pending) => pending,
        Err(refusal) => {
            let result = match refusal {
                PendingRefusal::Full => HandshakeResult::RefusedBusy,
                PendingRefusal::AddressFull => HandshakeResult::RefusedAddress,
            };
            shared.metrics.handshake(result);
            tracing::debug!(%remote, result = result.as_str(), "link handshake refused");
            incoming.refuse();
            return;
        }
    };
    let shared = shared.clone();
    tokio::spawn(async move { serve_connection(incoming, pending, &shared).await });
}

/// Runs the handshake under its deadline, then takes a connection slot for the authenticated
/// peer and serves it.
async fn serve_connection(incoming: Incoming, pending: PendingGuard, shared: &Arc<Shared>) {
    let remote = incoming.remote_address();
    let in_progress = shared.metrics.handshake_started();
    // Dropping the unfinished handshake at the deadline closes it. Failures are logged at debug
    // level: an attacker makes them at will, and the metrics count them.
    let connection = match tokio::time::timeout(shared.handshake_timeout, incoming).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => {
            shared.metrics.handshake(HandshakeResult::Failed);
            tracing::debug!(%remote, %error, "link handshake failed");
            return;
        }
        Err(_elapsed) => {
            shared.metrics.handshake(HandshakeResult::TimedOut);
            tracing::debug!(%remote, "link handshake timed out");
            return;
        }
    };
    let Some(peer) = authenticated_peer(&connection, &shared.trust) else {
        shared.metrics.handshake(HandshakeResult::UnknownPeer);
        connection.close(CLOSE_UNKNOWN_PEER, b"unknown peer");
        return;
    };
    shared.metrics.handshake(HandshakeResult::Authenticated);
    drop((in_progress, pending));
    let Ok(_slot) = shared.connection_slots.clone().try_acquire_owned() else {
        shared.metrics.refused_full();
        tracing::warn!(%remote, bank = %peer.bank(), "link server full: refused an authenticated peer");
        connection.close(CLOSE_SERVER_FULL, b"server full");
        return;
    };
    let _open = shared.metrics.connection_opened();
    tracing::info!(%remote, bank = %peer.bank(), "link peer connected");
    let reason = accept_streams(&connection, peer, shared).await;
    tracing::info!(%remote, bank = %peer.bank(), %reason, "link peer gone");
}

/// Takes the connection's streams until it closes or the server stops; returns why it ended.
async fn accept_streams(
    connection: &Connection,
    peer: PeerIdentity,
    shared: &Arc<Shared>,
) -> String {
    loop {
        tokio::select! {
            _ = shared.stopped() => return "server stopping".to_owned(),
            streams = connection.accept_bi() => match streams {
                Ok((send, recv)) => {
                    let guard = shared.tasks.enter();
                    tokio::spawn(serve_request(shared.handler.clone(), peer, send, recv, guard));
                }
                Err(error) => return error.to_string(),
            },
            stream = connection.accept_uni() => match stream {
                Ok(recv) => {
                    let guard = shared.tasks.enter();
                    tokio::spawn(serve_one_way(shared.handler.clone(), peer, recv, guard));
                }
                Err(error) => return error.to_string(),
            },
        }
    }
}

async fn serve_request(
    handler: Arc<dyn Handler>,
    peer: PeerIdentity,
    mut send: SendStream,
    mut recv: RecvStream,
    _guard: TaskGuard,
) {
    let frame = match read_frame(&mut recv).await {
        Ok(frame) if frame.kind() == FrameKind::Request => frame,
        Ok(frame) => {
            let error = RemoteError::new(
                "link.unexpected_frame",
                format!("a {:?} frame on a request stream", frame.kind()),
            );
            let answer = Frame::error_in(frame.version(), frame.request_id(), &error);
            let _ = write_frame(&mut send, &answer).await;
            return;
        }
        Err(error) => {
            tracing::debug!(bank = %peer.bank(), %error, "unreadable request");
            let _ = send.reset(reset::BAD_FRAME);
            return;
        }
    };
    let request_id = frame.request_id();
    // Answered in the request's own version, which the requester reads (see `frame.rs`).
    let version = frame.version();
    // The requester stops the stream when it gives up; the handler's work is then dropped.
    let answer = tokio::select! {
        answer = handler.request(peer, frame.into_payload()) => bounded_reply(answer),
        _ = send.stopped() => return,
    };
    let frame = match answer {
        Ok(payload) => match Frame::new_in(version, FrameKind::Response, request_id, payload) {
            Ok(frame) => frame,
            Err(error) => Frame::error_in(
                version,
                request_id,
                &RemoteError::new(error.code(), error.to_string()),
            ),
        },
        Err(error) => Frame::error_in(version, request_id, &error),
    };
    if let Err(error) = write_frame(&mut send, &frame).await {
        tracing::debug!(bank = %peer.bank(), %error, "answer not delivered");
        return;
    }
    // Counted as in flight until the answer is acknowledged, so a graceful shutdown does not cut it.
    let _ = tokio::time::timeout(ANSWER_ACK_WAIT_MAX, send.stopped()).await;
}

async fn serve_one_way(
    handler: Arc<dyn Handler>,
    peer: PeerIdentity,
    mut recv: RecvStream,
    _guard: TaskGuard,
) {
    let frame = match read_frame(&mut recv).await {
        Ok(frame) if frame.kind() == FrameKind::OneWay => frame,
        Ok(frame) => {
            tracing::debug!(bank = %peer.bank(), kind = ?frame.kind(), "unexpected frame on a one-way stream");
            return;
        }
        Err(error) => {
            tracing::debug!(bank = %peer.bank(), %error, "unreadable one-way message");
            let _ = recv.stop(reset::BAD_FRAME);
            return;
        }
    };
    if let Err(error) = handler.one_way(peer, frame.into_payload()).await {
        tracing::warn!(bank = %peer.bank(), code = error.code(), message = error.message(), "one-way message refused");
    }
}
