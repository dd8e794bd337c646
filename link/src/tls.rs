//! The QUIC and TLS configurations of both ends: TLS 1.3 only, ring only, pinned mutual TLS,
//! no session resumption (so every connection is checked against the trust list afresh). Both
//! ends present the certificate their [`Identity`] holds at each handshake, so a rotation needs
//! no new configuration.

use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{IdleTimeout, TransportConfig, VarInt};
use rustls::SignatureScheme;
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use semper_protocol::ids::BankId;

use crate::error::LinkError;
use crate::identity::Identity;
use crate::transport::LinkTransport;
use crate::trust::TrustStore;
use crate::verifier::{PinnedClientVerifier, PinnedServerVerifier};

/// The application protocols, newest first, each with the frame version spoken on it: a new
/// frame version gets a new name, and both ends settle on the newest they share (`frame.rs`).
const ALPN: [(&[u8], u8); 2] = [(b"semper-link/2", 2), (b"semper-link/1", 1)];

// Every protocol offered names a frame version this build speaks.
const _: () = assert!(
    ALPN[0].1 == crate::frame::FRAME_VERSION && ALPN[1].1 == crate::frame::FRAME_VERSION_MIN
);

fn alpn_protocols() -> Vec<Vec<u8>> {
    ALPN.iter().map(|(name, _)| name.to_vec()).collect()
}

/// The frame version of a connection: the one its negotiated protocol names, else the oldest.
pub(crate) fn frame_version(connection: &quinn::Connection) -> u8 {
    let protocol = connection
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol);
    ALPN.iter()
        .find(|(name, _)| protocol.as_deref() == Some(*name))
        .map_or(crate::frame::FRAME_VERSION_MIN, |(_, version)| *version)
}
/// A connection with no traffic for this long is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Both ends ping this often, so an idle but healthy connection never reaches the idle timeout.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(3);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls(error: rustls::Error) -> LinkError {
    LinkError::Config(format!("TLS: {error}"))
}

fn transport(
    max_bidi_streams: u32,
    max_uni_streams: u32,
    tuning: &LinkTransport,
) -> Result<TransportConfig, LinkError> {
    let mut transport = TransportConfig::default();
    tuning.apply(&mut transport)?;
    let idle = IdleTimeout::try_from(IDLE_TIMEOUT).map_err(|e| LinkError::Config(e.to_string()))?;
    transport
        .max_idle_timeout(Some(idle))
        .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL))
        .max_concurrent_bidi_streams(VarInt::from_u32(max_bidi_streams))
        .max_concurrent_uni_streams(VarInt::from_u32(max_uni_streams));
    Ok(transport)
}

/// The client's configuration: it presents `identity`, accepts only `peer`'s pinned
/// certificate, and sends as `tuning` says.
pub(crate) fn client_config(
    identity: &Identity,
    trust: Arc<TrustStore>,
    peer: BankId,
    tuning: &LinkTransport,
) -> Result<quinn::ClientConfig, LinkError> {
    let verifier = Arc::new(PinnedServerVerifier::new(trust, peer));
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(Presented(identity.clone())));
    tls.alpn_protocols = alpn_protocols();
    tls.resumption = Resumption::disabled();
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| LinkError::Config(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    // The server never opens streams towards a client.
    config.transport_config(Arc::new(transport(0, 0, tuning)?));
    Ok(config)
}

/// The server's configuration: it presents `identity`, requires a client certificate pinned in
/// `trust`, and lets each connection have at most `max_requests_per_connection` requests (and as
/// many one-way messages) open at once; it sends as `tuning` says.
pub(crate) fn server_config(
    identity: &Identity,
    trust: Arc<TrustStore>,
    max_requests_per_connection: u32,
    tuning: &LinkTransport,
) -> Result<quinn::ServerConfig, LinkError> {
    let verifier = Arc::new(PinnedClientVerifier::new(trust));
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(Presented(identity.clone())));
    tls.alpn_protocols = alpn_protocols();
    tls.session_storage = Arc::new(NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| LinkError::Config(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport(
        max_requests_per_connection,
        max_requests_per_connection,
        tuning,
    )?));
    Ok(config)
}

/// What a bank presents in a handshake, as either end: its identity's certificate of the moment.
#[derive(Debug)]
struct Presented(Identity);

impl ResolvesServerCert for Presented {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.certified_key())
    }
}

impl ResolvesClientCert for Presented {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.certified_key())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
