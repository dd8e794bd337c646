//! Emulated ATM circuits for semper's inter-bank link: the settlement protocol's QUIC session
//! runs unchanged over an emulated broadband ATM permanent virtual circuit.
//!
//! The sans-IO core, from the bottom up:
//! - [`crc`]: CRC-8/I-432-1 (the HEC) and CRC-32/BZIP2 (the AAL5 trailer), table-driven;
//! - [`header`] and [`cell`]: the 53-byte cell, UNI and NNI headers, HEC generation and
//!   single-bit correction;
//! - [`aal5`] and [`reassembly`]: AAL5 segmentation and per-channel reassembly;
//! - [`gcra`] and [`line`](mod@line): traffic contracts (CBR, VBR; policing, shaping) and line rates;
//! - [`impair`]: seeded loss, header bit errors, delay and delay variation;
//! - [`circuit`]: one end of a circuit, putting all of the above together;
//! - [`config`]: the circuit's TOML config and its validation;
//! - [`llc`] and [`carrier`]: RFC 2684 LLC/SNAP, and the UDP cell carrier's wire format;
//! - [`datagram`]: the datagram sizes that fill whole cells, and the contract's reserved rate.
//!
//! The IO shell is [`socket`]: [`AtmSocket`], a `quinn::AsyncUdpSocket` over those circuits,
//! in process or over UDP on loopback. Counters are in [`stats`].

#![warn(missing_docs)]

pub mod aal5;
pub mod carrier;
pub mod cell;
pub mod circuit;
pub mod config;
pub mod crc;
pub mod datagram;
pub mod gcra;
pub mod header;
pub mod impair;
pub mod line;
pub mod llc;
pub mod reassembly;
pub mod socket;
pub mod stats;

pub use circuit::Circuit;
pub use config::{
    CircuitConfig, ConfigError, ContractConfig, ContractKind, Enforcement, ImpairmentConfig,
};
pub use header::{HeaderFormat, VirtualCircuit};
pub use line::LineRate;
pub use socket::AtmSocket;
pub use stats::AtmStats;
