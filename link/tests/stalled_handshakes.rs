//! A link server under a stalled-handshake attack still takes a trusted bank that connects
//! afresh: hundreds of handshakes that never finish, kept alive from 127.0.0.2, from one source
//! port and from many, while a bank on 127.0.0.1 opens new connections and is answered.
//!
//! Each test prints the honest bank's success rate and p99 latency without and with the attack,
//! measured in the same run; only the outcome (every call answered) is asserted.

mod common;
#[path = "support/stalled_handshakes.rs"]
mod stalled;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use semper_link::metrics::{LINK_CONNECTIONS, LINK_HANDSHAKES, LINK_HANDSHAKES_IN_PROGRESS};
use semper_link::{Identity, Link, LinkConfig, LinkServer, LinkServerConfig, Role};
use stalled::{Attack, AttackConfig, Figures};

/// Handshakes the attacker holds open: several times the server's 64 connection slots.
const ATTACK_HANDSHAKES: usize = 300;
/// How long the attacker runs before the honest bank starts measuring: every handshake is sent,
/// retried and held by then.
const ATTACK_RAMP: Duration = Duration::from_secs(2);
/// How long the honest bank makes calls in one phase: with the ramp, longer than the server's
/// handshake deadline, so that the attacker's handshakes meet it.
const PHASE: Duration = Duration::from_secs(4);
/// The pause between two calls of the honest bank.
const CALL_INTERVAL: Duration = Duration::from_millis(50);
/// The honest bank's timeout on one call, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

const ATTACKER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// A fresh link per call (a bank that restarts, or whose link was dropped), one request each.
async fn honest_calls(config: &LinkConfig, expected: &[u8]) -> Figures {
    let end = Instant::now() + PHASE;
    let mut figures = Figures::default();
    while Instant::now() < end {
        let started = Instant::now();
        let ok = match Link::open(config.clone()) {
            Ok(link) => link
                .request(b"ping".to_vec())
                .await
                .is_ok_and(|answer| answer == expected),
            Err(_) => false,
        };
        figures.record(started.elapsed(), ok);
        tokio::time::sleep(CALL_INTERVAL).await;
    }
    figures
}

/// One attack at a time, so that each test measures its own.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The series `name{labels}` in a Prometheus text, 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Starts the issuer's server with its metrics in a recorder of its own.
fn issuer_server(issuer: &Identity, acquirer: &Identity) -> (LinkServer, PrometheusHandle) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let (handler, _one_way) = TestHandler::new();
    // The server takes its metric handles when it binds.
    let server = metrics::with_local_recorder(&recorder, || {
        LinkServer::bind(
            loopback(),
            LinkServerConfig::new(issuer.clone(), trust(&[(acquirer, &[Role::Acquirer])])),
            handler,
        )
        .unwrap()
    });
    (server, handle)
}

async fn a_fresh_peer_is_served_during_the_attack(name: &str, sockets: usize) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (issuer, acquirer) = (identity(1), identity(2));
    let (server, metrics) = issuer_server(&issuer, &acquirer);
    let mut config = link_config(
        server.local_addr(),
        issuer.bank(),
        &acquirer,
        trust(&[(&issuer, &[Role::Issuer])]),
    );
    config.limits.request_timeout = CALL_TIMEOUT;
    let expected = echoed(acquirer.bank(), b"ping");

    let quiet = honest_calls(&config, &expected).await;
    let attack = Attack::start(AttackConfig {
        target: server.local_addr(),
        source: ATTACKER,
        handshakes: ATTACK_HANDSHAKES,
        sockets,
        alpn: b"semper-link/1".to_vec(),
    });
    tokio::time::sleep(ATTACK_RAMP).await;
    let attacked = honest_calls(&config, &expected).await;
    let sent = attack.datagrams_sent();
    drop(attack);

    let text = metrics.render();
    println!(
        "stalled handshakes, {name} ({ATTACK_HANDSHAKES} handshakes, {sockets} source ports, \
         {sent} datagrams): {}; {}",
        quiet.line("without attack"),
        attacked.line("under attack")
    );
    assert!(
        sent as usize > 2 * ATTACK_HANDSHAKES,
        "the attack re-sent its handshakes"
    );
    assert_eq!(
        quiet.success_rate(),
        1.0,
        "{}",
        quiet.line("without attack")
    );
    assert_eq!(
        attacked.success_rate(),
        1.0,
        "{}",
        attacked.line("under attack")
    );
    // The attack showed in the server's metrics, not only in its logs.
    for result in ["retried", "refused_address", "timed_out", "authenticated"] {
        let series = format!("{LINK_HANDSHAKES}{{result=\"{result}\"}}");
        assert!(value(&text, &series) > 0.0, "{series} in {text}");
    }
    assert_eq!(
        value(&text, &format!("{LINK_CONNECTIONS}{{result=\"accepted\"}}")) as usize,
        quiet.calls + attacked.calls,
        "every honest call took a slot, and nothing else did"
    );
    assert!(value(&text, LINK_HANDSHAKES_IN_PROGRESS) <= 8.0 + 1.0);
    server.shutdown(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshakes_from_one_source_port_do_not_keep_a_restarted_peer_out() {
    bounded(a_fresh_peer_is_served_during_the_attack(
        "one source port",
        1,
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshakes_from_many_source_ports_do_not_keep_a_restarted_peer_out() {
    stalled::raise_open_files_limit(4096);
    bounded(a_fresh_peer_is_served_during_the_attack(
        "many source ports",
        ATTACK_HANDSHAKES,
    ))
    .await;
}
