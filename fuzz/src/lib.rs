//! semper's fuzz targets, as plain functions on stable Rust: each takes any bytes, never panics
//! on its own account, and asserts what must hold of whatever it decodes.
//!
//! - [`protocol_codec`]: every decoder of the protocol's canonical codec, picked by the first byte;
//!   decoded values must encode back to the same bytes and agree with their JSON form.
//! - [`link_messages`]: what a bank's link handler decodes: link requests, responses and notices.
//! - [`storage_values`]: the records each role keeps in RocksDB.
//! - [`denominations`]: denomination keys against coin signatures, OpenSSL and pure Rust agreeing.
//! - [`rsa_pss`]: the PSS padding check of the coin-verification fast path.
//! - [`ed25519_batch`]: batch verification against single verification, item by item.
//! - [`http_requests`], [`http_responses`]: the JSON bodies, query strings and path parameters of
//!   every HTTP endpoint.
//! - [`link_frames`]: the link's frame decoder, fed any stream in any chunking.
//! - [`atm_reassembly`]: AAL5 reassembly of any cell sequence, against a shadow of each channel.
//! - [`atm_cells`]: the UDP cell carrier, cell headers and their HEC, and a circuit's receive path.
//! - [`signer_frames`]: the signer's socket protocol: its frames, requests and responses.
//!
//! [`TARGETS`] names them all: `tests/corpus.rs` replays the committed corpus through it, and
//! `cargo-fuzz/` wraps each in libFuzzer. [`seeds`] writes that corpus from real encodings.

mod atm_cells;
mod atm_reassembly;
mod check;
mod crc_reference;
mod denominations;
mod ed25519_batch;
mod http_requests;
mod http_responses;
mod input;
mod invariants;
mod link_frames;
mod link_messages;
mod protocol_codec;
mod rsa_pss;
pub mod seeds;
mod signer_frames;
mod storage_values;

pub use atm_cells::atm_cells;
pub use atm_reassembly::atm_reassembly;
pub use denominations::denominations;
pub use ed25519_batch::ed25519_batch;
pub use http_requests::http_requests;
pub use http_responses::http_responses;
pub use link_frames::link_frames;
pub use link_messages::link_messages;
pub use protocol_codec::protocol_codec;
pub use rsa_pss::rsa_pss;
pub use signer_frames::signer_frames;
pub use storage_values::storage_values;

/// A fuzz target: any bytes in; it panics only when an assertion about the code under test fails.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus directory and its libFuzzer wrapper carry.
pub const TARGETS: &[(&str, Target)] = &[
    ("protocol_codec", protocol_codec),
    ("link_messages", link_messages),
    ("storage_values", storage_values),
    ("denominations", denominations),
    ("rsa_pss", rsa_pss),
    ("ed25519_batch", ed25519_batch),
    ("http_requests", http_requests),
    ("http_responses", http_responses),
    ("link_frames", link_frames),
    ("atm_reassembly", atm_reassembly),
    ("atm_cells", atm_cells),
    ("signer_frames", signer_frames),
];

/// The targets that pick a decoder by their input's first byte, with their tables: entry `i` is
/// what an input starting with byte `i` goes to.
pub const SELECTED: &[(&str, &[(&str, Target)])] = &[
    ("protocol_codec", protocol_codec::DECODERS),
    ("storage_values", storage_values::RECORDS),
    ("http_requests", http_requests::REQUESTS),
    ("http_responses", http_responses::RESPONSES),
];
