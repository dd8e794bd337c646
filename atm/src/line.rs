//! SONET line rates and the cell rates they carry.

use serde::Deserialize;

use crate::cell::CELL_BITS;
use crate::gcra::increment_ns;

/// OC-3c/STM-1 payload rate, bits per second.
pub const OC3C_PAYLOAD_BPS: u64 = 149_760_000;
/// OC-12c/STM-4 payload rate, bits per second.
pub const OC12C_PAYLOAD_BPS: u64 = 599_040_000;

/// The physical line under the circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineRate {
    /// OC-3c: 149.76 Mb/s of payload, 353 207 cells/s.
    #[default]
    Oc3c,
    /// OC-12c: 599.04 Mb/s of payload, 1 412 830 cells/s.
    Oc12c,
}

impl LineRate {
    /// The line's payload rate in bits per second.
    pub fn payload_bps(self) -> u64 {
        match self {
            Self::Oc3c => OC3C_PAYLOAD_BPS,
            Self::Oc12c => OC12C_PAYLOAD_BPS,
        }
    }

    /// Whole cells per second the line carries.
    pub fn cells_per_s(self) -> u64 {
        self.payload_bps() / CELL_BITS
    }

    /// Nanoseconds one cell occupies the line (rounded up).
    pub fn cell_time_ns(self) -> u64 {
        increment_ns(self.cells_per_s())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_rates() {
        assert_eq!(LineRate::Oc3c.cells_per_s(), 353_207);
        assert_eq!(LineRate::Oc12c.cells_per_s(), 1_412_830);
        assert_eq!(LineRate::Oc3c.cell_time_ns(), 2832);
        assert_eq!(LineRate::Oc12c.cell_time_ns(), 708);
    }
}
