//! AAL5 reassembly, sans-IO: cells in, frames and drop events out, per virtual channel.
//!
//! AAL5 has no sequence numbers: a lost cell shows up at the end of the frame, when the Length
//! field does not match the cells received or the CRC-32 fails. When the end-of-frame cell
//! itself is lost, the frame's cells run into the next frame; the next frame's Length says how
//! many of the trailing cells are its own, so those are checked on their own (the CRC-32
//! guards them) and the remnant ahead of them is dropped.

use std::collections::HashMap;

use crate::aal5::{AAL5_PDU_MAX_BYTES, CPI_ALIGNMENT, TRAILER_BYTES, cells_for_payload};
use crate::cell::{CELL_PAYLOAD_BYTES, Cell};
use crate::crc::{CRC32_RESIDUE, Crc32};
use crate::header::VirtualCircuit;

/// The most bytes one channel's reassembly buffer holds: the largest CPCS-PDU.
pub const REASSEMBLY_MAX_BYTES: usize = AAL5_PDU_MAX_BYTES;
/// The most channels one reassembler tracks at once.
pub const REASSEMBLY_CHANNELS_MAX: usize = 256;

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Fewer cells arrived than the Length field needs.
    LostCells,
    /// Cells of a frame whose end-of-frame cell was lost.
    LostEnd,
    /// The CRC-32 failed.
    BadCrc,
    /// The CPI was not 0.
    BadCpi,
    /// The frame ran past the reassembly bound.
    TooLong,
    /// The channel could not be tracked: too many channels already.
    TooManyChannels,
}

/// What one cell completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReassemblyEvent {
    /// A whole, checked frame.
    Frame {
        /// The channel it came on.
        vc: VirtualCircuit,
        /// The CPCS-UU byte.
        uu: u8,
        /// The payload, without pad or trailer.
        payload: Vec<u8>,
    },
    /// A frame (or what was left of one) was dropped.
    Dropped {
        /// The channel it came on.
        vc: VirtualCircuit,
        /// Why.
        reason: DropReason,
    },
    /// The sender aborted the frame (Length 0); its cells were discarded.
    Aborted {
        /// The channel it came on.
        vc: VirtualCircuit,
    },
}

/// One channel's partial frame.
#[derive(Debug, Default)]
struct Partial {
    bytes: Vec<u8>,
    /// Set once the frame has overrun the bound: its cells are discarded until its end.
    discarding: bool,
}

/// Reassembles AAL5 frames from the cells of any number of channels (up to a bound).
#[derive(Debug)]
pub struct Reassembler {
    frame_max_bytes: usize,
    channels: HashMap<VirtualCircuit, Partial>,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Reassembler {
    /// A reassembler that takes CPCS-PDUs of up to [`REASSEMBLY_MAX_BYTES`].
    pub fn new() -> Self {
        Self::with_limit(REASSEMBLY_MAX_BYTES)
    }

    /// A reassembler that takes CPCS-PDUs of up to `frame_max_bytes` (at most
    /// [`REASSEMBLY_MAX_BYTES`], at least one cell).
    pub fn with_limit(frame_max_bytes: usize) -> Self {
        let cells = (frame_max_bytes / CELL_PAYLOAD_BYTES).max(1);
        Self {
            frame_max_bytes: (cells * CELL_PAYLOAD_BYTES).min(REASSEMBLY_MAX_BYTES),
            channels: HashMap::new(),
        }
    }

    /// The bytes buffered for `vc` (never more than the bound).
    pub fn buffered_bytes(&self, vc: VirtualCircuit) -> usize {
        self.channels.get(&vc).map_or(0, |p| p.bytes.len())
    }

    /// Takes one user-data cell; appends to `events` whatever it completes.
    pub fn push(&mut self, cell: &Cell, events: &mut Vec<ReassemblyEvent>) {
        let vc = cell.header.vc;
        if !self.channels.contains_key(&vc) && self.channels.len() >= REASSEMBLY_CHANNELS_MAX {
            if cell.header.is_end_of_frame() {
                events.push(ReassemblyEvent::Dropped {
                    vc,
                    reason: DropReason::TooManyChannels,
                });
            }
            return;
        }
        let frame_max_bytes = self.frame_max_bytes;
        let partial = self.channels.entry(vc).or_default();
        let end = cell.header.is_end_of_frame();
        if partial.discarding {
            if end {
                self.channels.remove(&vc);
            }
            return;
        }
        if partial.bytes.len() + CELL_PAYLOAD_BYTES > frame_max_bytes {
            events.push(ReassemblyEvent::Dropped {
                vc,
                reason: DropReason::TooLong,
            });
            if end {
                self.channels.remove(&vc);
            } else {
                *partial = Partial {
                    bytes: Vec::new(),
                    discarding: true,
                };
            }
            return;
        }
        partial.bytes.extend_from_slice(&cell.payload);
        if end {
            let bytes = std::mem::take(&mut partial.bytes);
            // A channel with nothing pending holds no state, so idle channels cost nothing.
            self.channels.remove(&vc);
            finish(vc, bytes, frame_max_bytes, events);
        }
    }
}

/// Checks a buffer that ends with an end-of-frame cell.
fn finish(
    vc: VirtualCircuit,
    mut bytes: Vec<u8>,
    frame_max_bytes: usize,
    events: &mut Vec<ReassemblyEvent>,
) {
    let trailer = bytes.len() - TRAILER_BYTES;
    let (uu, cpi) = (bytes[trailer], bytes[trailer + 1]);
    let length = usize::from(u16::from_be_bytes([bytes[trailer + 2], bytes[trailer + 3]]));
    if length == 0 {
        events.push(ReassemblyEvent::Aborted { vc });
        return;
    }
    let pdu_bytes = cells_for_payload(length) * CELL_PAYLOAD_BYTES;
    if pdu_bytes > frame_max_bytes {
        events.push(ReassemblyEvent::Dropped {
            vc,
            reason: DropReason::TooLong,
        });
        return;
    }
    if pdu_bytes > bytes.len() {
        events.push(ReassemblyEvent::Dropped {
            vc,
            reason: DropReason::LostCells,
        });
        return;
    }
    if pdu_bytes < bytes.len() {
        events.push(ReassemblyEvent::Dropped {
            vc,
            reason: DropReason::LostEnd,
        });
        bytes.drain(..bytes.len() - pdu_bytes);
    }
    if Crc32::new().update(&bytes).register() != CRC32_RESIDUE {
        events.push(ReassemblyEvent::Dropped {
            vc,
            reason: DropReason::BadCrc,
        });
        return;
    }
    if cpi != CPI_ALIGNMENT {
        events.push(ReassemblyEvent::Dropped {
            vc,
            reason: DropReason::BadCpi,
        });
        return;
    }
    bytes.truncate(length);
    events.push(ReassemblyEvent::Frame {
        vc,
        uu,
        payload: bytes,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aal5::{abort, segment};
    use crate::header::CellHeader;
    use proptest::prelude::*;

    const VC: VirtualCircuit = VirtualCircuit { vpi: 0, vci: 32 };
    const OTHER: VirtualCircuit = VirtualCircuit { vpi: 1, vci: 33 };

    fn feed(reassembler: &mut Reassembler, cells: &[Cell]) -> Vec<ReassemblyEvent> {
        let mut events = Vec::new();
        for cell in cells {
            reassembler.push(cell, &mut events);
        }
        events
    }

    fn frame(payload: &[u8]) -> ReassemblyEvent {
        ReassemblyEvent::Frame {
            vc: VC,
            uu: 0,
            payload: payload.to_vec(),
        }
    }

    fn dropped(reason: DropReason) -> ReassemblyEvent {
        ReassemblyEvent::Dropped { vc: VC, reason }
    }

    #[test]
    fn a_frame_missing_any_one_cell_is_dropped_and_the_next_still_arrives() {
        let first: Vec<u8> = (0..200u8).collect();
        let next = b"the next frame".to_vec();
        let cells = segment(&first, VC).unwrap();
        assert_eq!(cells.len(), 5);
        for lost in 0..cells.len() {
            let mut reassembler = Reassembler::new();
            let mut kept = cells.clone();
            kept.remove(lost);
            let mut events = feed(&mut reassembler, &kept);
            events.extend(feed(&mut reassembler, &segment(&next, VC).unwrap()));
            let expected = if lost + 1 == cells.len() {
                // The end cell was lost: the remnant runs into the next frame, which the
                // reassembler cuts back out by its Length.
                vec![dropped(DropReason::LostEnd), frame(&next)]
            } else {
                vec![dropped(DropReason::LostCells), frame(&next)]
            };
            assert_eq!(events, expected, "lost cell {lost}");
            assert_eq!(reassembler.buffered_bytes(VC), 0);
        }
    }

    #[test]
    fn a_corrupted_payload_fails_the_crc() {
        let mut cells = segment(b"settle 100 units", VC).unwrap();
        cells[0].payload[3] ^= 0x10;
        assert_eq!(
            feed(&mut Reassembler::new(), &cells),
            vec![dropped(DropReason::BadCrc)]
        );
    }

    #[test]
    fn an_abort_discards_the_frame_under_way() {
        let cells = segment(&[7u8; 300], VC).unwrap();
        let mut reassembler = Reassembler::new();
        let mut events = feed(&mut reassembler, &cells[..3]);
        events.extend(feed(&mut reassembler, &[abort(VC)]));
        events.extend(feed(&mut reassembler, &segment(b"after", VC).unwrap()));
        assert_eq!(
            events,
            vec![ReassemblyEvent::Aborted { vc: VC }, frame(b"after")]
        );
        // An empty payload encodes as an abort too: Length 0 cannot mean an empty frame.
        assert_eq!(
            feed(&mut reassembler, &segment(b"", VC).unwrap()),
            vec![ReassemblyEvent::Aborted { vc: VC }]
        );
    }

    #[test]
    fn frames_past_the_bound_are_dropped_and_the_buffer_stays_bounded() {
        let limit_bytes = 4 * CELL_PAYLOAD_BYTES;
        let mut reassembler = Reassembler::with_limit(limit_bytes);
        let long = segment(&[1u8; 500], VC).unwrap();
        let mut events = Vec::new();
        for cell in &long {
            reassembler.push(cell, &mut events);
            assert!(reassembler.buffered_bytes(VC) <= limit_bytes);
        }
        events.extend(feed(&mut reassembler, &segment(b"short", VC).unwrap()));
        assert_eq!(events, vec![dropped(DropReason::TooLong), frame(b"short")]);
    }

    #[test]
    fn channels_are_reassembled_apart() {
        let a = segment(&[0xAA; 100], VC).unwrap();
        let b = segment(&[0xBB; 60], OTHER).unwrap();
        let interleaved = [a[0], b[0], a[1], b[1], a[2]];
        assert_eq!(
            feed(&mut Reassembler::new(), &interleaved),
            vec![
                ReassemblyEvent::Frame {
                    vc: OTHER,
                    uu: 0,
                    payload: vec![0xBB; 60]
                },
                frame(&[0xAA; 100]),
            ]
        );
    }

    /// Any cell on one of two channels, with any payload and end-of-frame bit.
    fn any_cell() -> impl Strategy<Value = Cell> {
        (
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 48),
        )
            .prop_map(|(other, end, bytes)| {
                let mut payload = [0u8; CELL_PAYLOAD_BYTES];
                payload.copy_from_slice(&bytes);
                Cell {
                    header: CellHeader::user_data(if other { OTHER } else { VC }, end),
                    payload,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_cells_never_overflow_the_bound(cells in proptest::collection::vec(any_cell(), 0..200)) {
            let limit_bytes = 8 * CELL_PAYLOAD_BYTES;
            let mut reassembler = Reassembler::with_limit(limit_bytes);
            let mut events = Vec::new();
            for cell in &cells {
                reassembler.push(cell, &mut events);
                prop_assert!(reassembler.buffered_bytes(VC) <= limit_bytes);
                prop_assert!(reassembler.buffered_bytes(OTHER) <= limit_bytes);
            }
            let ends = cells.iter().filter(|c| c.header.is_end_of_frame()).count();
            prop_assert!(events.len() <= 2 * ends);
        }

        #[test]
        fn segment_then_reassemble_round_trips(payload in proptest::collection::vec(any::<u8>(), 1..4000)) {
            let cells = segment(&payload, VC).unwrap();
            prop_assert_eq!(feed(&mut Reassembler::new(), &cells), vec![frame(&payload)]);
        }
    }
}
