//! Requests, one-way messages, bounds and errors over QUIC with mutual TLS, on loopback.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use semper_link::{
    FRAME_PAYLOAD_MAX_BYTES, Limits, Link, LinkClient, LinkError, LinkServer, LinkServerConfig,
    Role,
};
use tokio::task::JoinSet;

const ACQUIRER: &[Role] = &[Role::Acquirer];
const ISSUER: &[Role] = &[Role::Issuer];

#[tokio::test]
async fn request_response_and_one_way_carry_the_peer_bank() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let (handler, mut one_way) = TestHandler::new();
        let server = server(
            loopback(),
            &issuer,
            trust(&[(&acquirer, ACQUIRER)]),
            handler,
        );
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, ISSUER)]),
        );
        let link = Link::connect(config).await.unwrap();

        let answer = link.request(b"spend-check".to_vec()).await.unwrap();
        assert_eq!(
            answer,
            echoed(acquirer.bank(), b"spend-check"),
            "the server saw the acquirer"
        );
        let server_peer = link.peer_identity().unwrap();
        assert_eq!(server_peer.bank(), issuer.bank());
        assert!(server_peer.has_role(Role::Issuer));

        link.send(b"report".to_vec()).await.unwrap();
        let (peer, payload) = one_way.recv().await.unwrap();
        assert_eq!(
            (peer.bank(), payload.as_slice()),
            (acquirer.bank(), &b"report"[..])
        );
        assert!(peer.has_role(Role::Acquirer) && !peer.has_role(Role::Clearing));

        // The same link, through the carrier-blind trait.
        let client: Arc<dyn LinkClient> = Arc::new(link.clone());
        assert_eq!(client.peer(), issuer.bank());
        assert_eq!(
            client.request(vec![]).await.unwrap(),
            echoed(acquirer.bank(), b"")
        );
        link.close().await;
        assert!(matches!(
            link.request(b"late".to_vec()).await,
            Err(LinkError::Closed)
        ));
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_are_all_answered() {
    bounded(async {
        const REQUESTS: u32 = 500;
        let (issuer, acquirer) = (identity(1), identity(2));
        let (handler, _one_way) = TestHandler::new();
        let config = LinkServerConfig {
            // Below the client's in-flight bound, so QUIC flow control holds requests back too.
            max_requests_per_connection: 16,
            ..LinkServerConfig::new(issuer.clone(), trust(&[(&acquirer, ACQUIRER)]))
        };
        let server = LinkServer::bind(loopback(), config, handler).unwrap();
        let mut config = link_config(
            server.local_addr(),
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, ISSUER)]),
        );
        config.limits = Limits {
            request_timeout: Duration::from_secs(20),
            max_in_flight: 64,
        };
        let link = Link::connect(config).await.unwrap();
        let mut requests = JoinSet::new();
        for i in 0..REQUESTS {
            let link = link.clone();
            requests.spawn(async move { (i, link.request(i.to_be_bytes().to_vec()).await) });
        }
        let mut answered = 0;
        while let Some(joined) = requests.join_next().await {
            let (i, answer) = joined.unwrap();
            assert_eq!(
                answer.unwrap(),
                echoed(acquirer.bank(), &i.to_be_bytes()),
                "request {i}"
            );
            answered += 1;
        }
        assert_eq!(answered, REQUESTS);
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await;
}

#[tokio::test]
async fn remote_errors_and_roles_come_back_intact() {
    bounded(async {
        let (clearing, acquirer) = (identity(3), identity(2));
        let (handler, _one_way) = TestHandler::new();
        let server = server(
            loopback(),
            &clearing,
            trust(&[(&acquirer, ACQUIRER)]),
            handler,
        );
        let config = link_config(
            server.local_addr(),
            clearing.bank(),
            &acquirer,
            trust(&[(&clearing, &[Role::Clearing])]),
        );
        let link = Link::connect(config).await.unwrap();

        match link
            .request(b"fail:issuer.denomination_expired".to_vec())
            .await
        {
            Err(LinkError::Remote {
                code,
                message,
                retryable,
            }) => {
                assert_eq!(code, "issuer.denomination_expired");
                assert_eq!(message, "refused on purpose");
                assert!(!retryable);
            }
            other => panic!("expected a remote error, got {other:?}"),
        }
        // The retryable bit crosses the link as the in-process carrier carries it.
        for (payload, expected) in [
            (&b"fail:issuer.busy"[..], ("issuer.busy", false)),
            (b"retry:clearing.cycle_full", ("clearing.cycle_full", true)),
        ] {
            let refusal = remote_refusal(link.request(payload.to_vec()).await).unwrap();
            assert_eq!((refusal.0.as_str(), refusal.1), expected);
        }
        let err = link.request(b"clearing-only".to_vec()).await.unwrap_err();
        assert_eq!(err.code(), "link.remote");
        assert!(matches!(err, LinkError::Remote { code, .. } if code == "link.wrong_role"));
        // The link still works after refusals.
        assert!(link.request(b"ok".to_vec()).await.is_ok());
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn a_request_without_an_answer_times_out_within_its_bound() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let (handler, _one_way) = TestHandler::new();
        let server = server(
            loopback(),
            &issuer,
            trust(&[(&acquirer, ACQUIRER)]),
            handler,
        );
        let mut config = link_config(
            server.local_addr(),
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, ISSUER)]),
        );
        config.limits.request_timeout = Duration::from_millis(300);
        let link = Link::connect(config).await.unwrap();

        let outcome =
            tokio::time::timeout(Duration::from_secs(5), link.request(b"hang".to_vec())).await;
        assert!(
            matches!(outcome, Ok(Err(LinkError::Timeout))),
            "{outcome:?}"
        );
        assert_eq!(
            link.request(b"after".to_vec()).await.unwrap(),
            echoed(acquirer.bank(), b"after")
        );
        // The server drops the abandoned handler, so a graceful shutdown has nothing to wait for.
        tokio::time::timeout(
            Duration::from_secs(5),
            server.shutdown(Duration::from_secs(3)),
        )
        .await
        .unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_oversize_payload_is_refused_before_sending() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let (handler, _one_way) = TestHandler::new();
        let server = server(
            loopback(),
            &issuer,
            trust(&[(&acquirer, ACQUIRER)]),
            handler,
        );
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, ISSUER)]),
        );
        let link = Link::connect(config).await.unwrap();
        let err = link
            .request(vec![0; FRAME_PAYLOAD_MAX_BYTES + 1])
            .await
            .unwrap_err();
        assert_eq!(err.code(), "link.too_large");
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}
