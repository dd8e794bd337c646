//! semper-link's QUIC settlement link over emulated ATM circuits: in process and over UDP on
//! loopback, with cell loss, header errors, delay and delay variation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use semper_atm::{
    AtmSocket, AtmStats, CircuitConfig, ContractConfig, ContractKind, Enforcement, HeaderFormat,
    ImpairmentConfig, LineRate,
};
use semper_link::{
    Backoff, Handler, HandlerFuture, Identity, Limits, Link, LinkConfig, LinkServer,
    LinkServerConfig, LinkSocket, PeerIdentity, Role, RoleSet, TrustStore, TrustedPeer, Validity,
};
use semper_protocol::ids::BankId;
use tokio::task::JoinSet;

/// The bound on each test.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Requests per test, each with its own payload.
const REQUESTS: usize = 300;
/// Bytes of each request: several cells per frame, so a lost cell drops a multi-cell frame.
const REQUEST_BYTES: usize = 400;
/// A day, for certificate validity.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Answers the payload reversed and counts the calls for each payload.
#[derive(Default)]
struct CountingHandler {
    calls: Mutex<HashMap<Vec<u8>, u32>>,
}

impl Handler for CountingHandler {
    fn request(&self, _peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>> {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(payload.clone()).or_default() += 1;
        }
        Box::pin(async move { Ok(payload.into_iter().rev().collect()) })
    }

    fn one_way(&self, _peer: PeerIdentity, _payload: Vec<u8>) -> HandlerFuture<()> {
        Box::pin(async { Ok(()) })
    }
}

fn identity(n: u8) -> Identity {
    Identity::generate(BankId([n; 16]), Validity::starting_now(DAY)).unwrap()
}

fn trust(identity: &Identity, role: Role) -> Arc<TrustStore> {
    let peer = TrustedPeer {
        bank: identity.bank(),
        roles: RoleSet::of(&[role]),
        certificate: identity.certificate().clone(),
    };
    Arc::new(TrustStore::new([peer]).unwrap())
}

/// OC-3c with a lossy (1 cell in 200), noisy, jittery line, shaped to the line rate.
fn lossy_oc3c() -> CircuitConfig {
    CircuitConfig {
        line: LineRate::Oc3c,
        impairments: ImpairmentConfig {
            delay_ms: 2,
            cdv_us: 200,
            cell_loss_ratio: 5e-3,
            header_bit_error_rate: 1e-4,
        },
        seed: 2026,
        ..CircuitConfig::default()
    }
}

fn payload(i: usize) -> Vec<u8> {
    let mut payload = format!("settle batch {i:05} ").into_bytes();
    payload.resize(REQUEST_BYTES, (i % 251) as u8);
    payload
}

/// OC-12c on an NNI channel, with a shaped VBR contract well below the line rate.
fn shaped_vbr_oc12c() -> CircuitConfig {
    CircuitConfig {
        line: LineRate::Oc12c,
        vpi: 1000,
        vci: 77,
        header_format: HeaderFormat::Nni,
        contract: ContractConfig {
            kind: ContractKind::Vbr,
            pcr_cells_per_s: Some(200_000),
            cdvt_us: 10,
            scr_cells_per_s: Some(50_000),
            mbs_cells: Some(64),
            enforcement: Enforcement::Shape,
        },
        impairments: ImpairmentConfig {
            delay_ms: 1,
            cdv_us: 50,
            cell_loss_ratio: 5e-3,
            header_bit_error_rate: 1e-4,
        },
        seed: 7,
    }
}

/// Runs [`REQUESTS`] requests from a client on `client_socket` to a server on
/// `server_socket`, and checks that each got its own answer and was handled exactly once.
async fn settle_over(client_socket: Arc<AtmSocket>, server_socket: Arc<AtmSocket>) {
    let (issuer, acquirer) = (identity(1), identity(2));
    let handler = Arc::new(CountingHandler::default());
    let server_addr: SocketAddr = server_socket.local_addr();
    let server = LinkServer::bind(
        LinkSocket::Custom(server_socket.clone()),
        LinkServerConfig::new(issuer.clone(), trust(&acquirer, Role::Acquirer)),
        handler.clone(),
    )
    .unwrap();
    let config = LinkConfig {
        limits: Limits {
            request_timeout: Duration::from_secs(20),
            max_in_flight: 32,
        },
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        connect_timeout: Duration::from_secs(5),
        ..LinkConfig::new(
            server_addr,
            issuer.bank(),
            acquirer,
            trust(&issuer, Role::Issuer),
        )
    };
    let link = Link::connect_on(LinkSocket::Custom(client_socket.clone()), config)
        .await
        .unwrap();
    let mut requests = JoinSet::new();
    for i in 0..REQUESTS {
        let link = link.clone();
        requests.spawn(async move { (i, link.request(payload(i)).await) });
    }
    let mut answered = 0;
    while let Some(joined) = requests.join_next().await {
        let (i, answer) = joined.unwrap();
        let expected: Vec<u8> = payload(i).into_iter().rev().collect();
        assert_eq!(answer.unwrap(), expected, "request {i}");
        answered += 1;
    }
    assert_eq!(answered, REQUESTS);
    {
        let calls = handler.calls.lock().unwrap();
        assert_eq!(calls.len(), REQUESTS);
        for i in 0..REQUESTS {
            assert_eq!(calls.get(&payload(i)), Some(&1), "request {i} handled once");
        }
    }
    link.close().await;
    server.shutdown(Duration::from_secs(1)).await;

    let (client, server) = (client_socket.stats(), server_socket.stats());
    check_counters(&client, &server);
}

/// What the counters must show after the run.
fn check_counters(client: &AtmStats, server: &AtmStats) {
    for (name, stats) in [("client", client), ("server", server)] {
        assert!(
            stats.frames_sent > REQUESTS as u64 / 10,
            "{name} sent frames"
        );
        assert!(stats.cells_sent >= stats.frames_sent, "{name} sent cells");
        assert!(stats.frames_reassembled > 0, "{name} reassembled frames");
        assert_eq!(stats.cells_policed, 0, "{name}: shaping never polices");
    }
    let lost = client.cells_lost + server.cells_lost;
    let dropped = client.frames_dropped + server.frames_dropped;
    // Each lost cell costs at most two frames (its own, and the next if it ended a frame),
    // and nothing else drops frames but cells dropped for their headers.
    // At a cell-loss ratio of 5e-3 over thousands of cells, losses are certain in practice
    // (none at all has a probability below e^-20), and QUIC recovered every frame they cost.
    assert!(
        lost > 0 && dropped > 0,
        "the line lost cells and the frames they were in"
    );
    let hec_dropped = client.cells_hec_dropped
        + server.cells_hec_dropped
        + client.cells_misrouted
        + server.cells_misrouted;
    assert!(
        dropped <= 2 * (lost + hec_dropped),
        "{dropped} frames dropped, {lost} cells lost"
    );
    // Cells that reach the far end are all counted there (none are in flight at the end).
    let arrived = client.cells_sent - client.cells_lost;
    assert!(server.cells_received <= arrived);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_over_an_in_process_circuit() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let (client, server) = AtmSocket::pair(lossy_oc3c()).unwrap();
        settle_over(client, server).await;
    })
    .await
    .expect("the test ran past its time bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_over_udp_cells_on_loopback() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = AtmSocket::bind_udp(loopback, lossy_oc3c()).unwrap();
        let client = AtmSocket::bind_udp(loopback, lossy_oc3c()).unwrap();
        settle_over(client, server).await;
    })
    .await
    .expect("the test ran past its time bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_over_a_shaped_vbr_circuit() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = AtmSocket::bind_udp(loopback, shaped_vbr_oc12c()).unwrap();
        let client = AtmSocket::bind_udp(loopback, shaped_vbr_oc12c()).unwrap();
        settle_over(client, server).await;
    })
    .await
    .expect("the test ran past its time bound");
}
