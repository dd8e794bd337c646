//! The socket's tasks: the pacer, which releases cells when they reach the far end, and the
//! UDP receiver.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::shared::Shared;
use crate::carrier::{self, CARRIER_DATAGRAM_MAX_BYTES};
use crate::cell::CellBytes;
use crate::circuit::Circuit;

/// How long the UDP receiver pauses after a receive error.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(1);
/// How often a blocked sender is re-checked for room while cells wait to depart.
const WRITER_RECHECK: Duration = Duration::from_millis(1);

/// Where released cells go.
pub(super) enum Delivery {
    /// Straight into the other end of an in-process pair.
    InProcess(Arc<Shared>),
    /// Over UDP to the remote address of each circuit.
    Udp(Arc<UdpSocket>),
}

/// Releases cells when they reach the far end, and wakes blocked writers when room frees up.
pub(super) async fn pacer(shared: Arc<Shared>, delivery: Delivery) {
    let mut batches: Vec<(SocketAddr, Vec<CellBytes>)> = Vec::new();
    loop {
        let now_ns = shared.now_ns();
        let (next_ns, writers_waiting, writers) = {
            let mut state = shared.lock();
            for (remote, circuit) in state.circuits.iter_mut() {
                let mut cells = Vec::new();
                circuit.release(now_ns, &mut cells);
                if !cells.is_empty() {
                    batches.push((*remote, cells));
                }
            }
            let next_ns = state
                .circuits
                .values()
                .filter_map(Circuit::next_arrival_ns)
                .min();
            let writers = if !state.writers.is_empty() && state.has_room(now_ns) {
                std::mem::take(&mut state.writers)
            } else {
                Vec::new()
            };
            state.export();
            (next_ns, !state.writers.is_empty(), writers)
        };
        for writer in writers {
            writer.wake();
        }
        for (remote, cells) in batches.drain(..) {
            match &delivery {
                Delivery::InProcess(peer) => peer.receive_cells(shared.local_addr, &cells),
                Delivery::Udp(udp) => {
                    for datagram in carrier::encode(&cells) {
                        if let Err(error) = udp.send_to(&datagram, remote).await {
                            // Cells the host could not send are lost, like cells on a cut line.
                            tracing::debug!(%remote, %error, "ATM cell datagram not sent");
                        }
                    }
                }
            }
        }
        let mut deadline = next_ns.map(|ns| shared.epoch + Duration::from_nanos(ns));
        if writers_waiting {
            let recheck = Instant::now() + WRITER_RECHECK;
            deadline = Some(deadline.map_or(recheck, |d| d.min(recheck)));
        }
        match deadline {
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = shared.pacer.notified() => {}
                }
            }
            None => shared.pacer.notified().await,
        }
    }
}

/// Reads cell datagrams from the UDP socket and hands their cells to the circuits.
pub(super) async fn receive_udp(shared: Arc<Shared>, udp: Arc<UdpSocket>) {
    // One byte over the largest carrier datagram, so a longer one shows up as malformed.
    let mut buf = vec![0u8; CARRIER_DATAGRAM_MAX_BYTES + 1];
    loop {
        let (len, from) = match udp.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // E.g. ICMP port unreachable from an earlier send: transient on UDP.
                tracing::debug!(%error, "ATM cell datagram not received");
                // Not a hot loop if the error persists.
                tokio::time::sleep(RECV_ERROR_PAUSE).await;
                continue;
            }
        };
        match carrier::decode(&buf[..len]) {
            Ok(cells) => shared.receive_cells(from, &cells),
            Err(error) => {
                tracing::debug!(%from, %error, "malformed ATM cell datagram");
                shared.lock().own.datagrams_rejected += 1;
            }
        }
    }
}
