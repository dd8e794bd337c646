//! `[banks.transport]` (and a peer's `transport`): how a link's QUIC sender reacts to loss and
//! sizes its datagrams, with defaults per carrier.
//!
//! Over plain UDP (the internet) loss is congestion: CUBIC and path MTU discovery, QUIC's
//! standard behaviour. Over an ATM circuit with a CBR contract the rate is reserved and a lost
//! cell is a bit error: the sender paces to the contract and ignores loss ("contract"), in
//! datagrams of 31 whole cells (1472 bytes). A VBR contract keeps CUBIC (its policer's drops
//! are the network's way of saying "slower"), in whole-cell datagrams too.

use semper_atm::datagram::{DATAGRAM_BYTES, fills_whole_cells};
use semper_atm::{CircuitConfig, ContractKind};
use semper_link::{
    Congestion, DATAGRAM_BYTES_MAX, DATAGRAM_BYTES_MIN, DatagramSize, LinkTransport,
};
use serde::Deserialize;

use super::ConfigError;

/// The congestion controller a link's sender runs, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CongestionName {
    /// CUBIC, QUIC's usual: loss is congestion.
    Cubic,
    /// NewReno: loss is congestion.
    Newreno,
    /// quinn's BBR (experimental there).
    Bbr,
    /// Paces to the ATM contract's reserved rate and ignores loss; `carrier = "atm"` only.
    Contract,
}

/// A link sender's settings; every key is optional, and its default depends on the carrier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransportSection {
    /// The controller; default "cubic" over QUIC, "contract" over an ATM CBR circuit.
    pub congestion: Option<CongestionName>,
    /// A fixed datagram size in bytes, with no MTU discovery; default: discovery from 1200
    /// over QUIC, 1472 (31 whole cells) over ATM, where the size must fill whole cells.
    pub datagram_bytes: Option<u16>,
}

/// The sender's settings for a link over `circuit` (`None`: plain QUIC), from `section`'s keys
/// and the carrier's defaults. Valid once [`check_transport`] has passed.
pub fn transport_of(
    circuit: Option<&CircuitConfig>,
    section: Option<&TransportSection>,
) -> LinkTransport {
    let section = section.copied().unwrap_or_default();
    let Some(circuit) = circuit else {
        return LinkTransport {
            congestion: congestion(section.congestion.unwrap_or(CongestionName::Cubic), 0),
            datagram: section
                .datagram_bytes
                .map_or(DatagramSize::Discover, DatagramSize::Fixed),
        };
    };
    let datagram_bytes = section.datagram_bytes.unwrap_or(DATAGRAM_BYTES as u16);
    let default = match circuit.contract.kind {
        ContractKind::Cbr => CongestionName::Contract,
        ContractKind::Vbr => CongestionName::Cubic,
    };
    LinkTransport {
        congestion: congestion(
            section.congestion.unwrap_or(default),
            circuit.reserved_datagram_bps(usize::from(datagram_bytes)),
        ),
        datagram: DatagramSize::Fixed(datagram_bytes),
    }
}

fn congestion(name: CongestionName, contract_bps: u64) -> Congestion {
    match name {
        CongestionName::Cubic => Congestion::Cubic,
        CongestionName::Newreno => Congestion::NewReno,
        CongestionName::Bbr => Congestion::Bbr,
        CongestionName::Contract => Congestion::Contract {
            rate_bps: contract_bps,
        },
    }
}

/// Checks `section` (at `key`) against the carrier: "contract" needs a circuit, and a datagram
/// size is in QUIC's range and, over a circuit, fills whole cells.
pub fn check_transport(
    key: &str,
    circuit: Option<&CircuitConfig>,
    section: Option<&TransportSection>,
) -> Result<(), ConfigError> {
    let Some(section) = section else {
        return Ok(());
    };
    if section.congestion == Some(CongestionName::Contract) && circuit.is_none() {
        return Err(ConfigError::invalid(
            format!("{key}.congestion"),
            "\"contract\" paces to an ATM circuit's contract: it needs `carrier = \"atm\"`",
        ));
    }
    if let Some(bytes) = section.datagram_bytes {
        if !(DATAGRAM_BYTES_MIN..=DATAGRAM_BYTES_MAX).contains(&bytes) {
            return Err(ConfigError::invalid(
                format!("{key}.datagram_bytes"),
                format!(
                    "expected {DATAGRAM_BYTES_MIN} (QUIC's least) to {DATAGRAM_BYTES_MAX}, got {bytes}"
                ),
            ));
        }
        if circuit.is_some() && !fills_whole_cells(usize::from(bytes)) {
            return Err(ConfigError::invalid(
                format!("{key}.datagram_bytes"),
                format!(
                    "{bytes} bytes do not fill whole cells: over ATM, 8 (LLC/SNAP) + the \
                     datagram + 8 (AAL5 trailer) must be a multiple of 48, e.g. {DATAGRAM_BYTES} \
                     (31 cells) or {} (30)",
                    DATAGRAM_BYTES - 48
                ),
            ));
        }
    }
    transport_of(circuit, Some(section))
        .validate()
        .map_err(|error| ConfigError::invalid(key, error.to_string()))
}
