//! `AtmSocket`: a quinn socket over emulated ATM circuits (classical IP over ATM), the thin IO
//! shell around [`Circuit`].
//!
//! Each QUIC datagram gets an RFC 2684 LLC/SNAP header and becomes one AAL5 frame on the
//! circuit to its destination. A pacer task releases cells when their arrival time has come
//! (in batches: tokio's timers tick about once a millisecond) and hands them to the far end,
//! in process or as UDP datagrams on loopback. Arriving cells go through the HEC check and
//! reassembly; the frames' datagrams wait in a bounded queue for quinn.

mod shared;
mod tasks;

use std::fmt;
use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};
use tokio::net::UdpSocket;
use tokio::task::AbortHandle;

use crate::circuit::{Circuit, SendError};
use crate::config::CircuitConfig;
use crate::llc;
use crate::stats::AtmStats;
use shared::Shared;
use tasks::{Delivery, pacer, receive_udp};

/// The most circuits (distinct remote addresses) one socket keeps.
pub const CIRCUITS_MAX: usize = 64;
/// The most reassembled datagrams waiting for quinn; more are dropped, as UDP would.
pub const RECV_QUEUE_MAX_DATAGRAMS: usize = 1_024;
/// The two ends of an in-process pair: virtual loopback addresses, never bound.
pub const PAIR_ADDRS: [SocketAddr; 2] = [
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 53, 1)), 5301),
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 53, 2)), 5302),
];
/// Seed streams of the two pair ends, and the base of a UDP end's (plus its port).
const STREAM_STRIDE: u64 = 1 << 32;
/// The receive buffer a UDP end asks the host for (Linux grants at most `net.core.rmem_max`):
/// about 100 ms of OC-3c's cells. A line delivers whatever its far end's host is doing; with the
/// host's default (208 KB, about 6 ms of OC-3c) a socket task descheduled for longer on a busy
/// host loses cells the emulated line never lost (BENCHMARKS.md, issue 23).
pub const CARRIER_RECV_BUFFER_BYTES: usize = 4 << 20;

/// A quinn socket whose datagrams cross emulated ATM circuits.
pub struct AtmSocket {
    shared: Arc<Shared>,
    tasks: Vec<AbortHandle>,
}

impl AtmSocket {
    /// An in-process circuit between two sockets, at [`PAIR_ADDRS`]; must run inside a tokio
    /// runtime. Each end draws its own impairments from `config.seed`.
    pub fn pair(config: CircuitConfig) -> io::Result<(Arc<AtmSocket>, Arc<AtmSocket>)> {
        config.validate().map_err(invalid)?;
        let [a_addr, b_addr] = PAIR_ADDRS;
        let a = Shared::new(a_addr, Some(b_addr), config.clone(), 0);
        let b = Shared::new(b_addr, Some(a_addr), config, STREAM_STRIDE);
        let a_task = spawn(pacer(a.clone(), Delivery::InProcess(b.clone())))?;
        let b_task = spawn(pacer(b.clone(), Delivery::InProcess(a.clone())))?;
        Ok((
            Arc::new(AtmSocket {
                shared: a,
                tasks: vec![a_task],
            }),
            Arc::new(AtmSocket {
                shared: b,
                tasks: vec![b_task],
            }),
        ))
    }

    /// A socket whose cells travel in UDP datagrams from `cell_addr`; must run inside a tokio
    /// runtime. A QUIC peer's address is its cell address; each remote address gets its own
    /// circuit (shaper, impairments, reassembler) on the configured channel.
    pub fn bind_udp(cell_addr: SocketAddr, config: CircuitConfig) -> io::Result<Arc<AtmSocket>> {
        config.validate().map_err(invalid)?;
        tokio::runtime::Handle::try_current().map_err(|e| io::Error::other(e.to_string()))?;
        let std_socket = std::net::UdpSocket::bind(cell_addr)?;
        std_socket.set_nonblocking(true)?;
        // Best effort: a host that grants less still runs, with the buffer it gives.
        let _ = socket2::SockRef::from(&std_socket).set_recv_buffer_size(CARRIER_RECV_BUFFER_BYTES);
        let udp = Arc::new(UdpSocket::from_std(std_socket)?);
        let local_addr = udp.local_addr()?;
        let stream_base = STREAM_STRIDE * (2 + u64::from(local_addr.port()));
        let shared = Shared::new(local_addr, None, config, stream_base);
        let pacer_task = spawn(pacer(shared.clone(), Delivery::Udp(udp.clone())))?;
        let receiver_task = spawn(receive_udp(shared.clone(), udp))?;
        Ok(Arc::new(AtmSocket {
            shared,
            tasks: vec![pacer_task, receiver_task],
        }))
    }

    /// The address peers reach this socket at (for a UDP socket, its cell address).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The counters of every circuit of this socket, summed, and the socket's own.
    pub fn stats(&self) -> AtmStats {
        self.shared.lock().totals()
    }

    /// The counters of the circuit to `remote`, if there is one.
    pub fn circuit_stats(&self, remote: SocketAddr) -> Option<AtmStats> {
        self.shared.lock().circuits.get(&remote).map(Circuit::stats)
    }
}

impl Drop for AtmSocket {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl fmt::Debug for AtmSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtmSocket")
            .field("local_addr", &self.shared.local_addr)
            .finish_non_exhaustive()
    }
}

fn invalid(error: crate::config::ConfigError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, error)
}

fn spawn(task: impl Future<Output = ()> + Send + 'static) -> io::Result<AbortHandle> {
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|e| io::Error::other(e.to_string()))?;
    Ok(runtime.spawn(task).abort_handle())
}

impl AsyncUdpSocket for AtmSocket {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        Box::pin(AtmPoller {
            shared: self.shared.clone(),
        })
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        let shared = &self.shared;
        let now_ns = shared.now_ns();
        let mut state = shared.lock();
        let state = &mut *state;
        let destination = transmit.destination;
        let Some(circuit) = state.circuit(shared, destination) else {
            // No route: dropped, as UDP drops what it cannot deliver.
            state.own.datagrams_unroutable += 1;
            return Ok(());
        };
        let segment_bytes = transmit
            .segment_size
            .unwrap_or(transmit.contents.len())
            .max(1);
        let ether_type = llc::ether_type_for(destination);
        let mut rejected = 0;
        for (i, datagram) in transmit.contents.chunks(segment_bytes).enumerate() {
            let pdu = llc::encapsulate(ether_type, datagram);
            match circuit.send_frame(&pdu, now_ns) {
                Ok(()) => {}
                Err(SendError::Busy) if i == 0 => {
                    state.own.datagrams_blocked += 1;
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                // Later segments of a batch past the bound, or a datagram too large for AAL5.
                Err(_) => rejected += 1,
            }
        }
        state.own.datagrams_rejected += rejected;
        shared.pacer.notify_one();
        Ok(())
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let mut state = self.shared.lock();
        let mut filled = 0;
        for (buf, meta) in bufs.iter_mut().zip(meta.iter_mut()) {
            let Some((from, datagram)) = state.received.pop_front() else {
                break;
            };
            // quinn's buffers hold its largest datagram; a longer one is cut, as UDP would.
            let len = datagram.len().min(buf.len());
            buf[..len].copy_from_slice(&datagram[..len]);
            *meta = RecvMeta {
                addr: from,
                len,
                stride: len,
                ecn: None,
                dst_ip: Some(self.shared.local_addr.ip()),
            };
            filled += 1;
        }
        if filled > 0 {
            return Poll::Ready(Ok(filled));
        }
        state.recv_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.shared.local_addr)
    }

    fn may_fragment(&self) -> bool {
        false
    }

    fn max_transmit_segments(&self) -> usize {
        // One datagram per transmit: each is its own AAL5 frame.
        1
    }
}

/// Tells quinn when the socket can take a datagram again.
struct AtmPoller {
    shared: Arc<Shared>,
}

impl fmt::Debug for AtmPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtmPoller").finish_non_exhaustive()
    }
}

impl UdpPoller for AtmPoller {
    fn poll_writable(self: Pin<&mut Self>, cx: &mut Context) -> Poll<io::Result<()>> {
        let now_ns = self.shared.now_ns();
        let mut state = self.shared.lock();
        if state.has_room(now_ns) {
            return Poll::Ready(Ok(()));
        }
        if !state.writers.iter().any(|w| w.will_wake(cx.waker())) {
            state.writers.push(cx.waker().clone());
        }
        drop(state);
        // The pacer re-checks room while writers wait.
        self.shared.pacer.notify_one();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::time::Duration;

    fn transmit(destination: SocketAddr, contents: &[u8]) -> Transmit<'_> {
        Transmit {
            destination,
            ecn: None,
            contents,
            segment_size: None,
            src_ip: None,
        }
    }

    async fn receive(socket: &AtmSocket) -> (SocketAddr, Vec<u8>) {
        let mut buf = vec![0u8; 4096];
        let mut meta = [RecvMeta::default()];
        let received = tokio::time::timeout(
            Duration::from_secs(5),
            poll_fn(|cx| {
                let mut bufs = [IoSliceMut::new(&mut buf)];
                socket.poll_recv(cx, &mut bufs, &mut meta)
            }),
        )
        .await
        .expect("a datagram within the bound");
        assert_eq!(received.unwrap(), 1);
        (meta[0].addr, buf[..meta[0].len].to_vec())
    }

    #[tokio::test]
    async fn a_pair_carries_datagrams_with_the_sender_as_source() {
        let (a, b) = AtmSocket::pair(CircuitConfig::default()).unwrap();
        assert_ne!(a.local_addr(), b.local_addr());
        a.try_send(&transmit(b.local_addr(), b"hello over ATM"))
            .unwrap();
        assert_eq!(
            receive(&b).await,
            (a.local_addr(), b"hello over ATM".to_vec())
        );
        b.try_send(&transmit(a.local_addr(), &[7u8; 1400])).unwrap();
        assert_eq!(receive(&a).await, (b.local_addr(), vec![7u8; 1400]));
        // 8-byte LLC/SNAP + 14 bytes in one cell; 8 + 1400 + 8 in 30 cells.
        assert_eq!(a.stats().cells_sent, 1);
        assert_eq!(b.stats().cells_sent, 30);
        assert_eq!(a.stats().frames_reassembled, 1);
    }

    #[tokio::test]
    async fn a_pair_drops_datagrams_to_other_addresses() {
        let (a, _b) = AtmSocket::pair(CircuitConfig::default()).unwrap();
        let elsewhere = SocketAddr::from(([127, 0, 0, 1], 9));
        a.try_send(&transmit(elsewhere, b"lost")).unwrap();
        assert_eq!(a.stats().datagrams_unroutable, 1);
        assert_eq!(a.stats().cells_sent, 0);
    }

    #[tokio::test]
    async fn udp_sockets_carry_datagrams_with_the_cell_address_as_source() {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let a = AtmSocket::bind_udp(loopback, CircuitConfig::default()).unwrap();
        let b = AtmSocket::bind_udp(loopback, CircuitConfig::default()).unwrap();
        a.try_send(&transmit(b.local_addr(), &[1u8; 3000])).unwrap();
        // 3 008 bytes take 63 cells, so three carrier datagrams (24 cells each at most).
        assert_eq!(receive(&b).await, (a.local_addr(), vec![1u8; 3000]));
        assert_eq!(b.circuit_stats(a.local_addr()).unwrap().cells_received, 63);
    }

    #[tokio::test]
    async fn a_full_shaping_queue_blocks_and_wakes_the_writer() {
        let mut config = CircuitConfig::default();
        // One cell per 100 µs: 10 cells a millisecond leave the shaping queue.
        config.contract.pcr_cells_per_s = Some(10_000);
        let (a, b) = AtmSocket::pair(config).unwrap();
        let datagram = [0u8; 1400];
        let mut accepted = 0;
        let blocked = loop {
            match a.try_send(&transmit(b.local_addr(), &datagram)) {
                Ok(()) => accepted += 1,
                Err(error) => break error,
            }
            assert!(accepted <= 1_000, "the shaping queue is bounded");
        };
        assert_eq!(blocked.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(a.stats().datagrams_blocked, 1);
        let mut poller = a.clone().create_io_poller();
        // The poller waits until the queue drains below its bound (a few milliseconds), and
        // is woken for it.
        tokio::time::timeout(
            Duration::from_secs(5),
            poll_fn(|cx| poller.as_mut().poll_writable(cx)),
        )
        .await
        .expect("woken within the bound")
        .unwrap();
        a.try_send(&transmit(b.local_addr(), &datagram)).unwrap();
    }
}
