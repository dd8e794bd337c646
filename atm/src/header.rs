//! The 5-byte ATM cell header (UNI and NNI formats) and its HEC: generated on send; on
//! receive, a single-bit error anywhere in the 40 bits is corrected and a worse one drops
//! the cell.

use serde::Deserialize;
use thiserror::Error;

use crate::crc::{HEC_COSET, crc8, crc8_i432};

/// Bytes in a cell header, HEC included.
pub const HEADER_BYTES: usize = 5;
/// Bits in a cell header, HEC included.
pub const HEADER_BITS: usize = HEADER_BYTES * 8;
/// The largest VPI of a UNI header (8 bits).
pub const UNI_VPI_MAX: u16 = 0xFF;
/// The largest VPI of an NNI header (12 bits).
pub const NNI_VPI_MAX: u16 = 0xFFF;
/// The largest generic flow control value (4 bits, UNI only).
pub const GFC_MAX: u8 = 0x0F;
/// The largest payload type indicator (3 bits).
pub const PTI_MAX: u8 = 0x07;
/// PTI bit 0 on a user-data cell: ATM-user-to-ATM-user indication, AAL5's end of frame.
pub const PTI_END_OF_FRAME: u8 = 0b001;
/// PTI bit 2: set on OAM and resource-management cells, clear on user data.
pub const PTI_NOT_USER_DATA: u8 = 0b100;

/// Where the top four header bits go: GFC at the user-network interface, more VPI inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderFormat {
    /// User-network interface: GFC (4 bits), VPI (8 bits).
    #[default]
    Uni,
    /// Network-node interface: VPI (12 bits).
    Nni,
}

impl HeaderFormat {
    /// The largest VPI this format can carry.
    pub fn vpi_max(self) -> u16 {
        match self {
            Self::Uni => UNI_VPI_MAX,
            Self::Nni => NNI_VPI_MAX,
        }
    }
}

/// A virtual channel: the VPI/VCI pair cells are routed and reassembled by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualCircuit {
    /// Virtual path identifier.
    pub vpi: u16,
    /// Virtual channel identifier.
    pub vci: u16,
}

/// The fields of a cell header, without its HEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellHeader {
    /// Generic flow control; always 0 in NNI format.
    pub gfc: u8,
    /// The channel the cell belongs to.
    pub vc: VirtualCircuit,
    /// Payload type indicator (3 bits).
    pub pti: u8,
    /// Cell loss priority: 1 marks the cell as discard-eligible.
    pub clp: bool,
}

/// Why a header cannot be encoded in a format.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// The VPI does not fit the format.
    #[error("VPI {vpi} exceeds {max}, the largest of this header format")]
    VpiTooLarge {
        /// The VPI given.
        vpi: u16,
        /// The format's largest VPI.
        max: u16,
    },
    /// The GFC is wider than 4 bits, or set in NNI format.
    #[error("GFC {0} does not fit this header format")]
    GfcOutOfRange(u8),
    /// The PTI is wider than 3 bits.
    #[error("PTI {0} is wider than 3 bits")]
    PtiOutOfRange(u8),
}

/// What the HEC check did with a received header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HecCheck {
    /// The header arrived intact.
    Valid(CellHeader),
    /// One bit was wrong and has been corrected.
    Corrected(CellHeader),
    /// More than one bit was wrong: the cell must be dropped.
    Uncorrectable,
}

impl HecCheck {
    /// The header, unless the cell must be dropped.
    pub fn header(self) -> Option<CellHeader> {
        match self {
            Self::Valid(header) | Self::Corrected(header) => Some(header),
            Self::Uncorrectable => None,
        }
    }
}

/// No bit position: the syndrome of no single-bit error.
const NO_BIT: u8 = u8::MAX;
/// For each syndrome, the header bit (0 = MSB of byte 0) whose flip causes it.
const SYNDROME_TO_BIT: [u8; 256] = syndrome_table();

/// The syndrome of a received header: zero when its HEC matches; linear in the error pattern.
const fn syndrome(bytes: &[u8; HEADER_BYTES]) -> u8 {
    crc8(&[bytes[0], bytes[1], bytes[2], bytes[3]]) ^ bytes[4] ^ HEC_COSET
}

const fn syndrome_table() -> [u8; 256] {
    let mut table = [NO_BIT; 256];
    let mut bit = 0;
    while bit < HEADER_BITS {
        let mut error = [0u8; HEADER_BYTES];
        error[bit / 8] = 0x80 >> (bit % 8);
        // The error pattern alone: its CRC part plus its HEC byte (the coset cancels out).
        let s = crc8(&[error[0], error[1], error[2], error[3]]) ^ error[4];
        table[s as usize] = bit as u8;
        bit += 1;
    }
    table
}

impl CellHeader {
    /// A user-data header on `vc`, with the end-of-frame bit as given.
    pub fn user_data(vc: VirtualCircuit, end_of_frame: bool) -> Self {
        Self {
            gfc: 0,
            vc,
            pti: if end_of_frame { PTI_END_OF_FRAME } else { 0 },
            clp: false,
        }
    }

    /// Whether the cell carries user data (not OAM or resource management).
    pub fn is_user_data(&self) -> bool {
        self.pti & PTI_NOT_USER_DATA == 0
    }

    /// Whether the cell ends an AAL5 frame.
    pub fn is_end_of_frame(&self) -> bool {
        self.is_user_data() && self.pti & PTI_END_OF_FRAME != 0
    }

    /// The five header bytes with their HEC, or why the fields do not fit `format`.
    pub fn encode(&self, format: HeaderFormat) -> Result<[u8; HEADER_BYTES], HeaderError> {
        let vpi_max = format.vpi_max();
        if self.vc.vpi > vpi_max {
            return Err(HeaderError::VpiTooLarge {
                vpi: self.vc.vpi,
                max: vpi_max,
            });
        }
        if self.gfc > GFC_MAX || (format == HeaderFormat::Nni && self.gfc != 0) {
            return Err(HeaderError::GfcOutOfRange(self.gfc));
        }
        if self.pti > PTI_MAX {
            return Err(HeaderError::PtiOutOfRange(self.pti));
        }
        let top = match format {
            HeaderFormat::Uni => ((self.gfc as u32) << 28) | ((self.vc.vpi as u32) << 20),
            HeaderFormat::Nni => (self.vc.vpi as u32) << 20,
        };
        let word = top | ((self.vc.vci as u32) << 4) | ((self.pti as u32) << 1) | (self.clp as u32);
        let [b0, b1, b2, b3] = word.to_be_bytes();
        Ok([b0, b1, b2, b3, crc8_i432(&[b0, b1, b2, b3])])
    }

    /// Checks the HEC of received header bytes, correcting a single-bit error.
    pub fn decode(bytes: [u8; HEADER_BYTES], format: HeaderFormat) -> HecCheck {
        let s = syndrome(&bytes);
        if s == 0 {
            return HecCheck::Valid(Self::fields(&bytes, format));
        }
        let bit = SYNDROME_TO_BIT[s as usize];
        if bit == NO_BIT {
            return HecCheck::Uncorrectable;
        }
        let mut fixed = bytes;
        fixed[bit as usize / 8] ^= 0x80 >> (bit % 8);
        HecCheck::Corrected(Self::fields(&fixed, format))
    }

    fn fields(bytes: &[u8; HEADER_BYTES], format: HeaderFormat) -> Self {
        let word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let (gfc, vpi) = match format {
            HeaderFormat::Uni => ((word >> 28) as u8, ((word >> 20) & 0xFF) as u16),
            HeaderFormat::Nni => (0, ((word >> 20) & 0xFFF) as u16),
        };
        Self {
            gfc,
            vc: VirtualCircuit {
                vpi,
                vci: (word >> 4) as u16,
            },
            pti: ((word >> 1) & 0x07) as u8,
            clp: word & 1 != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> CellHeader {
        CellHeader {
            gfc: 0,
            vc: VirtualCircuit {
                vpi: 7,
                vci: 0x1234,
            },
            pti: PTI_END_OF_FRAME,
            clp: false,
        }
    }

    fn flip(bytes: &mut [u8; HEADER_BYTES], bit: usize) {
        bytes[bit / 8] ^= 0x80 >> (bit % 8);
    }

    #[test]
    fn idle_cell_header_encodes_with_hec_0x52() {
        let idle = CellHeader {
            gfc: 0,
            vc: VirtualCircuit { vpi: 0, vci: 0 },
            pti: 0,
            clp: true,
        };
        assert_eq!(
            idle.encode(HeaderFormat::Uni),
            Ok([0x00, 0x00, 0x00, 0x01, 0x52])
        );
    }

    #[test]
    fn every_single_bit_error_is_corrected() {
        for format in [HeaderFormat::Uni, HeaderFormat::Nni] {
            let good = sample().encode(format).unwrap();
            for bit in 0..HEADER_BITS {
                let mut bad = good;
                flip(&mut bad, bit);
                assert_eq!(
                    CellHeader::decode(bad, format),
                    HecCheck::Corrected(sample()),
                    "bit {bit}"
                );
            }
        }
    }

    #[test]
    fn every_two_bit_error_is_dropped() {
        // x^8+x^2+x+1 = (x+1)(x^7+x^6+x^5+x^4+x^3+x^2+1): over 40 bits the code has minimum
        // distance 4, so no two-bit error looks like a clean header or a one-bit error.
        let good = sample().encode(HeaderFormat::Uni).unwrap();
        let mut pairs = 0;
        for first in 0..HEADER_BITS {
            for second in first + 1..HEADER_BITS {
                let mut bad = good;
                flip(&mut bad, first);
                flip(&mut bad, second);
                assert_eq!(
                    CellHeader::decode(bad, HeaderFormat::Uni),
                    HecCheck::Uncorrectable,
                    "bits {first} and {second}"
                );
                pairs += 1;
            }
        }
        assert_eq!(pairs, HEADER_BITS * (HEADER_BITS - 1) / 2);
    }

    #[test]
    fn fields_that_do_not_fit_are_refused() {
        let mut header = sample();
        header.vc.vpi = 256;
        assert_eq!(
            header.encode(HeaderFormat::Uni),
            Err(HeaderError::VpiTooLarge { vpi: 256, max: 255 })
        );
        assert!(header.encode(HeaderFormat::Nni).is_ok());
        header.gfc = 1;
        assert_eq!(
            header.encode(HeaderFormat::Nni),
            Err(HeaderError::GfcOutOfRange(1))
        );
        let mut header = sample();
        header.pti = 8;
        assert_eq!(
            header.encode(HeaderFormat::Uni),
            Err(HeaderError::PtiOutOfRange(8))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn uni_header_round_trips(gfc in 0u8..=15, vpi in 0u16..=255, vci: u16, pti in 0u8..=7, clp: bool) {
            let header = CellHeader { gfc, vc: VirtualCircuit { vpi, vci }, pti, clp };
            let bytes = header.encode(HeaderFormat::Uni).unwrap();
            prop_assert_eq!(CellHeader::decode(bytes, HeaderFormat::Uni), HecCheck::Valid(header));
        }

        #[test]
        fn nni_header_round_trips(vpi in 0u16..=4095, vci: u16, pti in 0u8..=7, clp: bool) {
            let header = CellHeader { gfc: 0, vc: VirtualCircuit { vpi, vci }, pti, clp };
            let bytes = header.encode(HeaderFormat::Nni).unwrap();
            prop_assert_eq!(CellHeader::decode(bytes, HeaderFormat::Nni), HecCheck::Valid(header));
        }
    }
}
