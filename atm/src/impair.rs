//! Line impairments, sans-IO and seeded: propagation delay, cell delay variation (which never
//! reorders a channel's cells), cell loss and header bit errors.

use crate::cell::CellBytes;
use crate::header::HEADER_BITS;

/// A small, seeded generator (SplitMix64): the same seed gives the same impairments on every
/// platform and with every version of this crate's dependencies.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform number in [0, bound], inclusive.
    pub fn up_to(&mut self, bound: u64) -> u64 {
        match bound.checked_add(1) {
            Some(span) => self.next_u64() % span,
            None => self.next_u64(),
        }
    }
}

/// How a line mistreats cells.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImpairmentParams {
    /// One-way propagation delay.
    pub delay_ns: u64,
    /// The largest extra delay a cell may get, drawn uniformly in [0, cdv_ns].
    pub cdv_ns: u64,
    /// The probability that a cell is lost.
    pub cell_loss_ratio: f64,
    /// The probability that each header bit is flipped.
    pub header_bit_error_rate: f64,
}

/// What the line did to one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The cell was lost.
    Lost,
    /// The cell arrives at `arrival_ns`, with `flipped_bits` of its header flipped.
    Arrives {
        /// When it reaches the far end.
        arrival_ns: u64,
        /// How many header bits were flipped.
        flipped_bits: u32,
    },
}

/// One direction of a line's impairments, with its own generator and ordering state.
#[derive(Debug, Clone)]
pub struct Impairments {
    params: ImpairmentParams,
    rng: SeededRng,
    /// The last arrival handed out: later cells never arrive before it.
    last_arrival_ns: u64,
}

impl Impairments {
    /// Impairments drawn from a generator seeded with `seed`.
    pub fn new(params: ImpairmentParams, seed: u64) -> Self {
        Self {
            params,
            rng: SeededRng::new(seed),
            last_arrival_ns: 0,
        }
    }

    /// Sends `cell` (leaving the near end at `departure_ns`) across the line; flips its header
    /// bits in place.
    pub fn apply(&mut self, cell: &mut CellBytes, departure_ns: u64) -> Fate {
        if self.params.cell_loss_ratio > 0.0 && self.rng.next_unit() < self.params.cell_loss_ratio {
            return Fate::Lost;
        }
        let mut flipped_bits = 0;
        if self.params.header_bit_error_rate > 0.0 {
            for bit in 0..HEADER_BITS {
                if self.rng.next_unit() < self.params.header_bit_error_rate {
                    cell[bit / 8] ^= 0x80 >> (bit % 8);
                    flipped_bits += 1;
                }
            }
        }
        let jitter_ns = if self.params.cdv_ns > 0 {
            self.rng.up_to(self.params.cdv_ns)
        } else {
            0
        };
        // ATM keeps a channel's cells in order: jitter may bunch cells up, never swap them.
        let arrival_ns = departure_ns
            .saturating_add(self.params.delay_ns)
            .saturating_add(jitter_ns)
            .max(self.last_arrival_ns);
        self.last_arrival_ns = arrival_ns;
        Fate::Arrives {
            arrival_ns,
            flipped_bits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::CELL_BYTES;

    fn run(seed: u64) -> Vec<Fate> {
        let params = ImpairmentParams {
            delay_ns: 1_000_000,
            cdv_ns: 50_000,
            cell_loss_ratio: 0.05,
            header_bit_error_rate: 0.01,
        };
        let mut line = Impairments::new(params, seed);
        (0..2_000u64)
            .map(|i| line.apply(&mut [0u8; CELL_BYTES], i * 2_832))
            .collect()
    }

    #[test]
    fn same_seed_same_fates() {
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn losses_and_errors_are_near_their_rates_and_order_holds() {
        let fates = run(7);
        let lost = fates.iter().filter(|f| **f == Fate::Lost).count();
        // 5% of 2 000 is 100; the bounds are far outside what the seed could plausibly give.
        assert!((50..=150).contains(&lost), "lost {lost}");
        let mut last_ns = 0;
        let mut flipped = 0;
        for fate in fates {
            if let Fate::Arrives {
                arrival_ns,
                flipped_bits,
            } = fate
            {
                assert!(arrival_ns >= last_ns, "no reordering");
                assert!(arrival_ns >= 1_000_000);
                last_ns = arrival_ns;
                flipped += flipped_bits;
            }
        }
        // 1% of 40 bits of ~1 900 cells is ~760.
        assert!((500..=1_000).contains(&flipped), "flipped {flipped}");
    }

    #[test]
    fn a_clean_line_only_delays() {
        let mut line = Impairments::new(
            ImpairmentParams {
                delay_ns: 5,
                ..ImpairmentParams::default()
            },
            1,
        );
        let mut cell = [9u8; CELL_BYTES];
        assert_eq!(
            line.apply(&mut cell, 10),
            Fate::Arrives {
                arrival_ns: 15,
                flipped_bits: 0
            }
        );
        assert_eq!(cell, [9u8; CELL_BYTES]);
    }
}
