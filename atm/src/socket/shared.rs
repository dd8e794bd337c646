//! What a socket, its poller and its tasks share: the circuits, the receive queue and the
//! wakers, behind one lock.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{CIRCUITS_MAX, RECV_QUEUE_MAX_DATAGRAMS};
use crate::cell::CellBytes;
use crate::circuit::Circuit;
use crate::config::CircuitConfig;
use crate::llc;
use crate::stats::{AtmStats, MetricsExporter};

/// What the socket, its poller and its tasks share.
pub(super) struct Shared {
    /// The address peers reach this socket at.
    pub(super) local_addr: SocketAddr,
    /// The only remote address an in-process end talks to.
    pub(super) only_peer: Option<SocketAddr>,
    /// The config every circuit of this socket is made from (validated).
    pub(super) config: CircuitConfig,
    /// The first impairment stream of this socket's circuits.
    pub(super) stream_base: u64,
    /// Time zero of the circuits' nanosecond clock.
    pub(super) epoch: Instant,
    pub(super) state: Mutex<State>,
    /// Wakes the pacer when cells were queued.
    pub(super) pacer: Notify,
}

/// The mutable part, behind the lock.
pub(super) struct State {
    /// One circuit per remote address, at most `CIRCUITS_MAX`.
    pub(super) circuits: HashMap<SocketAddr, Circuit>,
    /// The impairment stream of the next circuit, after `stream_base`.
    pub(super) next_stream: u64,
    /// Reassembled datagrams and their sources, at most `RECV_QUEUE_MAX_DATAGRAMS`.
    pub(super) received: VecDeque<(SocketAddr, Vec<u8>)>,
    /// quinn's receiving task, waiting for a datagram.
    pub(super) recv_waker: Option<Waker>,
    /// Pollers waiting for room in the shaping queues (one per quinn task at most).
    pub(super) writers: Vec<Waker>,
    /// Counters of the socket itself (datagrams), beside the circuits'.
    pub(super) own: AtmStats,
    pub(super) exporter: MetricsExporter,
}

impl Shared {
    pub(super) fn new(
        local_addr: SocketAddr,
        only_peer: Option<SocketAddr>,
        config: CircuitConfig,
        stream_base: u64,
    ) -> Arc<Self> {
        Arc::new(Self {
            local_addr,
            only_peer,
            config,
            stream_base,
            epoch: Instant::now(),
            state: Mutex::new(State {
                circuits: HashMap::new(),
                next_stream: 0,
                received: VecDeque::new(),
                recv_waker: None,
                writers: Vec::new(),
                own: AtmStats::default(),
                exporter: MetricsExporter::new(local_addr.to_string()),
            }),
            pacer: Notify::new(),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters and queues usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Nanoseconds since this socket was made: the circuits' clock.
    pub(super) fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Takes cells that arrived from `from`.
    pub(super) fn receive_cells(&self, from: SocketAddr, cells: &[CellBytes]) {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(circuit) = state.circuit(self, from) else {
            state.own.datagrams_unroutable += 1;
            return;
        };
        let mut frames = Vec::new();
        for cell in cells {
            circuit.receive(cell, &mut frames);
        }
        for frame in frames {
            match llc::decapsulate(&frame) {
                Ok((_, datagram)) if state.received.len() < RECV_QUEUE_MAX_DATAGRAMS => {
                    state.received.push_back((from, datagram.to_vec()));
                }
                _ => state.own.datagrams_rejected += 1,
            }
        }
        if !state.received.is_empty()
            && let Some(waker) = state.recv_waker.take()
        {
            waker.wake();
        }
        state.export();
    }
}

impl State {
    /// The circuit to `remote`, made if there is room and the socket may talk to it.
    pub(super) fn circuit(&mut self, shared: &Shared, remote: SocketAddr) -> Option<&mut Circuit> {
        if shared.only_peer.is_some_and(|peer| peer != remote) {
            return None;
        }
        if !self.circuits.contains_key(&remote) {
            if self.circuits.len() >= CIRCUITS_MAX {
                return None;
            }
            let stream = shared.stream_base + self.next_stream;
            // The config was validated when the socket was made.
            let circuit = Circuit::new(&shared.config, stream).ok()?;
            self.next_stream += 1;
            self.circuits.insert(remote, circuit);
        }
        self.circuits.get_mut(&remote)
    }

    /// Whether every circuit can take a frame: what a writable socket means.
    pub(super) fn has_room(&self, now_ns: u64) -> bool {
        self.circuits.values().all(|c| c.has_room(now_ns))
    }

    pub(super) fn totals(&self) -> AtmStats {
        let mut totals = self.own;
        for circuit in self.circuits.values() {
            totals.add(&circuit.stats());
        }
        totals
    }

    pub(super) fn export(&mut self) {
        let totals = self.totals();
        self.exporter.export(&totals);
    }
}
