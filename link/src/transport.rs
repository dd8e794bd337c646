//! How a link's QUIC sender reacts to loss and sizes its datagrams: chosen per carrier.
//!
//! Over the internet (plain UDP) loss means congestion, and QUIC's standard behaviour (CUBIC,
//! path MTU discovery from 1200 bytes) is right. Over an ATM PVC with a CBR contract the sender
//! owns the contracted rate and a lost cell is a bit error: backing off wastes the circuit, so
//! [`Congestion::Contract`] paces to the contract and ignores loss, and a fixed datagram size
//! that fills whole cells keeps the cost of one lost cell to one frame of as few cells as fit.
//! QUIC's loss recovery (retransmission of what was lost) is the same either way.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::congestion::{
    BbrConfig, Controller, ControllerFactory, ControllerMetrics, CubicConfig, NewRenoConfig,
};
use quinn::{MtuDiscoveryConfig, TransportConfig};
use quinn_proto::RttEstimator;

use crate::error::LinkError;

/// The smallest datagram QUIC allows (RFC 9000, 14): every path must carry it.
pub const DATAGRAM_BYTES_MIN: u16 = 1200;
/// The largest UDP payload (65 535 less the 8-byte UDP header).
pub const DATAGRAM_BYTES_MAX: u16 = 65_527;
/// The window of [`Congestion::Contract`], in least round trips at the contract's rate: one
/// round trip's worth keeps the circuit busy, the second covers the retransmissions of what was
/// lost, so that the sender never waits on the window.
const CONTRACT_WINDOW_RTTS: u32 = 2;
/// What [`Congestion::Contract`]'s window holds beyond its round trips, in time at the
/// contract's rate: QUIC's default `max_ack_delay` (RFC 9000, 18.2). A peer may hold an
/// acknowledgement that long, and a busy receiving host holds them about as long (measured in
/// BENCHMARKS.md), so the round trips the sender sees exceed the least one by this much with no
/// queue at all; a window without it (or with a floor in datagrams, which is a few milliseconds
/// at OC-3c and less at higher rates) idles the circuit while acknowledgements are late.
const CONTRACT_WINDOW_ACK_DELAY: Duration = Duration::from_millis(25);
/// The least window of [`Congestion::Contract`], in datagrams: RFC 9002's minimum congestion
/// window, for contracts too slow to fill more in the time above.
const CONTRACT_WINDOW_DATAGRAMS_MIN: u64 = 2;
/// The window of [`Congestion::Contract`] before the first round trip is measured: quinn's own
/// initial window (RFC 9002, 7.2), so a connection that starts does not flood a circuit it has
/// not yet measured.
const CONTRACT_INITIAL_WINDOW_DATAGRAMS: u64 = 10;

/// The congestion controller of a link's sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Congestion {
    /// CUBIC (RFC 9438), quinn's default: loss is congestion.
    Cubic,
    /// NewReno (RFC 9002, 7): loss is congestion.
    NewReno,
    /// quinn's BBR (experimental there): paces to the measured bottleneck rate, and reads
    /// loss as congestion only through its recovery window.
    Bbr,
    /// Paces to a traffic contract's rate and never backs off on loss: for a circuit whose
    /// rate is reserved (an ATM CBR contract), where loss is bit errors, not congestion.
    Contract {
        /// The contracted rate available to datagrams, in bits per second.
        rate_bps: u64,
    },
}

/// How a link sizes its datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramSize {
    /// Start at 1200 bytes and find the path's MTU (DPLPMTUD, RFC 8899), quinn's default.
    Discover,
    /// Always this many bytes of UDP payload, no discovery: for a path whose MTU is known
    /// and whose framing makes some sizes cheaper than others (AAL5's whole cells).
    Fixed(u16),
}

/// A link sender's congestion controller and datagram size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTransport {
    /// How the sender reacts to loss and delay.
    pub congestion: Congestion,
    /// How big its datagrams are.
    pub datagram: DatagramSize,
}

impl Default for LinkTransport {
    /// QUIC's standard behaviour over the internet: CUBIC and path MTU discovery.
    fn default() -> Self {
        Self {
            congestion: Congestion::Cubic,
            datagram: DatagramSize::Discover,
        }
    }
}

impl LinkTransport {
    /// Checks the values quinn would refuse or that make no sense.
    pub fn validate(&self) -> Result<(), LinkError> {
        if let Congestion::Contract { rate_bps } = self.congestion
            && rate_bps < 8 * u64::from(DATAGRAM_BYTES_MIN)
        {
            return Err(LinkError::Config(format!(
                "a contract rate of {rate_bps} b/s is less than one datagram a second"
            )));
        }
        if let DatagramSize::Fixed(bytes) = self.datagram
            && bytes < DATAGRAM_BYTES_MIN
        {
            return Err(LinkError::Config(format!(
                "a datagram of {bytes} bytes is smaller than QUIC's least, \
                 {DATAGRAM_BYTES_MIN}"
            )));
        }
        Ok(())
    }

    /// Sets the controller and datagram size on `transport`.
    pub(crate) fn apply(&self, transport: &mut TransportConfig) -> Result<(), LinkError> {
        self.validate()?;
        match self.congestion {
            Congestion::Cubic => {
                transport.congestion_controller_factory(Arc::new(CubicConfig::default()))
            }
            Congestion::NewReno => {
                transport.congestion_controller_factory(Arc::new(NewRenoConfig::default()))
            }
            Congestion::Bbr => {
                transport.congestion_controller_factory(Arc::new(BbrConfig::default()))
            }
            Congestion::Contract { rate_bps } => {
                transport.congestion_controller_factory(Arc::new(ContractPacing { rate_bps }))
            }
        };
        match self.datagram {
            DatagramSize::Discover => {
                transport
                    .initial_mtu(DATAGRAM_BYTES_MIN)
                    .min_mtu(DATAGRAM_BYTES_MIN)
                    .mtu_discovery_config(Some(MtuDiscoveryConfig::default()));
            }
            // No discovery: its probes are datagrams bigger than the known size, and its black
            // hole detection reads random loss of big datagrams as a smaller MTU.
            DatagramSize::Fixed(bytes) => {
                transport
                    .initial_mtu(bytes)
                    .min_mtu(bytes)
                    .mtu_discovery_config(None);
            }
        }
        Ok(())
    }
}

/// Builds [`ContractController`]s.
#[derive(Debug)]
struct ContractPacing {
    rate_bps: u64,
}

impl ControllerFactory for ContractPacing {
    fn build(self: Arc<Self>, _now: Instant, current_mtu: u16) -> Box<dyn Controller> {
        Box::new(ContractController {
            rate_bytes_per_s: self.rate_bps / 8,
            mtu: u64::from(current_mtu),
            min_rtt: None,
        })
    }
}

/// A window of [`CONTRACT_WINDOW_RTTS`] least round trips plus [`CONTRACT_WINDOW_ACK_DELAY`]
/// at the contract's rate (from the least round trip seen, so the queue it builds never grows
/// the window). quinn paces it over the smoothed round trip; the circuit's shaper holds the
/// rest.
#[derive(Debug, Clone)]
struct ContractController {
    rate_bytes_per_s: u64,
    mtu: u64,
    /// The least round trip measured; `None` before the first.
    min_rtt: Option<Duration>,
}

impl ContractController {
    /// What the contract carries in `time`, in bytes (at most 4 GiB, quinn's pacing bound).
    fn bytes_at_rate(&self, time: Duration) -> u64 {
        (u128::from(self.rate_bytes_per_s) * time.as_nanos() / 1_000_000_000)
            .min(u128::from(u32::MAX)) as u64
    }
}

impl Controller for ContractController {
    fn on_ack(
        &mut self,
        _now: Instant,
        _sent: Instant,
        _bytes: u64,
        _app_limited: bool,
        rtt: &RttEstimator,
    ) {
        self.min_rtt = Some(rtt.min());
    }

    /// Loss on a reserved circuit is not congestion: QUIC retransmits, the rate stays.
    fn on_congestion_event(
        &mut self,
        _now: Instant,
        _sent: Instant,
        _is_persistent_congestion: bool,
        _lost_bytes: u64,
    ) {
    }

    fn on_mtu_update(&mut self, new_mtu: u16) {
        self.mtu = u64::from(new_mtu);
    }

    fn window(&self) -> u64 {
        match self.min_rtt {
            None => self.initial_window(),
            Some(rtt) => self
                .bytes_at_rate(
                    rtt.saturating_mul(CONTRACT_WINDOW_RTTS)
                        .saturating_add(CONTRACT_WINDOW_ACK_DELAY),
                )
                .max(CONTRACT_WINDOW_DATAGRAMS_MIN * self.mtu),
        }
    }

    fn metrics(&self) -> ControllerMetrics {
        let mut metrics = ControllerMetrics::default();
        metrics.congestion_window = self.window();
        metrics.pacing_rate = Some(self.rate_bytes_per_s * 8);
        metrics
    }

    fn clone_box(&self) -> Box<dyn Controller> {
        Box::new(self.clone())
    }

    fn initial_window(&self) -> u64 {
        CONTRACT_INITIAL_WINDOW_DATAGRAMS * self.mtu
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller(rate_bps: u64) -> ContractController {
        ContractController {
            rate_bytes_per_s: rate_bps / 8,
            mtu: 1472,
            min_rtt: None,
        }
    }

    #[test]
    fn the_contract_window_is_two_round_trips_and_the_ack_delay_at_the_rate_and_ignores_loss() {
        // OC-3c's contract in 1472-byte datagrams: 16,952,436 bytes a second.
        let mut c = controller(135_619_488);
        assert_eq!(c.window(), 10 * 1472);
        c.min_rtt = Some(Duration::from_millis(20));
        // 2 × 20 ms + 25 ms = 65 ms at the rate.
        assert_eq!(c.window(), 16_952_436 * 65 / 1_000);
        c.on_congestion_event(Instant::now(), Instant::now(), true, 1_000_000);
        assert_eq!(c.window(), 16_952_436 * 65 / 1_000);
    }

    #[test]
    fn a_round_trip_too_short_to_measure_still_leaves_the_ack_delay_in_the_window() {
        // The emulator's least round trip with no propagation delay: a tenth of a millisecond.
        // The window must still cover a late acknowledgement: 25 ms at the rate (423 KB at
        // OC-3c), where a floor of 64 datagrams gave 94 KB, under 6 ms of the circuit.
        let mut c = controller(135_619_488);
        c.min_rtt = Some(Duration::from_micros(100));
        assert_eq!(c.window(), 16_952_436 * 252 / 10_000);
        assert!(c.window() > 4 * 64 * 1472);
        // Four times the rate, four times the window: the floor is in time, not in datagrams.
        let mut oc12c = controller(4 * 135_619_488);
        oc12c.min_rtt = Some(Duration::from_micros(100));
        assert_eq!(oc12c.window(), 4 * 16_952_436 * 252 / 10_000);
    }

    #[test]
    fn a_slow_contract_keeps_two_datagrams_in_flight() {
        // 64 kb/s carries 200 bytes in 25 ms: less than a datagram.
        let mut c = controller(64_000);
        c.min_rtt = Some(Duration::from_millis(1));
        assert_eq!(c.window(), 2 * 1472);
    }

    #[test]
    fn validation_refuses_what_quic_cannot_run() {
        let small = LinkTransport {
            congestion: Congestion::Cubic,
            datagram: DatagramSize::Fixed(1199),
        };
        assert!(small.validate().unwrap_err().to_string().contains("1199"));
        let slow = LinkTransport {
            congestion: Congestion::Contract { rate_bps: 100 },
            datagram: DatagramSize::Discover,
        };
        assert!(slow.validate().is_err());
        assert!(LinkTransport::default().validate().is_ok());
    }
}
