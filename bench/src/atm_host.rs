//! A thread that runs emulated ATM sockets' tasks (pacers, UDP cell receivers) on its own tokio
//! runtime, so that the emulated line keeps its pace while the nodes' threads are busy: a real
//! line delivers into the host's buffers whatever its application is doing.

use std::net::SocketAddr;
use std::sync::Arc;

use semper_atm::{AtmSocket, CircuitConfig};

/// The loopback address, any port: where every emulated circuit end of a run binds its cells.
const LOOPBACK_ANY_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Where Linux counts the host's UDP datagrams dropped for a full receive buffer.
const UDP_SNMP_PATH: &str = "/proc/net/snmp";

/// The host's UDP datagrams dropped so far because a socket's receive buffer was full (every
/// socket of the host, not only this run's), if the host tells.
pub fn udp_receive_buffer_drops() -> Option<u64> {
    let snmp = std::fs::read_to_string(UDP_SNMP_PATH).ok()?;
    let mut udp = snmp.lines().filter(|line| line.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let column = names
        .split_whitespace()
        .position(|name| name == "RcvbufErrors")?;
    values.split_whitespace().nth(column)?.parse().ok()
}

/// A thread driving a current-thread tokio runtime, on which ATM sockets are made.
pub struct AtmHost {
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AtmHost {
    /// Starts the thread and its runtime.
    pub fn start() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("atm-host".to_owned())
            .spawn(move || {
                // Runs every task spawned on the runtime until the host stops.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Self {
            runtime: handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// A socket whose cells travel over UDP on loopback (any free port), its tasks on this
    /// host.
    pub fn bind(&self, config: CircuitConfig) -> anyhow::Result<Arc<AtmSocket>> {
        let _entered = self.runtime.enter();
        Ok(AtmSocket::bind_udp(LOOPBACK_ANY_PORT, config)?)
    }
}

impl Drop for AtmHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
