//! A peer of an older build, which knows only `semper-link/1` and frame version 1, still talks
//! to this build's server: it is answered in version 1, whose error frames it reads as before.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use semper_link::{
    Decoder, Frame, FrameKind, Identity, PinnedServerVerifier, RemoteError, Role, TrustStore,
    bank_dns_name,
};

/// A quinn client as an old build made it: ALPN `semper-link/1` only.
async fn old_client(
    addr: std::net::SocketAddr,
    me: &Identity,
    server: &Identity,
    trust: Arc<TrustStore>,
) -> quinn::Connection {
    let dir = std::env::temp_dir().join(format!("semper-link-versions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    me.save(&certificate, &key).unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServerVerifier::new(trust, server.bank())))
        .with_client_auth_cert(vec![me.certificate().clone()], key)
        .unwrap();
    tls.alpn_protocols = vec![b"semper-link/1".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let endpoint = quinn::Endpoint::client(loopback()).unwrap();
    endpoint
        .connect_with(
            quinn::ClientConfig::new(Arc::new(crypto)),
            addr,
            &bank_dns_name(server.bank()),
        )
        .unwrap()
        .await
        .unwrap()
}

/// Sends one version-1 request and returns the answer frame's bytes, undecoded.
async fn exchange(connection: &quinn::Connection, id: u64, payload: &[u8]) -> Vec<u8> {
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    let request = Frame::new_in(1, FrameKind::Request, id, payload.to_vec()).unwrap();
    send.write_all(&request.encode()).await.unwrap();
    send.finish().unwrap();
    recv.read_to_end(1 << 16).await.unwrap()
}

#[tokio::test]
async fn an_old_peer_is_answered_in_version_1() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let (handler, _one_way) = TestHandler::new();
        let server = server(
            loopback(),
            &issuer,
            trust(&[(&acquirer, &[Role::Acquirer])]),
            handler,
        );
        let connection = old_client(
            server.local_addr(),
            &acquirer,
            &issuer,
            trust(&[(&issuer, &[Role::Issuer])]),
        )
        .await;
        assert_eq!(
            connection
                .handshake_data()
                .unwrap()
                .downcast::<quinn::crypto::rustls::HandshakeData>()
                .unwrap()
                .protocol
                .as_deref(),
            Some(&b"semper-link/1"[..])
        );

        let answer = exchange(&connection, 1, b"hello").await;
        assert_eq!(answer[0], 1, "a version-1 response");
        let frames = Decoder::new().feed(&answer).unwrap();
        assert_eq!(frames[0].payload(), echoed(acquirer.bank(), b"hello"));

        // An old build reads an error payload as code length, code, message: no flags byte.
        let answer = exchange(&connection, 2, b"retry:clearing.cycle_full").await;
        assert_eq!(answer[..2], [1, FrameKind::Error.to_byte()]);
        let payload = &answer[14..];
        assert_eq!(payload[0] as usize, "clearing.cycle_full".len());
        assert_eq!(&payload[1..20], b"clearing.cycle_full");
        assert_eq!(
            RemoteError::from_payload(1, payload).unwrap(),
            RemoteError::new("clearing.cycle_full", "refused for now")
        );
        connection.close(0u32.into(), b"done");
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}
