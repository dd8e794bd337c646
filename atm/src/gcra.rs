//! The generic cell rate algorithm (I.371 virtual scheduling), sans-IO: arrival times are
//! nanoseconds since any fixed epoch, never read from a clock.
//!
//! A cell arriving at `t` conforms when `t >= TAT - limit`; a conforming cell moves the
//! theoretical arrival time to `max(t, TAT) + increment`. A non-conforming cell leaves the
//! state alone. VBR uses two at once (dual GCRA): the peak rate with the CDVT, and the
//! sustainable rate with the burst tolerance plus the CDVT; a cell must conform to both.

/// Nanoseconds in a second.
pub const NANOS_PER_S: u64 = 1_000_000_000;

/// The nanoseconds between cells at `cells_per_s`, rounded up so the rate is never exceeded.
pub fn increment_ns(cells_per_s: u64) -> u64 {
    NANOS_PER_S.div_ceil(cells_per_s.max(1))
}

/// One GCRA(increment, limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    increment_ns: u64,
    limit_ns: u64,
    /// The theoretical arrival time of the next cell.
    tat_ns: u64,
}

impl Gcra {
    /// A GCRA whose first cell conforms whenever it arrives.
    pub fn new(increment_ns: u64, limit_ns: u64) -> Self {
        Self {
            increment_ns,
            limit_ns,
            tat_ns: 0,
        }
    }

    /// The earliest time at or after `arrival_ns` at which a cell would conform.
    pub fn earliest_ns(&self, arrival_ns: u64) -> u64 {
        arrival_ns.max(self.tat_ns.saturating_sub(self.limit_ns))
    }

    /// Whether a cell arriving at `arrival_ns` conforms (without taking it).
    pub fn conforms(&self, arrival_ns: u64) -> bool {
        arrival_ns.saturating_add(self.limit_ns) >= self.tat_ns
    }

    /// Takes a conforming cell at `at_ns`.
    fn take(&mut self, at_ns: u64) {
        self.tat_ns = at_ns.max(self.tat_ns).saturating_add(self.increment_ns);
    }
}

/// A traffic contract's conformance definition: one GCRA (CBR) or two (VBR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conformance {
    /// Constant bit rate: GCRA(1/PCR, CDVT).
    Cbr(Gcra),
    /// Variable bit rate: GCRA(1/PCR, CDVT) and GCRA(1/SCR, BT + CDVT).
    Vbr {
        /// The peak-rate GCRA.
        peak: Gcra,
        /// The sustainable-rate GCRA.
        sustained: Gcra,
    },
}

impl Conformance {
    /// CBR at `pcr_cells_per_s` with a tolerance of `cdvt_ns`.
    pub fn cbr(pcr_cells_per_s: u64, cdvt_ns: u64) -> Self {
        Self::Cbr(Gcra::new(increment_ns(pcr_cells_per_s), cdvt_ns))
    }

    /// VBR: peak `pcr_cells_per_s`, sustainable `scr_cells_per_s`, bursts of `mbs_cells` at
    /// the peak rate; the burst tolerance is BT = (MBS − 1)·(1/SCR − 1/PCR).
    pub fn vbr(pcr_cells_per_s: u64, scr_cells_per_s: u64, mbs_cells: u64, cdvt_ns: u64) -> Self {
        let peak_ns = increment_ns(pcr_cells_per_s);
        let sustained_ns = increment_ns(scr_cells_per_s);
        let bt_ns = mbs_cells
            .saturating_sub(1)
            .saturating_mul(sustained_ns.saturating_sub(peak_ns));
        Self::Vbr {
            peak: Gcra::new(peak_ns, cdvt_ns),
            sustained: Gcra::new(sustained_ns, bt_ns.saturating_add(cdvt_ns)),
        }
    }

    /// Policing: whether the cell arriving at `arrival_ns` conforms; only a conforming cell
    /// changes the state (a non-conforming one is dropped).
    pub fn police(&mut self, arrival_ns: u64) -> bool {
        match self {
            Self::Cbr(gcra) => {
                let conforms = gcra.conforms(arrival_ns);
                if conforms {
                    gcra.take(arrival_ns);
                }
                conforms
            }
            Self::Vbr { peak, sustained } => {
                let conforms = peak.conforms(arrival_ns) && sustained.conforms(arrival_ns);
                if conforms {
                    peak.take(arrival_ns);
                    sustained.take(arrival_ns);
                }
                conforms
            }
        }
    }

    /// Shaping: the time, at or after `arrival_ns`, at which the cell leaves conforming.
    pub fn shape(&mut self, arrival_ns: u64) -> u64 {
        match self {
            Self::Cbr(gcra) => {
                let departure_ns = gcra.earliest_ns(arrival_ns);
                gcra.take(departure_ns);
                departure_ns
            }
            Self::Vbr { peak, sustained } => {
                let departure_ns = peak
                    .earliest_ns(arrival_ns)
                    .max(sustained.earliest_ns(arrival_ns));
                peak.take(departure_ns);
                sustained.take(departure_ns);
                departure_ns
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 000 cells/s: one cell every 10 µs.
    const PCR: u64 = 100_000;
    const T_NS: u64 = 10_000;

    #[test]
    fn increments_round_up() {
        assert_eq!(increment_ns(PCR), T_NS);
        // OC-3c: 1e9 / 353 207 = 2831.2 ns, rounded up.
        assert_eq!(increment_ns(353_207), 2832);
    }

    #[test]
    fn cbr_policing_by_hand() {
        // GCRA(T = 10 µs, τ = 2 µs). TAT starts at 0.
        let mut cbr = Conformance::cbr(PCR, 2_000);
        // t=0: TAT 0, 0 >= 0-2 conforms; TAT = 0+10 = 10 µs.
        assert!(cbr.police(0));
        // t=8: 8 >= 10-2 = 8 conforms (just); TAT = max(8,10)+10 = 20.
        assert!(cbr.police(8_000));
        // t=17: 17 < 20-2 = 18: too early, dropped; TAT stays 20.
        assert!(!cbr.police(17_000));
        // t=18: 18 >= 18 conforms; TAT = 30.
        assert!(cbr.police(18_000));
        // t=50: idle time is not banked: TAT = max(50,30)+10 = 60.
        assert!(cbr.police(50_000));
        // t=57: 57 < 60-2 = 58: dropped.
        assert!(!cbr.police(57_000));
    }

    #[test]
    fn cbr_shaping_by_hand() {
        // Same GCRA(10 µs, 2 µs); five cells all arriving at t=0 (a back-to-back burst).
        let mut cbr = Conformance::cbr(PCR, 2_000);
        // Cell 1 leaves at 0 (TAT 10); cell 2 at TAT-τ = 8 (TAT 20); cell 3 at 18 (TAT 30);
        // cell 4 at 28; cell 5 at 38: after the first, one cell per T, τ early.
        let departures: Vec<u64> = (0..5).map(|_| cbr.shape(0)).collect();
        assert_eq!(departures, [0, 8_000, 18_000, 28_000, 38_000]);
        // TAT is now 48 µs; a cell arriving at 100 µs is late enough to leave at once.
        assert_eq!(cbr.shape(100_000), 100_000);
    }

    #[test]
    fn vbr_policing_by_hand() {
        // PCR 100 000/s (T = 10 µs), SCR 25 000/s (Ts = 40 µs), MBS 3, CDVT 0.
        // BT = (3-1)·(40-10) = 60 µs, so the sustained GCRA is (40 µs, 60 µs).
        let mut vbr = Conformance::vbr(PCR, 25_000, 3, 0);
        // Cells at the peak rate, t = 0, 10, 20, 30 µs:
        // t=0:  peak TAT 0 ok; sustained TAT 0 ok.   peak TAT 10, sustained TAT 40.
        // t=10: peak 10>=10 ok; sustained 10>=40-60 ok. peak 20, sustained 80.
        // t=20: peak ok; sustained 20>=80-60=20 ok.   peak 30, sustained 120.
        // t=30: peak ok; sustained 30 < 120-60=60: the burst is over MBS, dropped.
        let verdicts: Vec<bool> = [0, 10_000, 20_000, 30_000]
            .iter()
            .map(|&t| vbr.police(t))
            .collect();
        assert_eq!(verdicts, [true, true, true, false]);
        // t=60: sustained 60>=60 ok, peak 60>=30 ok: conforms; sustained TAT = 160.
        assert!(vbr.police(60_000));
        // t=65: peak TAT 70, 65 < 70: too close to the last cell at the peak rate.
        assert!(!vbr.police(65_000));
    }

    #[test]
    fn vbr_shaping_by_hand() {
        // The same contract, six cells arriving together at t=0.
        let mut vbr = Conformance::vbr(PCR, 25_000, 3, 0);
        // Cell 1: 0 (peak TAT 10, sust 40). Cell 2: max(10, 40-60) = 10 (peak 20, sust 80).
        // Cell 3: max(20, 80-60=20) = 20 (peak 30, sust 120). Cell 4: max(30, 60) = 60
        // (peak 70, sust 160). Cell 5: max(70, 100) = 100 (sust 200). Cell 6: 140.
        // A burst of MBS = 3 at the peak rate, then one cell per 1/SCR = 40 µs.
        let departures: Vec<u64> = (0..6).map(|_| vbr.shape(0)).collect();
        assert_eq!(departures, [0, 10_000, 20_000, 60_000, 100_000, 140_000]);
    }
}
