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
/// The window of [`Congestion::Contract`], in round trips at the contract's rate: one round
/// trip's worth keeps the circuit busy, the second covers the acknowledgements' delay and the
/// retransmissions of what was lost, so that the sender never waits on the window.
const CONTRACT_WINDOW_RTTS: u64 = 2;
/// The least window of [`Congestion::Contract`], in datagrams, for round trips too short to
/// measure (the emulator's clock moves in ~1 ms steps).
const CONTRACT_WINDOW_DATAGRAMS_MIN: u64 = 64;
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

/// A window of [`CONTRACT_WINDOW_RTTS`] round trips at the contract's rate, from the least
/// round trip seen (so the queue it builds never grows the window). quinn paces it over the
/// smoothed round trip; the circuit's shaper holds the rest.
#[derive(Debug, Clone)]
struct ContractController {
    rate_bytes_per_s: u64,
    mtu: u64,
    /// The least round trip measured; `None` before the first.
    min_rtt: Option<Duration>,
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
            Some(rtt) => {
                let bdp = (u128::from(self.rate_bytes_per_s) * rtt.as_nanos() / 1_000_000_000)
                    .min(u128::from(u32::MAX)) as u64;
                (CONTRACT_WINDOW_RTTS * bdp).max(CONTRACT_WINDOW_DATAGRAMS_MIN * self.mtu)
            }
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
    fn the_contract_window_is_two_round_trips_at_the_rate_and_ignores_loss() {
        let mut c = controller(135_619_488);
        assert_eq!(c.window(), 10 * 1472);
        c.min_rtt = Some(Duration::from_millis(20));
        let bdp = 135_619_488 / 8 / 50;
        assert_eq!(c.window(), 2 * bdp);
        c.on_congestion_event(Instant::now(), Instant::now(), true, 1_000_000);
        assert_eq!(c.window(), 2 * bdp);
        // Too short a round trip to fill: the floor.
        c.min_rtt = Some(Duration::from_micros(10));
        assert_eq!(c.window(), 64 * 1472);
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
