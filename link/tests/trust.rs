//! Pinned mutual TLS over QUIC: every kind of untrusted peer is refused, by either side.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use semper_link::{Link, LinkConfig, LinkError, PinnedServerVerifier, Refusal, RefusedBy, Role};
use semper_protocol::ids::BankId;

const ANY: &[Role] = &[Role::Issuer, Role::Acquirer, Role::Clearing];

/// The refusal a client meets: at connect, or on its first request if the server refuses the
/// client's certificate after the client has finished its side of the handshake.
async fn refusal(config: LinkConfig) -> LinkError {
    match Link::connect(config).await {
        Err(error) => error,
        Ok(link) => link
            .request(b"hello".to_vec())
            .await
            .expect_err("an untrusted peer must not get an answer"),
    }
}

fn assert_refused(error: LinkError, by: RefusedBy, refusal: Refusal) {
    assert_eq!(error.code(), "link.refused", "{error}");
    match error {
        LinkError::Refused {
            by: got_by,
            refusal: got,
        } => assert_eq!((got_by, got), (by, refusal)),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A server for `issuer` that trusts `trusted`, with a handler counting what reaches it.
fn issuer_server(
    issuer: &semper_link::Identity,
    trusted: &[(&semper_link::Identity, &[Role])],
) -> (semper_link::LinkServer, OneWayReceiver) {
    let (handler, one_way) = TestHandler::new();
    (server(loopback(), issuer, trust(trusted), handler), one_way)
}

#[tokio::test]
async fn the_server_refuses_an_untrusted_client_certificate() {
    bounded(async {
        let (issuer, acquirer, stranger) = (identity(1), identity(2), identity(9));
        let (server, _) = issuer_server(&issuer, &[(&acquirer, ANY)]);
        // The stranger trusts the issuer, but the issuer does not trust the stranger.
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &stranger,
            trust(&[(&issuer, ANY)]),
        );
        assert_refused(
            refusal(config).await,
            RefusedBy::Peer,
            Refusal::UntrustedCertificate,
        );
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn the_server_refuses_a_new_certificate_for_a_trusted_bank() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let (server, _) = issuer_server(&issuer, &[(&acquirer, ANY)]);
        // Same bank, but not the pinned certificate.
        let impostor = identity(2);
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &impostor,
            trust(&[(&issuer, ANY)]),
        );
        assert_refused(
            refusal(config).await,
            RefusedBy::Peer,
            Refusal::UntrustedCertificate,
        );
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn the_client_refuses_an_untrusted_server() {
    bounded(async {
        let (impostor, acquirer) = (identity(1), identity(2));
        let (server, _) = issuer_server(&impostor, &[(&acquirer, ANY)]);
        // The client pins another certificate for bank 1.
        let pinned = identity(1);
        let config = link_config(
            server.local_addr(),
            bank(1),
            &acquirer,
            trust(&[(&pinned, ANY)]),
        );
        assert_refused(
            refusal(config).await,
            RefusedBy::Local,
            Refusal::UntrustedCertificate,
        );
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn the_client_refuses_a_trusted_server_of_another_bank() {
    bounded(async {
        let (issuer, clearing, acquirer) = (identity(1), identity(3), identity(2));
        let (server, _) = issuer_server(&clearing, &[(&acquirer, ANY)]);
        // The link is for the issuer, but the clearing house answers at that address.
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, ANY), (&clearing, ANY)]),
        );
        assert_refused(
            refusal(config).await,
            RefusedBy::Local,
            Refusal::BadCertificate,
        );
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused() {
    bounded(async {
        let (issuer, expired) = (identity(1), expired_identity(2));
        let (server, _) = issuer_server(&issuer, &[(&expired, ANY)]);
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &expired,
            trust(&[(&issuer, ANY)]),
        );
        assert_refused(
            refusal(config).await,
            RefusedBy::Peer,
            Refusal::CertificateExpired,
        );
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn an_expired_server_certificate_is_refused() {
    bounded(async {
        let (expired, acquirer) = (expired_identity(1), identity(2));
        let (server, _) = issuer_server(&expired, &[(&acquirer, ANY)]);
        let config = link_config(
            server.local_addr(),
            expired.bank(),
            &acquirer,
            trust(&[(&expired, ANY)]),
        );
        assert_refused(
            refusal(config).await,
            RefusedBy::Local,
            Refusal::CertificateExpired,
        );
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let (server, _) = issuer_server(&issuer, &[(&acquirer, ANY)]);
        let closed = connect_without_certificate(
            server.local_addr(),
            issuer.bank(),
            trust(&[(&issuer, ANY)]),
        )
        .await;
        match closed {
            quinn::ConnectionError::ConnectionClosed(close) => {
                // CRYPTO_ERROR carrying the TLS alert certificate_required (116).
                assert_eq!(u64::from(close.error_code), 0x100 + 116, "{close}");
            }
            other => panic!("expected the server to close the handshake, got {other:?}"),
        }
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

/// Connects with a plain quinn client that trusts the server but presents no certificate;
/// returns how the connection ended.
async fn connect_without_certificate(
    addr: SocketAddr,
    server_bank: BankId,
    trust: Arc<semper_link::TrustStore>,
) -> quinn::ConnectionError {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServerVerifier::new(trust, server_bank)))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"semper-link/1".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let endpoint = quinn::Endpoint::client(loopback()).unwrap();
    let connecting = endpoint
        .connect_with(
            quinn::ClientConfig::new(Arc::new(crypto)),
            addr,
            &semper_link::bank_dns_name(server_bank),
        )
        .unwrap();
    match connecting.await {
        Err(error) => error,
        Ok(connection) => connection.closed().await,
    }
}
