//! Shared test fixtures: banks, identities, trust lists, a test handler and a server.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use semper_link::{
    Backoff, Handler, HandlerFuture, Identity, Limits, LinkConfig, LinkServer, LinkServerConfig,
    PeerIdentity, RemoteError, Role, RoleSet, TrustStore, TrustedPeer, Validity,
};
use semper_protocol::ids::BankId;
use tokio::sync::mpsc;

/// The bound on every test: none may hang.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A day, for validity windows.
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// A bank id made of one repeated byte.
pub fn bank(n: u8) -> BankId {
    BankId([n; 16])
}

/// A fresh identity valid from an hour ago for a day.
pub fn identity(n: u8) -> Identity {
    Identity::generate(bank(n), Validity::starting_now(DAY)).unwrap()
}

/// An identity whose certificate expired yesterday.
pub fn expired_identity(n: u8) -> Identity {
    let now = SystemTime::now();
    let validity = Validity {
        not_before: now - 2 * DAY,
        not_after: now - DAY,
    };
    Identity::generate(bank(n), validity).unwrap()
}

/// A trust list pinning each identity's certificate with the given roles.
pub fn trust(peers: &[(&Identity, &[Role])]) -> Arc<TrustStore> {
    let peers = peers.iter().map(|(identity, roles)| TrustedPeer {
        bank: identity.bank(),
        roles: RoleSet::of(roles),
        certificate: identity.certificate().clone(),
    });
    Arc::new(TrustStore::new(peers).unwrap())
}

/// Where the test handler puts one-way messages, with their senders.
pub type OneWayReceiver = mpsc::Receiver<(PeerIdentity, Vec<u8>)>;

/// What the test handler does, by payload:
/// - `hang`: never answers;
/// - `fail:<code>`: answers the final error `<code>`;
/// - `retry:<code>`: answers the retryable error `<code>`;
/// - `clearing-only`: refuses a peer not trusted as a clearing house;
/// - anything else: answers the peer's bank id followed by the payload.
///
/// One-way messages go to a channel, with their sender.
pub struct TestHandler {
    one_way: mpsc::Sender<(PeerIdentity, Vec<u8>)>,
}

impl TestHandler {
    /// A handler and the receiver of its one-way messages.
    pub fn new() -> (Arc<Self>, OneWayReceiver) {
        let (one_way, received) = mpsc::channel(1024);
        (Arc::new(Self { one_way }), received)
    }
}

impl Handler for TestHandler {
    fn request(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>> {
        Box::pin(async move {
            if payload == b"hang" {
                std::future::pending::<()>().await;
            }
            if let Some(code) = payload.strip_prefix(b"fail:") {
                let code = String::from_utf8_lossy(code).into_owned();
                return Err(RemoteError::new(code, "refused on purpose"));
            }
            if let Some(code) = payload.strip_prefix(b"retry:") {
                let code = String::from_utf8_lossy(code).into_owned();
                return Err(RemoteError::retryable(code, "refused for now"));
            }
            if payload == b"clearing-only" && !peer.has_role(Role::Clearing) {
                return Err(RemoteError::new(
                    "link.wrong_role",
                    "only a clearing house may ask",
                ));
            }
            Ok([&peer.bank().0[..], &payload].concat())
        })
    }

    fn one_way(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<()> {
        let one_way = self.one_way.clone();
        Box::pin(async move {
            one_way
                .try_send((peer, payload))
                .map_err(|e| RemoteError::new("test.full", e.to_string()))
        })
    }
}

/// The expected answer of the test handler to `payload` from `peer`.
pub fn echoed(peer: BankId, payload: &[u8]) -> Vec<u8> {
    [&peer.0[..], payload].concat()
}

/// Starts a server for `identity`, trusting `trust`, on `addr`.
pub fn server(
    addr: SocketAddr,
    identity: &Identity,
    trust: Arc<TrustStore>,
    handler: Arc<dyn Handler>,
) -> LinkServer {
    LinkServer::bind(
        addr,
        LinkServerConfig::new(identity.clone(), trust),
        handler,
    )
    .unwrap()
}

/// 127.0.0.1, port 0.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A link config with short bounds, for tests.
pub fn link_config(
    addr: SocketAddr,
    peer: BankId,
    identity: &Identity,
    trust: Arc<TrustStore>,
) -> LinkConfig {
    LinkConfig {
        limits: Limits {
            request_timeout: Duration::from_secs(3),
            max_in_flight: 64,
        },
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        connect_timeout: Duration::from_millis(500),
        ..LinkConfig::new(addr, peer, identity.clone(), trust)
    }
}

/// Runs a test body within [`TEST_TIMEOUT`].
pub async fn bounded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("the test ran past its time bound")
}

/// The code and retryable bit of a remote error, or what came instead.
pub fn remote_refusal(
    answer: Result<Vec<u8>, semper_link::LinkError>,
) -> Result<(String, bool), String> {
    match answer {
        Err(semper_link::LinkError::Remote {
            code, retryable, ..
        }) => Ok((code, retryable)),
        other => Err(format!("expected a remote error, got {other:?}")),
    }
}
