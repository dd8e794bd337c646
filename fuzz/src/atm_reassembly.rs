//! AAL5 reassembly of any sequence of cells on a few channels: raw cells, whole frames (made
//! here, with any UU and CPI), frames with a cell lost or a byte changed, and aborts.
//!
//! Every frame the reassembler delivers must be the end of what its channel carried since the
//! last end-of-frame cell, and pass its own Length and CRC-32; a clean frame on an idle channel
//! must come out whole; the buffers stay within their bound.

use std::collections::HashMap;

use semper_atm::aal5::{TRAILER_BYTES, abort, cells_for_payload, pad_bytes, segment};
use semper_atm::cell::{CELL_PAYLOAD_BYTES, Cell};
use semper_atm::header::{CellHeader, VirtualCircuit};
use semper_atm::reassembly::{DropReason, REASSEMBLY_MAX_BYTES, Reassembler, ReassemblyEvent};

use crate::crc_reference::crc32;
use crate::input::Input;

/// The channels cells are sent on: two bits of each operation pick one.
const CHANNELS: [VirtualCircuit; 4] = [
    VirtualCircuit { vpi: 0, vci: 32 },
    VirtualCircuit { vpi: 1, vci: 32 },
    VirtualCircuit { vpi: 0, vci: 33 },
    VirtualCircuit {
        vpi: 0xFFF,
        vci: 0xFFFF,
    },
];
/// The longest payload of a frame made here: a few hundred cells.
const FRAME_PAYLOAD_MAX_BYTES: usize = 8 * 1024;

/// The reassembler and, per channel, every payload byte it was given since that channel's last
/// end-of-frame cell.
struct Run {
    reassembler: Reassembler,
    frame_max_bytes: usize,
    since_end: HashMap<VirtualCircuit, Vec<u8>>,
}

/// Reads a reassembly bound, then operations until the input ends; checks every event.
pub fn atm_reassembly(data: &[u8]) {
    let mut input = Input::new(data);
    let Some(limit) = input.u16() else {
        return;
    };
    let (reassembler, frame_max_bytes) = match usize::from(limit) {
        0 => (Reassembler::new(), REASSEMBLY_MAX_BYTES),
        limit => {
            let cells = (limit / CELL_PAYLOAD_BYTES).max(1);
            (Reassembler::with_limit(limit), cells * CELL_PAYLOAD_BYTES)
        }
    };
    let mut run = Run {
        reassembler,
        frame_max_bytes,
        since_end: HashMap::new(),
    };
    while let Some(op) = input.byte() {
        let vc = CHANNELS[usize::from(op >> 6)];
        match op & 3 {
            0 => {
                let mut payload = [0u8; CELL_PAYLOAD_BYTES];
                let given = input.take(CELL_PAYLOAD_BYTES);
                payload[..given.len()].copy_from_slice(given);
                let header = CellHeader {
                    gfc: 0,
                    vc,
                    pti: (op >> 2) & 7,
                    clp: op & 0x20 != 0,
                };
                run.push(&Cell { header, payload });
            }
            1 => {
                let len = usize::from(input.u16().unwrap_or(0)) % (FRAME_PAYLOAD_MAX_BYTES + 1);
                let payload = input.take(len).to_vec();
                let Ok(mut cells) = segment(&payload, vc) else {
                    continue;
                };
                let at = usize::from(input.byte().unwrap_or(0)) % cells.len();
                match (op >> 2) & 3 {
                    1 => {
                        cells.remove(at);
                    }
                    2 => {
                        let byte = usize::from(input.byte().unwrap_or(0)) % CELL_PAYLOAD_BYTES;
                        cells[at].payload[byte] ^= input.byte().unwrap_or(1).max(1);
                    }
                    _ => {
                        run.clean_frame(vc, 0, 0, &payload, &cells);
                        continue;
                    }
                }
                for cell in &cells {
                    run.push(cell);
                }
            }
            2 => {
                let (uu, cpi) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
                let len = usize::from(input.u16().unwrap_or(0)) % (FRAME_PAYLOAD_MAX_BYTES + 1);
                let payload = input.take(len).to_vec();
                let cells = frame_cells(vc, uu, cpi, &payload);
                run.clean_frame(vc, uu, cpi, &payload, &cells);
            }
            _ => {
                run.push(&abort(vc));
            }
        }
    }
}

impl Run {
    /// Pushes one cell; checks what it completed.
    fn push(&mut self, cell: &Cell) -> Vec<ReassemblyEvent> {
        let vc = cell.header.vc;
        let mut events = Vec::new();
        self.reassembler.push(cell, &mut events);
        let since_end = self.since_end.entry(vc).or_default();
        since_end.extend_from_slice(&cell.payload);
        let end = cell.header.is_end_of_frame();
        assert!(
            events.len() <= if end { 2 } else { 1 },
            "{events:?} from one cell"
        );
        for (i, event) in events.iter().enumerate() {
            match event {
                ReassemblyEvent::Frame {
                    vc: on,
                    uu,
                    payload,
                } => {
                    assert!(end, "a frame completed by a cell that does not end one");
                    assert_eq!(*on, vc);
                    check_frame(since_end, *uu, payload, self.frame_max_bytes);
                }
                ReassemblyEvent::Dropped { vc: on, reason } => {
                    assert_eq!(*on, vc);
                    if !end {
                        assert_eq!(*reason, DropReason::TooLong);
                    }
                    if events.len() == 2 && i == 0 {
                        assert_eq!(*reason, DropReason::LostEnd, "{events:?}");
                    }
                }
                ReassemblyEvent::Aborted { vc: on } => {
                    assert!(end);
                    assert_eq!(*on, vc);
                }
            }
        }
        if end {
            since_end.clear();
        }
        assert!(self.reassembler.buffered_bytes(vc) <= self.frame_max_bytes);
        events
    }

    /// Pushes the cells of a whole, unchanged frame; on an idle channel, checks that it arrives
    /// (or is refused for its own fault) and nothing else happens.
    fn clean_frame(&mut self, vc: VirtualCircuit, uu: u8, cpi: u8, payload: &[u8], cells: &[Cell]) {
        let idle = self.since_end.get(&vc).is_none_or(Vec::is_empty);
        let mut events = Vec::new();
        for cell in cells {
            events.extend(self.push(cell));
        }
        if !idle {
            return;
        }
        let expected = if cells.len() * CELL_PAYLOAD_BYTES > self.frame_max_bytes {
            ReassemblyEvent::Dropped {
                vc,
                reason: DropReason::TooLong,
            }
        } else if payload.is_empty() {
            ReassemblyEvent::Aborted { vc }
        } else if cpi != 0 {
            ReassemblyEvent::Dropped {
                vc,
                reason: DropReason::BadCpi,
            }
        } else {
            ReassemblyEvent::Frame {
                vc,
                uu,
                payload: payload.to_vec(),
            }
        };
        assert_eq!(
            events,
            [expected],
            "a clean frame of {} bytes",
            payload.len()
        );
    }
}

/// A delivered frame is the CPCS-PDU at the end of what its channel carried since its last end,
/// and that PDU's Length, CPI and CRC-32 are right.
fn check_frame(since_end: &[u8], uu: u8, payload: &[u8], frame_max_bytes: usize) {
    assert!(!payload.is_empty(), "an empty frame delivered");
    let pdu_bytes = cells_for_payload(payload.len()) * CELL_PAYLOAD_BYTES;
    assert!(
        pdu_bytes <= frame_max_bytes,
        "a frame over the bound delivered"
    );
    assert!(
        pdu_bytes <= since_end.len(),
        "a frame longer than its cells"
    );
    let pdu = &since_end[since_end.len() - pdu_bytes..];
    assert_eq!(
        &pdu[..payload.len()],
        payload,
        "the frame is not its cells' bytes"
    );
    let trailer = &pdu[pdu_bytes - TRAILER_BYTES..];
    assert_eq!(trailer[0], uu);
    assert_eq!(trailer[1], 0, "a frame with a CPI other than 0 delivered");
    assert_eq!(
        usize::from(u16::from_be_bytes([trailer[2], trailer[3]])),
        payload.len()
    );
    let crc = u32::from_be_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    assert_eq!(
        crc32(&pdu[..pdu_bytes - 4]),
        crc,
        "a frame with a bad CRC-32 delivered"
    );
}

/// The cells of one frame made here by the book (I.363.5): payload, zero pad, UU, CPI, Length,
/// CRC-32.
fn frame_cells(vc: VirtualCircuit, uu: u8, cpi: u8, payload: &[u8]) -> Vec<Cell> {
    let mut pdu = payload.to_vec();
    pdu.resize(payload.len() + pad_bytes(payload.len()), 0);
    pdu.extend_from_slice(&[uu, cpi]);
    pdu.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    pdu.extend_from_slice(&crc32(&pdu).to_be_bytes());
    let count = pdu.len() / CELL_PAYLOAD_BYTES;
    pdu.chunks_exact(CELL_PAYLOAD_BYTES)
        .enumerate()
        .map(|(i, chunk)| {
            let mut payload = [0u8; CELL_PAYLOAD_BYTES];
            payload.copy_from_slice(chunk);
            Cell {
                header: CellHeader::user_data(vc, i + 1 == count),
                payload,
            }
        })
        .collect()
}
