//! The 53-byte cell: a 5-byte header and 48 bytes of payload.

use crate::header::{CellHeader, HEADER_BYTES, HeaderError, HeaderFormat, HecCheck};

/// Bytes of payload in a cell.
pub const CELL_PAYLOAD_BYTES: usize = 48;
/// Bytes in a whole cell on the wire.
pub const CELL_BYTES: usize = HEADER_BYTES + CELL_PAYLOAD_BYTES;
/// Bits in a whole cell: what a line rate is divided by to get a cell rate.
pub const CELL_BITS: u64 = CELL_BYTES as u64 * 8;

/// A cell's wire form.
pub type CellBytes = [u8; CELL_BYTES];

/// A cell with its header decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The header fields.
    pub header: CellHeader,
    /// The 48 payload bytes.
    pub payload: [u8; CELL_PAYLOAD_BYTES],
}

/// What arrived when a cell's bytes were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The header was intact.
    Intact(Cell),
    /// One header bit was wrong and has been corrected.
    Corrected(Cell),
    /// The header could not be corrected: the cell is dropped.
    Dropped,
}

impl Cell {
    /// The cell's 53 bytes, with its HEC.
    pub fn encode(&self, format: HeaderFormat) -> Result<CellBytes, HeaderError> {
        let header = self.header.encode(format)?;
        let mut bytes = [0u8; CELL_BYTES];
        bytes[..HEADER_BYTES].copy_from_slice(&header);
        bytes[HEADER_BYTES..].copy_from_slice(&self.payload);
        Ok(bytes)
    }

    /// Reads a received cell, checking (and if it can, correcting) its header.
    pub fn decode(bytes: &CellBytes, format: HeaderFormat) -> Received {
        let mut header = [0u8; HEADER_BYTES];
        header.copy_from_slice(&bytes[..HEADER_BYTES]);
        let mut payload = [0u8; CELL_PAYLOAD_BYTES];
        payload.copy_from_slice(&bytes[HEADER_BYTES..]);
        match CellHeader::decode(header, format) {
            HecCheck::Valid(header) => Received::Intact(Cell { header, payload }),
            HecCheck::Corrected(header) => Received::Corrected(Cell { header, payload }),
            HecCheck::Uncorrectable => Received::Dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::VirtualCircuit;

    #[test]
    fn a_cell_is_53_bytes_and_round_trips() {
        let cell = Cell {
            header: CellHeader::user_data(VirtualCircuit { vpi: 1, vci: 100 }, true),
            payload: [0xA5; CELL_PAYLOAD_BYTES],
        };
        let bytes = cell.encode(HeaderFormat::Uni).unwrap();
        assert_eq!(bytes.len(), 53);
        assert_eq!(
            Cell::decode(&bytes, HeaderFormat::Uni),
            Received::Intact(cell)
        );
    }
}
