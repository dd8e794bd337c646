//! A link outlives its peer's restart: calls fail while the peer is down, and succeed again once
//! it is back, on the same `Link`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use semper_link::{Handler, Identity, Link, LinkServer, Role, TrustStore};

/// Binds a server on exactly `addr`, retrying while the old socket is still being released.
async fn rebind(
    addr: SocketAddr,
    identity: &Identity,
    trust: Arc<TrustStore>,
    handler: Arc<dyn Handler>,
) -> LinkServer {
    for _ in 0..100 {
        let config = semper_link::LinkServerConfig::new(identity.clone(), trust.clone());
        match LinkServer::bind(addr, config, handler.clone()) {
            Ok(server) => return server,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("could not bind {addr} again");
}

#[tokio::test]
async fn requests_succeed_again_after_the_peer_restarts() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let server_trust = trust(&[(&acquirer, &[Role::Acquirer])]);
        let (handler, _one_way) = TestHandler::new();
        let first = server(loopback(), &issuer, server_trust.clone(), handler);
        let addr = first.local_addr();
        let mut config = link_config(
            addr,
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, &[Role::Issuer])]),
        );
        config.limits.request_timeout = Duration::from_millis(800);
        let link = Link::connect(config).await.unwrap();
        assert_eq!(
            link.request(b"one".to_vec()).await.unwrap(),
            echoed(acquirer.bank(), b"one")
        );

        first.shutdown(Duration::ZERO).await;
        let down = link.request(b"two".to_vec()).await.unwrap_err();
        assert!(
            matches!(
                down.code(),
                "link.unreachable" | "link.connection_lost" | "link.timeout"
            ),
            "{down}"
        );

        let (handler, mut one_way) = TestHandler::new();
        let second = rebind(addr, &issuer, server_trust, handler).await;
        let mut answer = None;
        for _ in 0..40 {
            match link.request(b"three".to_vec()).await {
                Ok(got) => {
                    answer = Some(got);
                    break;
                }
                Err(error) => assert!(!error.code().starts_with("link.refused"), "{error}"),
            }
        }
        assert_eq!(
            answer,
            Some(echoed(acquirer.bank(), b"three")),
            "the link came back"
        );
        link.send(b"four".to_vec()).await.unwrap();
        assert_eq!(
            one_way.recv().await.unwrap().1,
            b"four",
            "the new server got the message"
        );
        second.shutdown(Duration::ZERO).await;
    })
    .await;
}
