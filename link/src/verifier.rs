//! rustls verifiers for pinned mutual TLS: each side accepts only a trusted peer's exact
//! certificate, inside its validity window, and checks the TLS 1.3 handshake signature.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use semper_protocol::ids::BankId;

use crate::trust::{TrustError, TrustStore, Usage};

/// The client's verifier of the server: the server must be the one bank the link was made for.
#[derive(Debug)]
pub struct PinnedServerVerifier {
    trust: Arc<TrustStore>,
    expected: BankId,
}

impl PinnedServerVerifier {
    /// A verifier that accepts only `expected`'s pinned certificates from `trust`.
    pub fn new(trust: Arc<TrustStore>, expected: BankId) -> Self {
        Self { trust, expected }
    }

    /// The check behind [`ServerCertVerifier::verify_server_cert`], with a typed refusal.
    pub fn check(&self, end_entity: &CertificateDer<'_>, now: UnixTime) -> Result<(), TrustError> {
        let peer = self.trust.check(end_entity, now, Usage::Server)?;
        if peer.bank() != self.expected {
            return Err(TrustError::WrongPeer {
                expected: self.expected,
                found: peer.bank(),
            });
        }
        Ok(())
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.check(end_entity, now)
            .map_err(|e| refused("server", e))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.trust.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.trust.algorithms().supported_schemes()
    }
}

/// The server's verifier of clients: a client certificate is required, and must be pinned.
#[derive(Debug)]
pub struct PinnedClientVerifier {
    trust: Arc<TrustStore>,
}

impl PinnedClientVerifier {
    /// A verifier that accepts any peer pinned in `trust`.
    pub fn new(trust: Arc<TrustStore>) -> Self {
        Self { trust }
    }

    /// The check behind [`ClientCertVerifier::verify_client_cert`], with a typed refusal.
    pub fn check(&self, end_entity: &CertificateDer<'_>, now: UnixTime) -> Result<(), TrustError> {
        self.trust.check(end_entity, now, Usage::Client).map(|_| ())
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.check(end_entity, now)
            .map_err(|e| refused("client", e))?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(tls12_refused())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.trust.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.trust.algorithms().supported_schemes()
    }
}

/// QUIC runs only TLS 1.3, and the configs offer nothing else.
fn tls12_refused() -> Error {
    Error::General("TLS 1.2 is not used by the link".to_owned())
}

/// Logs a refusal and maps it to the rustls error whose alert tells the peer why.
fn refused(side: &'static str, error: TrustError) -> Error {
    tracing::warn!(side, code = error.code(), %error, "refused a peer certificate");
    let certificate_error = match error {
        TrustError::NoCertificate => return Error::NoCertificatesPresented,
        TrustError::Untrusted => CertificateError::UnknownIssuer,
        TrustError::Expired => CertificateError::Expired,
        TrustError::NotYetValid => CertificateError::NotValidYet,
        TrustError::WrongPeer { .. } => CertificateError::NotValidForName,
        TrustError::BadCertificate(_) | TrustError::InvalidEntry { .. } => {
            CertificateError::BadEncoding
        }
    };
    Error::InvalidCertificate(certificate_error)
}
