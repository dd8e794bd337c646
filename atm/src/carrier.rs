//! The UDP cell carrier's wire format: one datagram carries a few whole cells.
//!
//! `version (1) = 1 | cell count n (1), 1..=CARRIER_CELLS_MAX | n × 53-byte cells`, with each
//! cell exactly as on the line (header with HEC, then payload).

use thiserror::Error;

use crate::cell::{CELL_BYTES, CellBytes};

/// The carrier format version.
pub const CARRIER_VERSION: u8 = 1;
/// Bytes before the cells.
pub const CARRIER_HEADER_BYTES: usize = 2;
/// The most cells in one datagram: keeps a datagram under a 1 500-byte MTU.
pub const CARRIER_CELLS_MAX: usize = 24;
/// The largest carrier datagram.
pub const CARRIER_DATAGRAM_MAX_BYTES: usize = CARRIER_HEADER_BYTES + CARRIER_CELLS_MAX * CELL_BYTES;

/// Why a datagram is not a carrier datagram.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CarrierError {
    /// Too short for the carrier header.
    #[error("a carrier datagram of {0} bytes is too short")]
    Short(usize),
    /// An unknown version.
    #[error("carrier version {0} is not {CARRIER_VERSION}")]
    Version(u8),
    /// The count is 0 or above the bound, or disagrees with the length.
    #[error("a carrier datagram of {bytes} bytes does not hold {count} cells")]
    Count {
        /// The count field.
        count: u8,
        /// The datagram length.
        bytes: usize,
    },
}

/// Packs `cells` into as few datagrams as the bound allows.
pub fn encode(cells: &[CellBytes]) -> impl Iterator<Item = Vec<u8>> + '_ {
    cells.chunks(CARRIER_CELLS_MAX).map(|chunk| {
        let mut datagram = Vec::with_capacity(CARRIER_HEADER_BYTES + chunk.len() * CELL_BYTES);
        // A chunk holds at most CARRIER_CELLS_MAX (24) cells, so its length fits the count byte.
        datagram.extend_from_slice(&[CARRIER_VERSION, chunk.len() as u8]);
        for cell in chunk {
            datagram.extend_from_slice(cell);
        }
        datagram
    })
}

/// Unpacks the cells of one datagram.
pub fn decode(datagram: &[u8]) -> Result<Vec<CellBytes>, CarrierError> {
    let Some((&[version, count], cells)) = datagram.split_first_chunk::<CARRIER_HEADER_BYTES>()
    else {
        return Err(CarrierError::Short(datagram.len()));
    };
    if version != CARRIER_VERSION {
        return Err(CarrierError::Version(version));
    }
    let n = usize::from(count);
    if n == 0 || n > CARRIER_CELLS_MAX || cells.len() != n * CELL_BYTES {
        return Err(CarrierError::Count {
            count,
            bytes: datagram.len(),
        });
    }
    Ok(cells
        .chunks_exact(CELL_BYTES)
        .map(|chunk| {
            let mut cell = [0u8; CELL_BYTES];
            cell.copy_from_slice(chunk);
            cell
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn malformed_datagrams_are_refused() {
        assert_eq!(decode(&[1]), Err(CarrierError::Short(1)));
        assert_eq!(decode(&[2, 1]), Err(CarrierError::Version(2)));
        assert_eq!(
            decode(&[1, 0]),
            Err(CarrierError::Count { count: 0, bytes: 2 })
        );
        let mut one = vec![1, 1];
        one.extend_from_slice(&[0; CELL_BYTES - 1]);
        assert!(matches!(
            decode(&one),
            Err(CarrierError::Count { count: 1, .. })
        ));
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(datagram in proptest::collection::vec(any::<u8>(), 0..1400)) {
            if let Ok(cells) = decode(&datagram) {
                prop_assert_eq!(CARRIER_HEADER_BYTES + cells.len() * CELL_BYTES, datagram.len());
            }
        }

        #[test]
        fn cells_round_trip(seeds in proptest::collection::vec(any::<u8>(), 0..100)) {
            let cells: Vec<CellBytes> = seeds.iter().map(|&s| [s; CELL_BYTES]).collect();
            let datagrams: Vec<Vec<u8>> = encode(&cells).collect();
            prop_assert_eq!(datagrams.len(), cells.len().div_ceil(CARRIER_CELLS_MAX));
            let mut back = Vec::new();
            for datagram in &datagrams {
                prop_assert!(datagram.len() <= CARRIER_DATAGRAM_MAX_BYTES);
                back.extend(decode(datagram).unwrap());
            }
            prop_assert_eq!(back, cells);
        }
    }
}
