//! AAL5 segmentation: the CPCS-PDU is the payload, 0–47 pad bytes and an 8-byte trailer
//! (UU, CPI, Length, CRC-32), cut into 48-byte cell payloads; the last cell carries the
//! end-of-frame PTI bit.

use thiserror::Error;

use crate::cell::{CELL_PAYLOAD_BYTES, Cell};
use crate::crc::Crc32;
use crate::header::{CellHeader, VirtualCircuit};

/// Bytes in the CPCS-PDU trailer: UU (1), CPI (1), Length (2), CRC-32 (4).
pub const TRAILER_BYTES: usize = 8;
/// The largest AAL5 payload: the Length field is 16 bits.
pub const AAL5_PAYLOAD_MAX_BYTES: usize = u16::MAX as usize;
/// The largest CPCS-PDU: the largest payload, padded, with its trailer.
pub const AAL5_PDU_MAX_BYTES: usize =
    cells_for_payload(AAL5_PAYLOAD_MAX_BYTES) * CELL_PAYLOAD_BYTES;
/// The only common part indicator I.363.5 defines.
pub const CPI_ALIGNMENT: u8 = 0;

/// Why a payload cannot be segmented.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Aal5Error {
    /// The payload does not fit the 16-bit Length field.
    #[error("an AAL5 payload of {0} bytes exceeds {AAL5_PAYLOAD_MAX_BYTES}")]
    TooLarge(usize),
}

/// Cells a payload of `payload_bytes` takes, trailer included.
pub const fn cells_for_payload(payload_bytes: usize) -> usize {
    (payload_bytes + TRAILER_BYTES).div_ceil(CELL_PAYLOAD_BYTES)
}

/// Pad bytes between a payload of `payload_bytes` and the trailer.
pub const fn pad_bytes(payload_bytes: usize) -> usize {
    cells_for_payload(payload_bytes) * CELL_PAYLOAD_BYTES - payload_bytes - TRAILER_BYTES
}

/// The whole CPCS-PDU for `payload`: payload, zero padding and trailer (UU 0, CPI 0).
///
/// An empty payload gives a Length of 0, which receivers read as an abort.
pub fn cpcs_pdu(payload: &[u8]) -> Result<Vec<u8>, Aal5Error> {
    let length = u16::try_from(payload.len()).map_err(|_| Aal5Error::TooLarge(payload.len()))?;
    let mut pdu = Vec::with_capacity(cells_for_payload(payload.len()) * CELL_PAYLOAD_BYTES);
    pdu.extend_from_slice(payload);
    pdu.resize(payload.len() + pad_bytes(payload.len()), 0);
    pdu.extend_from_slice(&[0, CPI_ALIGNMENT]);
    pdu.extend_from_slice(&length.to_be_bytes());
    let crc = Crc32::new().update(&pdu).finish();
    pdu.extend_from_slice(&crc.to_be_bytes());
    Ok(pdu)
}

/// Cuts `payload` into the cells of one AAL5 frame on `vc`.
pub fn segment(payload: &[u8], vc: VirtualCircuit) -> Result<Vec<Cell>, Aal5Error> {
    let pdu = cpcs_pdu(payload)?;
    let count = pdu.len() / CELL_PAYLOAD_BYTES;
    Ok(pdu
        .chunks_exact(CELL_PAYLOAD_BYTES)
        .enumerate()
        .map(|(i, chunk)| {
            let mut cell_payload = [0u8; CELL_PAYLOAD_BYTES];
            cell_payload.copy_from_slice(chunk);
            Cell {
                header: CellHeader::user_data(vc, i + 1 == count),
                payload: cell_payload,
            }
        })
        .collect())
}

/// The one cell of an abort: a CPCS-PDU whose Length is 0.
pub fn abort(vc: VirtualCircuit) -> Cell {
    let mut payload = [0u8; CELL_PAYLOAD_BYTES];
    let trailer = CELL_PAYLOAD_BYTES - TRAILER_BYTES;
    let crc = Crc32::new().update(&payload[..trailer + 4]).finish();
    payload[trailer + 4..].copy_from_slice(&crc.to_be_bytes());
    Cell {
        header: CellHeader::user_data(vc, true),
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crc::CRC32_RESIDUE;

    const VC: VirtualCircuit = VirtualCircuit { vpi: 0, vci: 32 };

    #[test]
    fn cell_counts_and_padding() {
        // (payload, cells, pad): payload + pad + 8 is a multiple of 48.
        let cases = [
            (0, 1, 40),
            (1, 1, 39),
            (40, 1, 0),
            (41, 2, 47),
            (48, 2, 40),
            (1500, 32, 28),
            (65535, 1366, 25),
        ];
        for (payload, cells, pad) in cases {
            assert_eq!(cells_for_payload(payload), cells, "cells for {payload}");
            assert_eq!(pad_bytes(payload), pad, "pad for {payload}");
            let data = vec![0x5A; payload];
            let segmented = segment(&data, VC).unwrap();
            assert_eq!(segmented.len(), cells, "segmented {payload}");
            let ends: Vec<bool> = segmented
                .iter()
                .map(|c| c.header.is_end_of_frame())
                .collect();
            assert_eq!(ends.iter().filter(|&&end| end).count(), 1);
            assert_eq!(ends.last(), Some(&true));
        }
    }

    #[test]
    fn trailer_fields_and_residue() {
        let pdu = cpcs_pdu(b"123456789").unwrap();
        assert_eq!(pdu.len(), 48);
        assert!(pdu[9..40].iter().all(|&b| b == 0), "zero padding");
        assert_eq!(&pdu[40..44], &[0, 0, 0, 9], "UU, CPI, Length");
        assert_eq!(Crc32::new().update(&pdu).register(), CRC32_RESIDUE);
    }

    #[test]
    fn oversize_payload_is_refused() {
        let data = vec![0; AAL5_PAYLOAD_MAX_BYTES + 1];
        assert_eq!(
            segment(&data, VC),
            Err(Aal5Error::TooLarge(AAL5_PAYLOAD_MAX_BYTES + 1))
        );
    }

    #[test]
    fn abort_cell_has_length_zero_and_a_good_crc() {
        let cell = abort(VC);
        assert_eq!(&cell.payload[42..44], &[0, 0]);
        assert_eq!(Crc32::new().update(&cell.payload).register(), CRC32_RESIDUE);
        assert!(cell.header.is_end_of_frame());
    }
}
