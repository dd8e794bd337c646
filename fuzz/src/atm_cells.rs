//! What an ATM circuit end reads off the UDP carrier: datagrams of cells, each cell's header and
//! its HEC (corrected or dropped), then a circuit's receive path and the LLC/SNAP header of each
//! frame it completes. The table-driven CRC-32 is checked against its definition on the way.

use semper_atm::carrier;
use semper_atm::cell::{Cell, CellBytes, Received};
use semper_atm::circuit::Circuit;
use semper_atm::config::CircuitConfig;
use semper_atm::crc::Crc32;
use semper_atm::header::{HEADER_BITS, HeaderFormat};
use semper_atm::llc;

use crate::crc_reference;

/// Checks the CRC-32 of the input, then reads it as a carrier datagram and receives its cells.
pub fn atm_cells(data: &[u8]) {
    let expected = crc_reference::crc32(data);
    let cut = usize::from(data.first().copied().unwrap_or(0)).min(data.len());
    let (head, tail) = data.split_at(cut);
    assert_eq!(
        Crc32::new().update(head).update(tail).finish(),
        expected,
        "the sliced CRC-32 is not CRC-32/BZIP2"
    );

    let Ok(cells) = carrier::decode(data) else {
        return;
    };
    let encoded: Vec<Vec<u8>> = carrier::encode(&cells).collect();
    assert_eq!(encoded, [data], "a datagram with a second encoding");
    for cell in &cells {
        check_header(cell, HeaderFormat::Uni);
        check_header(cell, HeaderFormat::Nni);
    }

    let Ok(mut circuit) = Circuit::new(&CircuitConfig::default(), 0) else {
        panic!("the default circuit config is refused");
    };
    let mut frames = Vec::new();
    for cell in &cells {
        circuit.receive(cell, &mut frames);
    }
    let stats = circuit.stats();
    assert_eq!(stats.cells_received, cells.len() as u64);
    assert_eq!(stats.frames_reassembled, frames.len() as u64);
    for frame in &frames {
        if let Ok((ether_type, datagram)) = llc::decapsulate(frame) {
            assert_eq!(&llc::encapsulate(ether_type, datagram), frame);
        }
    }
}

/// An intact header is the encoding of what it decodes to; a corrected one is one bit away from
/// it; a dropped one is no single bit away from any valid header.
fn check_header(bytes: &CellBytes, format: HeaderFormat) {
    match Cell::decode(bytes, format) {
        Received::Intact(cell) => {
            assert_eq!(cell.encode(format).as_ref(), Ok(bytes), "{format:?}");
        }
        Received::Corrected(cell) => {
            let Ok(encoded) = cell.encode(format) else {
                panic!("a corrected {format:?} header does not encode: {cell:?}");
            };
            let distance: u32 = encoded
                .iter()
                .zip(bytes)
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert_eq!(
                distance, 1,
                "a {format:?} header corrected by more than one bit"
            );
        }
        Received::Dropped => {
            for bit in 0..HEADER_BITS {
                let mut flipped = *bytes;
                flipped[bit / 8] ^= 0x80 >> (bit % 8);
                assert!(
                    !matches!(Cell::decode(&flipped, format), Received::Intact(_)),
                    "a {format:?} header one bit from a valid one was dropped, not corrected"
                );
            }
        }
    }
}
