//! semper's inter-bank link: versioned, length-framed messages between banks.
//!
//! Two carriers implement one client API, [`LinkClient`], so that the settlement code cannot tell
//! them apart:
//! - [`Link`] and [`LinkServer`]: QUIC (quinn) with mutual TLS, where each side pins the exact
//!   certificates of the peers it trusts ([`TrustStore`]);
//! - [`LocalLink`]: an in-process call into a [`Handler`], for tests and benchmarks.
//!
//! The framing ([`Frame`], [`Decoder`]) is sans-IO and shared by every carrier.

mod admission;
mod backoff;
mod client;
mod decoder;
mod error;
mod frame;
mod handler;
mod identity;
mod link;
mod local;
pub mod metrics;
mod peer;
mod pem_file;
mod pending;
mod remote;
mod server;
mod socket;
mod stream;
mod tls;
mod tracker;
mod transport;
mod trust;
mod validity;
mod verifier;

pub use admission::Limits;
pub use backoff::Backoff;
pub use client::{LinkClient, LinkFuture};
pub use decoder::Decoder;
pub use error::{LinkError, Refusal, RefusedBy};
pub use frame::{
    FRAME_HEADER_BYTES, FRAME_PAYLOAD_MAX_BYTES, FRAME_VERSION, FRAME_VERSION_MIN, Frame,
    FrameError, FrameKind,
};
pub use handler::{Handler, HandlerFuture};
pub use identity::{Identity, IdentityError, bank_dns_name};
pub use link::{Link, LinkConfig, PEER_ADDRS_MAX};
pub use local::LocalLink;
pub use peer::{PeerIdentity, Role, RoleSet};
pub use pem_file::{load_certificate, load_private_key};
pub use remote::{REMOTE_CODE_MAX_BYTES, REMOTE_MESSAGE_MAX_BYTES, RemoteError};
pub use server::{
    HANDSHAKE_TIMEOUT, HANDSHAKES_PENDING_MAX, HANDSHAKES_PENDING_PER_ADDRESS_MAX, LinkServer,
    LinkServerConfig,
};
pub use socket::LinkSocket;
pub use transport::{
    Congestion, DATAGRAM_BYTES_MAX, DATAGRAM_BYTES_MIN, DatagramSize, LinkTransport,
};
pub use trust::{TrustError, TrustStore, TrustedPeer};
pub use validity::Validity;
pub use verifier::{PinnedClientVerifier, PinnedServerVerifier};
