//! What a QUIC sender over a circuit needs to know of it: which datagram sizes fill whole cells,
//! and the rate its contract reserves.
//!
//! A datagram travels as one AAL5 frame: the 8-byte LLC/SNAP header, the datagram, 0–47 pad
//! bytes and the 8-byte trailer, in 48-byte cell payloads. One lost cell costs the whole frame,
//! so a datagram should fill its last cell (padding is lost capacity) and not be longer than it
//! must: 31 cells, 1472 bytes, wastes no pad and keeps a frame's loss at 31 × the cell-loss
//! ratio, where the link's own overhead (QUIC header, AEAD tag, frame headers, about 40 bytes a
//! datagram) and the cost of a loss balance near CLR 1e-3 (optimum n ≈ √(overhead / 48 / CLR)).

use crate::aal5::TRAILER_BYTES;
use crate::cell::CELL_PAYLOAD_BYTES;
use crate::config::{CircuitConfig, ContractKind};
use crate::llc::LLC_SNAP_BYTES;

/// The cells of a link's datagrams over a circuit, by default.
pub const DATAGRAM_CELLS: usize = 31;

/// The datagram bytes whose AAL5 frame (LLC/SNAP, datagram, trailer) fills `cells` cells
/// exactly; `None` for no cells.
pub const fn datagram_bytes_for_cells(cells: usize) -> Option<usize> {
    if cells < 1 {
        return None;
    }
    (cells * CELL_PAYLOAD_BYTES).checked_sub(LLC_SNAP_BYTES + TRAILER_BYTES)
}

/// Whether a datagram of `bytes` fills its last cell: no pad in its AAL5 frame.
pub const fn fills_whole_cells(bytes: usize) -> bool {
    (bytes + LLC_SNAP_BYTES + TRAILER_BYTES).is_multiple_of(CELL_PAYLOAD_BYTES)
}

/// The default datagram size over a circuit: [`DATAGRAM_CELLS`] whole cells, 1472 bytes.
pub const DATAGRAM_BYTES: usize = match datagram_bytes_for_cells(DATAGRAM_CELLS) {
    Some(bytes) => bytes,
    None => panic!("DATAGRAM_CELLS is too few"),
};

impl CircuitConfig {
    /// The cell rate the contract reserves for the sender: the PCR of a CBR contract (the
    /// line's rate by default), the SCR of a VBR one.
    pub fn reserved_cells_per_s(&self) -> u64 {
        let line = self.line.cells_per_s();
        let pcr = self.contract.pcr_cells_per_s.unwrap_or(line);
        match self.contract.kind {
            ContractKind::Cbr => pcr,
            ContractKind::Vbr => self.contract.scr_cells_per_s.unwrap_or(pcr),
        }
    }

    /// The datagram bytes per second the contract reserves, in bits, with datagrams of
    /// `datagram_bytes` (whose frames' LLC/SNAP, pad and trailer take the rest of the cells).
    pub fn reserved_datagram_bps(&self, datagram_bytes: usize) -> u64 {
        let cells = crate::aal5::cells_for_payload(datagram_bytes + LLC_SNAP_BYTES) as u64;
        self.reserved_cells_per_s() * datagram_bytes as u64 * 8 / cells.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aal5::cells_for_payload;
    use crate::config::ContractConfig;
    use crate::line::LineRate;

    #[test]
    fn the_default_datagram_fills_31_cells_with_no_pad() {
        assert_eq!(DATAGRAM_BYTES, 1472);
        assert!(fills_whole_cells(DATAGRAM_BYTES));
        assert_eq!(cells_for_payload(DATAGRAM_BYTES + LLC_SNAP_BYTES), 31);
        // quinn's discovered 1452 pads 20 bytes into the same 31 cells.
        assert!(!fills_whole_cells(1452));
        assert_eq!(cells_for_payload(1452 + LLC_SNAP_BYTES), 31);
        assert_eq!(datagram_bytes_for_cells(0), None);
    }

    #[test]
    fn the_reserved_rate_is_the_contract_s() {
        let mut circuit = CircuitConfig::default();
        assert_eq!(circuit.reserved_cells_per_s(), 353_207);
        // 31 cells a 1472-byte datagram.
        assert_eq!(circuit.reserved_datagram_bps(1472), 353_207 * 1472 * 8 / 31);
        circuit.line = LineRate::Oc12c;
        circuit.contract = ContractConfig {
            kind: ContractKind::Vbr,
            pcr_cells_per_s: Some(1_000_000),
            scr_cells_per_s: Some(50_000),
            mbs_cells: Some(64),
            ..ContractConfig::default()
        };
        assert_eq!(circuit.reserved_cells_per_s(), 50_000);
    }
}
