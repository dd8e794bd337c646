//! One end of a permanent virtual circuit, sans-IO: frames in, timed cells out on the sending
//! side; cells in, frames out on the receiving side. Time is nanoseconds since any fixed epoch.
//!
//! Sending runs each cell through, in order: AAL5 segmentation, the line (one cell per cell
//! time), the traffic contract (shaping delays a cell until it conforms; policing drops it at
//! the network's edge), then the impairments (loss, header bit errors, delay and delay
//! variation). Cells wait in the in-flight queue until their arrival time at the far end.

use std::collections::VecDeque;

use thiserror::Error;

use crate::aal5::{Aal5Error, segment};
use crate::cell::{Cell, CellBytes, Received};
use crate::config::{CircuitConfig, ConfigError, ContractKind, Enforcement};
use crate::gcra::Conformance;
use crate::header::{HeaderFormat, VirtualCircuit};
use crate::impair::{Fate, ImpairmentParams, Impairments};
use crate::reassembly::{Reassembler, ReassemblyEvent};
use crate::stats::AtmStats;

/// The most cells waiting for their departure (shaping or line) before sends are refused.
pub const SHAPING_QUEUE_MAX_CELLS: usize = 8_192;
/// The most cells in flight (waiting to depart or on the line) before sends are refused.
pub const IN_FLIGHT_MAX_CELLS: usize = 262_144;

/// Nanoseconds per microsecond and per millisecond.
const NANOS_PER_US: u64 = 1_000;
const NANOS_PER_MS: u64 = 1_000_000;

/// Why a frame was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// The frame cannot be one AAL5 frame.
    #[error(transparent)]
    TooLarge(#[from] Aal5Error),
    /// The shaping queue is full: retry once cells have departed.
    #[error("the circuit's shaping queue is full")]
    Busy,
}

/// A cell on its way to the far end.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    departure_ns: u64,
    arrival_ns: u64,
    bytes: CellBytes,
}

/// One end of a circuit: the sending half towards the far end and the receiving half from it.
#[derive(Debug)]
pub struct Circuit {
    vc: VirtualCircuit,
    format: HeaderFormat,
    cell_time_ns: u64,
    enforcement: Enforcement,
    conformance: Conformance,
    /// When the line can take the next cell.
    line_free_ns: u64,
    impairments: Impairments,
    in_flight: VecDeque<InFlight>,
    reassembler: Reassembler,
    events: Vec<ReassemblyEvent>,
    stats: AtmStats,
}

impl Circuit {
    /// A circuit end as `config` describes it; `stream` picks this end's own impairment draws
    /// (the seed is `config.seed`).
    pub fn new(config: &CircuitConfig, stream: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let contract = &config.contract;
        let pcr = config.pcr_cells_per_s();
        let cdvt_ns = contract.cdvt_us * NANOS_PER_US;
        let conformance = match contract.kind {
            ContractKind::Cbr => Conformance::cbr(pcr, cdvt_ns),
            ContractKind::Vbr => Conformance::vbr(
                pcr,
                contract.scr_cells_per_s.unwrap_or(pcr),
                contract.mbs_cells.unwrap_or(1),
                cdvt_ns,
            ),
        };
        let impairments = &config.impairments;
        let params = ImpairmentParams {
            delay_ns: impairments.delay_ms * NANOS_PER_MS,
            cdv_ns: impairments.cdv_us * NANOS_PER_US,
            cell_loss_ratio: impairments.cell_loss_ratio,
            header_bit_error_rate: impairments.header_bit_error_rate,
        };
        let seed = config.seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Ok(Self {
            vc: VirtualCircuit {
                vpi: config.vpi,
                vci: config.vci,
            },
            format: config.header_format,
            cell_time_ns: config.line.cell_time_ns(),
            enforcement: contract.enforcement,
            conformance,
            line_free_ns: 0,
            impairments: Impairments::new(params, seed),
            in_flight: VecDeque::new(),
            reassembler: Reassembler::new(),
            events: Vec::new(),
            stats: AtmStats::default(),
        })
    }

    /// The channel this circuit runs on.
    pub fn vc(&self) -> VirtualCircuit {
        self.vc
    }

    /// The counters so far.
    pub fn stats(&self) -> AtmStats {
        self.stats
    }

    /// Cells still waiting to depart at `now_ns`.
    pub fn backlog_cells(&self, now_ns: u64) -> usize {
        self.in_flight.len() - self.in_flight.partition_point(|c| c.departure_ns <= now_ns)
    }

    /// Whether a frame may be sent at `now_ns`. A frame is taken whole, so the queues can
    /// exceed their bounds by at most one frame's cells.
    pub fn has_room(&self, now_ns: u64) -> bool {
        self.in_flight.len() < IN_FLIGHT_MAX_CELLS
            && self.backlog_cells(now_ns) < SHAPING_QUEUE_MAX_CELLS
    }

    /// Segments `payload` into one AAL5 frame and sends its cells, the first no earlier than
    /// `now_ns`; refused while there is no room.
    pub fn send_frame(&mut self, payload: &[u8], now_ns: u64) -> Result<(), SendError> {
        if !self.has_room(now_ns) {
            return Err(SendError::Busy);
        }
        let cells = segment(payload, self.vc)?;
        self.stats.frames_sent += 1;
        for cell in &cells {
            self.send_cell(cell, now_ns);
        }
        Ok(())
    }

    fn send_cell(&mut self, cell: &Cell, now_ns: u64) {
        // The header was checked against the format when the config was validated.
        let Ok(mut bytes) = cell.encode(self.format) else {
            return;
        };
        let ready_ns = now_ns.max(self.line_free_ns);
        let departure_ns = match self.enforcement {
            Enforcement::Shape => self.conformance.shape(ready_ns),
            Enforcement::Police => ready_ns,
        };
        self.line_free_ns = departure_ns.saturating_add(self.cell_time_ns);
        self.stats.cells_sent += 1;
        if self.enforcement == Enforcement::Police && !self.conformance.police(departure_ns) {
            self.stats.cells_policed += 1;
            return;
        }
        match self.impairments.apply(&mut bytes, departure_ns) {
            Fate::Lost => self.stats.cells_lost += 1,
            Fate::Arrives {
                arrival_ns,
                flipped_bits,
            } => {
                if flipped_bits > 0 {
                    self.stats.cells_header_errored += 1;
                }
                self.in_flight.push_back(InFlight {
                    departure_ns,
                    arrival_ns,
                    bytes,
                });
            }
        }
    }

    /// When the next cell reaches the far end, if any is in flight.
    pub fn next_arrival_ns(&self) -> Option<u64> {
        self.in_flight.front().map(|c| c.arrival_ns)
    }

    /// Moves every cell that has reached the far end by `now_ns` into `out`, in order.
    pub fn release(&mut self, now_ns: u64, out: &mut Vec<CellBytes>) {
        while let Some(cell) = self.in_flight.front() {
            if cell.arrival_ns > now_ns {
                break;
            }
            out.push(cell.bytes);
            self.in_flight.pop_front();
        }
    }

    /// Takes one cell from the far end; appends the payload of any frame it completes.
    pub fn receive(&mut self, bytes: &CellBytes, frames: &mut Vec<Vec<u8>>) {
        self.stats.cells_received += 1;
        let cell = match Cell::decode(bytes, self.format) {
            Received::Intact(cell) => cell,
            Received::Corrected(cell) => {
                self.stats.cells_hec_corrected += 1;
                cell
            }
            Received::Dropped => {
                self.stats.cells_hec_dropped += 1;
                return;
            }
        };
        if cell.header.vc != self.vc || !cell.header.is_user_data() {
            self.stats.cells_misrouted += 1;
            return;
        }
        self.reassembler.push(&cell, &mut self.events);
        for event in self.events.drain(..) {
            match event {
                ReassemblyEvent::Frame { payload, .. } => {
                    self.stats.frames_reassembled += 1;
                    frames.push(payload);
                }
                ReassemblyEvent::Dropped { .. } => self.stats.frames_dropped += 1,
                ReassemblyEvent::Aborted { .. } => self.stats.frames_aborted += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ImpairmentConfig;

    /// Sends `frames` frames of `bytes` each at t=0 from one end, delivers every cell to the
    /// other, and returns the frames received and both ends' counters.
    fn run(
        config: &CircuitConfig,
        frames: usize,
        bytes: usize,
    ) -> (Vec<Vec<u8>>, AtmStats, AtmStats) {
        let mut near = Circuit::new(config, 0).unwrap();
        let mut far = Circuit::new(config, 1).unwrap();
        for i in 0..frames {
            let payload = vec![i as u8; bytes];
            near.send_frame(&payload, 0).unwrap();
        }
        let mut cells = Vec::new();
        near.release(u64::MAX, &mut cells);
        let mut received = Vec::new();
        for cell in &cells {
            far.receive(cell, &mut received);
        }
        (received, near.stats(), far.stats())
    }

    #[test]
    fn a_clean_circuit_delivers_everything() {
        let (received, near, far) = run(&CircuitConfig::default(), 10, 1000);
        assert_eq!(received.len(), 10);
        assert_eq!(received[3], vec![3u8; 1000]);
        assert_eq!(near.cells_sent, 10 * 21);
        assert_eq!(far.frames_reassembled, 10);
    }

    #[test]
    fn cells_leave_at_the_line_rate_and_arrive_after_the_delay() {
        let config = CircuitConfig {
            impairments: ImpairmentConfig {
                delay_ms: 2,
                ..ImpairmentConfig::default()
            },
            ..CircuitConfig::default()
        };
        let mut near = Circuit::new(&config, 0).unwrap();
        near.send_frame(&[0; 1000], 0).unwrap();
        // 21 cells, one per 2 832 ns (OC-3c); shaping at PCR = line rate adds nothing.
        assert_eq!(near.backlog_cells(0), 20);
        assert_eq!(near.backlog_cells(20 * 2_832), 0);
        assert_eq!(near.next_arrival_ns(), Some(2_000_000));
        let mut out = Vec::new();
        near.release(2_000_000 + 10 * 2_832, &mut out);
        assert_eq!(out.len(), 11);
    }

    #[test]
    fn a_full_shaping_queue_refuses_more() {
        let mut config = CircuitConfig::default();
        config.contract.pcr_cells_per_s = Some(1_000);
        let mut near = Circuit::new(&config, 0).unwrap();
        let mut sent = 0;
        while near.send_frame(&[0; 1400], 0).is_ok() {
            sent += 1;
        }
        assert!(!near.has_room(0));
        // 30 cells per frame: the frame that crossed 8 192 cells was the last one taken.
        assert_eq!(sent, SHAPING_QUEUE_MAX_CELLS.div_ceil(30));
        // One cell per millisecond drains: room again once enough have left.
        assert!(near.has_room((sent as u64 * 30 - SHAPING_QUEUE_MAX_CELLS as u64 + 1) * 1_000_000));
    }

    #[test]
    fn policing_drops_a_burst_over_the_contract() {
        let mut config = CircuitConfig::default();
        config.contract.pcr_cells_per_s = Some(100_000);
        config.contract.cdvt_us = 0;
        config.contract.enforcement = Enforcement::Police;
        // Cells leave at the OC-3c cell time (2 832 ns), but the contract allows one per
        // 10 µs: of 21 back-to-back cells, only those at 0, 4, 8, 12, 16, 20 (every fourth
        // cell time is 11 328 ns >= 10 000) conform, so the frame is lost.
        let (received, near, far) = run(&config, 1, 1000);
        assert!(received.is_empty());
        assert_eq!(near.cells_policed, 21 - 6);
        assert_eq!(far.frames_dropped, 1);
    }

    #[test]
    fn header_errors_are_corrected_or_dropped_and_counted() {
        let mut config = CircuitConfig::default();
        config.impairments.header_bit_error_rate = 0.01;
        config.seed = 3;
        let (_, near, far) = run(&config, 50, 1000);
        assert!(near.cells_header_errored > 0);
        // Every errored header is corrected or dropped, except that an error of three or more
        // bits can pass as a one-bit error (miscorrected, so then misrouted) or as no error.
        let caught = far.cells_hec_corrected + far.cells_hec_dropped;
        assert!(caught <= near.cells_header_errored);
        assert!(caught + far.cells_misrouted >= near.cells_header_errored);
        assert!(far.cells_hec_corrected > 0 && far.cells_hec_dropped > 0);
    }

    #[test]
    fn same_seed_same_losses() {
        let mut config = CircuitConfig::default();
        config.impairments.cell_loss_ratio = 0.01;
        config.seed = 11;
        let (first, near_first, _) = run(&config, 100, 500);
        let (second, near_second, _) = run(&config, 100, 500);
        assert_eq!(first, second);
        assert_eq!(near_first, near_second);
        assert!(near_first.cells_lost > 0);
        config.seed = 12;
        let (_, near_other, _) = run(&config, 100, 500);
        assert_ne!(near_first, near_other);
    }
}
