//! The QUIC client: one link to one peer bank, reconnecting on demand.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::{Connection, Endpoint, VarInt};
use semper_protocol::ids::BankId;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::admission::{Admission, Limits};
use crate::backoff::{Backoff, jitter_seed};
use crate::client::{LinkClient, LinkFuture};
use crate::error::LinkError;
use crate::frame::{Frame, FrameKind};
use crate::identity::{Identity, bank_dns_name};
use crate::metrics::PeerMetrics;
use crate::peer::PeerIdentity;
use crate::socket::LinkSocket;
use crate::stream::{read_frame, reset, write_frame};
use crate::tls::{client_config, frame_version};
use crate::transport::LinkTransport;
use crate::trust::TrustStore;

/// Connection attempts one call makes at most; the backoff and the deadline bound them too.
const DIAL_ATTEMPTS_PER_CALL_MAX: u32 = 16;
/// Times one call opens a stream on a fresh connection after the last one was found closed.
const OPEN_ATTEMPTS_PER_CALL_MAX: u32 = 3;
/// Addresses one peer may be reached at, at most (a bank's card lists one per link process).
pub const PEER_ADDRS_MAX: usize = 8;
/// The application close code of a link closed by its owner.
const CLOSE_BY_OWNER: VarInt = VarInt::from_u32(0);
/// How long [`Link::close`] waits for the peer to learn of the close.
const CLOSE_WAIT_MAX: Duration = Duration::from_secs(1);

/// The send priority of request `request_id`: lower for later requests (quinn sends higher first).
fn request_order_priority(request_id: u64) -> i32 {
    (request_id as i32).wrapping_neg()
}

/// Everything a [`Link`] needs to reach one peer.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// The addresses the peer's link servers listen on, tried in turn: the link keeps to the one
    /// that answered and moves on to the next when it does not (at least one, at most
    /// [`PEER_ADDRS_MAX`], all of one address family).
    pub peer_addrs: Vec<SocketAddr>,
    /// The bank the peer must prove to be.
    pub peer_bank: BankId,
    /// This bank's identity, presented to the peer.
    pub identity: Identity,
    /// The trusted peers; the peer's certificate must be pinned here for `peer_bank`.
    pub trust: Arc<TrustStore>,
    /// In-flight and timeout bounds.
    pub limits: Limits,
    /// Pacing of reconnection attempts.
    pub backoff: Backoff,
    /// The longest one connection attempt may take within a call's timeout.
    pub connect_timeout: Duration,
    /// The sender's congestion controller and datagram size: by default QUIC's standard
    /// behaviour over the internet; an ATM circuit has its own (`semper-atm`).
    pub transport: LinkTransport,
}

impl LinkConfig {
    /// A config with default limits, backoff and connect timeout, for a peer at one address.
    pub fn new(
        peer_addr: SocketAddr,
        peer_bank: BankId,
        identity: Identity,
        trust: Arc<TrustStore>,
    ) -> Self {
        Self::to_any_of(vec![peer_addr], peer_bank, identity, trust)
    }

    /// [`LinkConfig::new`] for a peer reached at any of `peer_addrs` (checked when the link
    /// opens).
    pub fn to_any_of(
        peer_addrs: Vec<SocketAddr>,
        peer_bank: BankId,
        identity: Identity,
        trust: Arc<TrustStore>,
    ) -> Self {
        Self {
            peer_addrs,
            peer_bank,
            identity,
            trust,
            limits: Limits::default(),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(2),
            transport: LinkTransport::default(),
        }
    }
}

/// A QUIC link to one peer bank, with pinned mutual TLS.
///
/// Each request is one bidirectional stream carrying one request frame and one answer frame;
/// each one-way message is one unidirectional stream. At most `limits.max_in_flight` calls run
/// at once: a call waits for a slot until its timeout, then fails with [`LinkError::Busy`].
/// When the connection drops, the next call reconnects (with bounded, jittered exponential
/// backoff between attempts) within its own timeout. Cloning is cheap and shares the link.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    client: quinn::ClientConfig,
    peer_addrs: Vec<SocketAddr>,
    peer_bank: BankId,
    server_name: String,
    trust: Arc<TrustStore>,
    admission: Admission,
    backoff: Backoff,
    connect_timeout: Duration,
    next_request_id: AtomicU64,
    current: Mutex<Option<Live>>,
    dialer: tokio::sync::Mutex<Dialer>,
    metrics: PeerMetrics,
}

#[derive(Debug, Clone)]
struct Live {
    connection: Connection,
    peer: PeerIdentity,
    /// The frame version the connection settled on.
    version: u8,
}

/// Reconnection state; its lock also makes one call at a time dial.
#[derive(Debug)]
struct Dialer {
    /// Failed attempts since the last connection, whatever their address.
    failures: u32,
    /// The index in `peer_addrs` of the address in use, or to try next: a working address is
    /// kept, a failed one gives way to the next.
    addr_index: usize,
    next_attempt: Instant,
    last_error: String,
    /// Whether a connection was made before: the next one is a reconnect.
    connected: bool,
}

impl Link {
    /// Binds an ephemeral UDP port and connects to the peer.
    ///
    /// Fails if the first connection cannot be made within the request timeout; after that,
    /// the link reconnects by itself.
    pub async fn connect(config: LinkConfig) -> Result<Self, LinkError> {
        let socket = LinkSocket::Bind(unspecified_like(first_addr(&config)?));
        Self::connect_on(socket, config).await
    }

    /// Connects to the peer through `socket`, e.g. an emulated circuit.
    pub async fn connect_on(socket: LinkSocket, config: LinkConfig) -> Result<Self, LinkError> {
        let deadline = Instant::now() + config.limits.request_timeout;
        let link = Self::open_on(socket, config)?;
        link.inner.connection(deadline).await?;
        Ok(link)
    }

    /// Binds an ephemeral UDP port for a link to the peer, without connecting: the first call
    /// connects. How a node starts whatever the order its peers start in. Call it within a tokio
    /// runtime.
    pub fn open(config: LinkConfig) -> Result<Self, LinkError> {
        let socket = LinkSocket::Bind(unspecified_like(first_addr(&config)?));
        Self::open_on(socket, config)
    }

    /// Like [`Link::open`], through `socket`.
    pub fn open_on(socket: LinkSocket, config: LinkConfig) -> Result<Self, LinkError> {
        check_addrs(&config.peer_addrs)?;
        if !config.trust.trusts_bank(config.peer_bank) {
            return Err(LinkError::Config(format!(
                "no certificate is pinned for the peer bank {}",
                config.peer_bank
            )));
        }
        let client = client_config(
            &config.identity,
            config.trust.clone(),
            config.peer_bank,
            &config.transport,
        )?;
        let endpoint = socket.endpoint(None)?;
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                client,
                peer_addrs: config.peer_addrs,
                peer_bank: config.peer_bank,
                server_name: bank_dns_name(config.peer_bank),
                trust: config.trust,
                admission: Admission::new(config.limits)?,
                backoff: config.backoff,
                connect_timeout: config.connect_timeout,
                next_request_id: AtomicU64::new(1),
                current: Mutex::new(None),
                dialer: tokio::sync::Mutex::new(Dialer {
                    failures: 0,
                    addr_index: 0,
                    next_attempt: Instant::now(),
                    last_error: String::new(),
                    connected: false,
                }),
                metrics: PeerMetrics::register(config.peer_bank),
            }),
        })
    }

    /// The peer bank.
    pub fn peer(&self) -> BankId {
        self.inner.peer_bank
    }

    /// The authenticated peer of the current connection, if one is up.
    pub fn peer_identity(&self) -> Option<PeerIdentity> {
        self.inner.live().map(|live| live.peer)
    }

    /// The local UDP address.
    pub fn local_addr(&self) -> Result<SocketAddr, LinkError> {
        Ok(self.inner.endpoint.local_addr()?)
    }

    /// Sends a request and returns the peer's answer; a handler's error comes back as
    /// [`LinkError::Remote`].
    pub async fn request(&self, payload: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let started = std::time::Instant::now();
        let answer = self.exchange(payload).await;
        self.inner.metrics.request(started.elapsed(), &answer);
        answer
    }

    /// [`Link::request`], unmeasured.
    async fn exchange(&self, payload: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let (_slot, deadline) = self.inner.admission.admit(&payload).await?;
        let request_id = self.inner.next_request_id.fetch_add(1, Ordering::Relaxed);
        let (version, (mut send, mut recv)) = self
            .inner
            .open(deadline, |c| async move { c.open_bi().await })
            .await?;
        let frame = Frame::new_in(version, FrameKind::Request, request_id, payload)?;
        // Earlier requests first. QUIC would otherwise interleave the streams of every request
        // in flight, so that large requests all finish late and together, and the peer has
        // nothing to work on while the rest arrive; in order, it handles one while the next
        // arrives. The order wraps once every 2^31 requests, which costs one out-of-order pair.
        let _ = send.set_priority(request_order_priority(request_id));
        let exchange = async {
            write_frame(&mut send, &frame).await?;
            read_frame(&mut recv).await
        };
        let answer = match timeout_at(deadline, exchange).await {
            Ok(answer) => answer,
            Err(_elapsed) => {
                // Tell the peer to stop working on it; the streams may already be gone.
                let _ = send.reset(reset::CANCELLED);
                let _ = recv.stop(reset::CANCELLED);
                return Err(LinkError::Timeout);
            }
        }?;
        if answer.request_id() != request_id {
            return Err(LinkError::Protocol(format!(
                "answer for request {} on the stream of request {request_id}",
                answer.request_id()
            )));
        }
        match answer.kind() {
            FrameKind::Response => Ok(answer.into_payload()),
            FrameKind::Error => Err(answer.remote_error()?.into()),
            kind => Err(LinkError::Protocol(format!(
                "a {kind:?} frame answered a request"
            ))),
        }
    }

    /// Sends a one-way message; returns once the peer has acknowledged all of it (not handled
    /// it).
    pub async fn send(&self, payload: Vec<u8>) -> Result<(), LinkError> {
        let (_slot, deadline) = self.inner.admission.admit(&payload).await?;
        let (version, mut send) = self
            .inner
            .open(deadline, |c| async move { c.open_uni().await })
            .await?;
        let frame = Frame::new_in(version, FrameKind::OneWay, 0, payload)?;
        let delivery = async {
            write_frame(&mut send, &frame).await?;
            match send.stopped().await {
                Ok(None) => Ok(()),
                Ok(Some(code)) => Err(LinkError::StreamReset(code.into_inner())),
                Err(quinn::StoppedError::ConnectionLost(e)) => Err(LinkError::during_request(e)),
                Err(e) => Err(LinkError::ConnectionLost(e.to_string())),
            }
        };
        match timeout_at(deadline, delivery).await {
            Ok(delivered) => delivered,
            Err(_elapsed) => {
                let _ = send.reset(reset::CANCELLED);
                Err(LinkError::Timeout)
            }
        }
    }

    /// The current connection's QUIC counters (round trip, congestion window, losses), if it is
    /// open: what shows where a link's sender is held back.
    pub fn connection_stats(&self) -> Option<quinn::ConnectionStats> {
        self.inner.live().map(|live| live.connection.stats())
    }

    /// Makes the next call connect afresh, e.g. once this bank's identity or trust list was
    /// reloaded, so that the new certificates are used and checked. Calls under way finish on
    /// the connection they have, which closes when its last stream is done.
    pub fn reconnect(&self) {
        self.inner.set_live(None);
    }

    /// Closes the link: later calls fail with [`LinkError::Closed`], calls under way are cut.
    pub async fn close(&self) {
        self.inner.admission.close();
        self.inner.endpoint.close(CLOSE_BY_OWNER, b"closed");
        let _ = tokio::time::timeout(CLOSE_WAIT_MAX, self.inner.endpoint.wait_idle()).await;
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("peer_bank", &self.inner.peer_bank)
            .field("peer_addrs", &self.inner.peer_addrs)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The current connection, if it is still open.
    fn live(&self) -> Option<Live> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current
            .as_ref()
            .filter(|live| live.connection.close_reason().is_none())
            .cloned()
    }

    fn set_live(&self, live: Option<Live>) {
        *self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = live;
    }

    /// Opens a stream with `open`, reconnecting first if the connection is down; returns it with
    /// the connection's frame version.
    ///
    /// Only opening is retried: nothing has been sent on a stream that failed to open.
    async fn open<S, F, Fut>(&self, deadline: Instant, open: F) -> Result<(u8, S), LinkError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<S, quinn::ConnectionError>>,
    {
        let mut last = LinkError::Unreachable("no attempt was made".to_owned());
        for _ in 0..OPEN_ATTEMPTS_PER_CALL_MAX {
            let (connection, version) = self.connection(deadline).await?;
            // Waiting here means the peer's stream limit is reached; it counts as no answer.
            match timeout_at(deadline, open(connection)).await {
                Err(_elapsed) => return Err(LinkError::Timeout),
                Ok(Ok(stream)) => return Ok((version, stream)),
                Ok(Err(error)) => {
                    last = LinkError::during_request(error);
                    if last.is_refusal() || matches!(last, LinkError::Closed) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    /// The open connection and its frame version, or a new one made within `deadline`.
    async fn connection(&self, deadline: Instant) -> Result<(Connection, u8), LinkError> {
        if let Some(live) = self.live() {
            return Ok((live.connection, live.version));
        }
        let Ok(mut dialer) = timeout_at(deadline, self.dialer.lock()).await else {
            return Err(LinkError::Unreachable(
                "another call was still connecting".to_owned(),
            ));
        };
        // Another call may have connected while this one waited for the dialer.
        if let Some(live) = self.live() {
            return Ok((live.connection, live.version));
        }
        for _ in 0..DIAL_ATTEMPTS_PER_CALL_MAX {
            if dialer.next_attempt > Instant::now() {
                if dialer.next_attempt >= deadline {
                    break;
                }
                sleep_until(dialer.next_attempt).await;
            }
            let addr = self.peer_addrs[dialer.addr_index % self.peer_addrs.len()];
            let attempt_deadline = deadline.min(Instant::now() + self.connect_timeout);
            let outcome = match timeout_at(attempt_deadline, self.dial(addr)).await {
                Ok(outcome) => outcome,
                Err(_elapsed) => Err(LinkError::Unreachable(format!(
                    "no handshake from {addr} within the connect timeout"
                ))),
            };
            match outcome {
                Ok(live) => {
                    dialer.failures = 0;
                    if std::mem::replace(&mut dialer.connected, true) {
                        self.metrics.reconnected();
                    }
                    tracing::debug!(peer = %self.peer_bank, %addr, "link connected");
                    let connection = (live.connection.clone(), live.version);
                    self.set_live(Some(live));
                    return Ok(connection);
                }
                Err(error) => {
                    dialer.failures = dialer.failures.saturating_add(1);
                    dialer.addr_index = (dialer.addr_index + 1) % self.peer_addrs.len();
                    // The next address is tried at once; the pause comes once every address
                    // of the round has failed, and grows with the rounds.
                    let addrs = u32::try_from(self.peer_addrs.len()).unwrap_or(u32::MAX);
                    let pause = if dialer.failures % addrs == 0 {
                        self.backoff.delay(dialer.failures / addrs, jitter_seed())
                    } else {
                        Duration::ZERO
                    };
                    dialer.next_attempt = Instant::now() + pause;
                    dialer.last_error = error.to_string();
                    tracing::debug!(peer = %self.peer_bank, %addr, %error, ?pause, "link connection attempt failed");
                    if error.is_refusal() || Instant::now() >= deadline {
                        return Err(error);
                    }
                }
            }
        }
        Err(LinkError::Unreachable(dialer.last_error.clone()))
    }

    /// One connection attempt to `addr`, and the authenticated peer behind it.
    async fn dial(&self, addr: SocketAddr) -> Result<Live, LinkError> {
        let connecting = self
            .endpoint
            .connect_with(self.client.clone(), addr, &self.server_name)
            .map_err(|e| match e {
                quinn::ConnectError::EndpointStopping => LinkError::Closed,
                e => LinkError::Config(e.to_string()),
            })?;
        let connection = connecting.await.map_err(LinkError::connecting)?;
        let peer = authenticated_peer(&connection, &self.trust).ok_or_else(|| {
            LinkError::Protocol("the peer's certificate is not in the trust list".to_owned())
        })?;
        let version = frame_version(&connection);
        Ok(Live {
            connection,
            peer,
            version,
        })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.endpoint.close(CLOSE_BY_OWNER, b"closed");
    }
}

/// The trusted peer behind a connection's verified certificate.
pub(crate) fn authenticated_peer(
    connection: &Connection,
    trust: &TrustStore,
) -> Option<PeerIdentity> {
    let identity = connection.peer_identity()?;
    let certificates = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .ok()?;
    trust.peer_for(certificates.first()?)
}

impl LinkClient for Link {
    fn peer(&self) -> BankId {
        Link::peer(self)
    }

    fn request(&self, payload: Vec<u8>) -> LinkFuture<'_, Vec<u8>> {
        Box::pin(Link::request(self, payload))
    }

    fn send(&self, payload: Vec<u8>) -> LinkFuture<'_, ()> {
        Box::pin(Link::send(self, payload))
    }
}

/// The first of the peer's addresses, which gives the local socket its family.
fn first_addr(config: &LinkConfig) -> Result<SocketAddr, LinkError> {
    config
        .peer_addrs
        .first()
        .copied()
        .ok_or_else(|| LinkError::Config("the peer has no address".to_owned()))
}

/// Refuses a list of peer addresses a link cannot use: none, too many, or of two families (one
/// local socket reaches them all).
fn check_addrs(addrs: &[SocketAddr]) -> Result<(), LinkError> {
    let Some(first) = addrs.first() else {
        return Err(LinkError::Config("the peer has no address".to_owned()));
    };
    if addrs.len() > PEER_ADDRS_MAX {
        return Err(LinkError::Config(format!(
            "the peer has {} addresses, more than {PEER_ADDRS_MAX}",
            addrs.len()
        )));
    }
    if addrs.iter().any(|addr| addr.is_ipv4() != first.is_ipv4()) {
        return Err(LinkError::Config(
            "the peer's addresses mix IPv4 and IPv6".to_owned(),
        ));
    }
    Ok(())
}

/// An ephemeral local address of the same family as `peer`.
fn unspecified_like(peer: SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    }
}
