//! Rotating a bank's link certificate while links run: a bank pinned with two certificates is
//! accepted with either; an identity replaced in place is presented to new connections once the
//! links reconnect, and is refused until the peer's trust list is reloaded with it; a request
//! under way when the link reconnects finishes on its old connection.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use semper_link::{
    Handler, HandlerFuture, Identity, Link, PeerIdentity, Role, RoleSet, TrustStore, TrustedPeer,
};

/// How long the slow handler takes to answer: long enough to rotate around a request under way.
const SLOW_ANSWER: Duration = Duration::from_millis(400);

/// Answers each request with the requester's bank and the payload, `slow` ones after
/// [`SLOW_ANSWER`].
struct SlowHandler;

impl Handler for SlowHandler {
    fn request(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>> {
        Box::pin(async move {
            if payload == b"slow" {
                tokio::time::sleep(SLOW_ANSWER).await;
            }
            Ok(echoed(peer.bank(), &payload))
        })
    }

    fn one_way(&self, _peer: PeerIdentity, _payload: Vec<u8>) -> HandlerFuture<()> {
        Box::pin(async { Ok(()) })
    }
}

/// The trust entries of `identities`, each in `role`: several may be of one bank.
fn pinned(identities: &[(&Identity, Role)]) -> Vec<TrustedPeer> {
    identities
        .iter()
        .map(|(identity, role)| TrustedPeer {
            bank: identity.bank(),
            roles: RoleSet::of(&[*role]),
            certificate: identity.certificate(),
        })
        .collect()
}

#[tokio::test]
async fn a_bank_pinned_with_two_certificates_is_accepted_with_either() {
    bounded(async {
        let issuer = identity(1);
        let (current, next) = (identity(2), identity(2));
        let server_trust = Arc::new(
            TrustStore::new(pinned(&[
                (&current, Role::Acquirer),
                (&next, Role::Acquirer),
            ]))
            .unwrap(),
        );
        let server = server(loopback(), &issuer, server_trust, Arc::new(SlowHandler));
        for presented in [&current, &next] {
            let config = link_config(
                server.local_addr(),
                issuer.bank(),
                presented,
                trust(&[(&issuer, &[Role::Issuer])]),
            );
            let link = Link::connect(config).await.unwrap();
            assert_eq!(
                link.request(b"hello".to_vec()).await.unwrap(),
                echoed(presented.bank(), b"hello")
            );
            link.close().await;
        }
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn a_rotated_client_identity_is_refused_until_the_peer_reloads_its_trust_list() {
    bounded(async {
        let issuer = identity(1);
        let (acquirer, acquirer_next) = (identity(2), identity(2));
        let server_trust =
            Arc::new(TrustStore::new(pinned(&[(&acquirer, Role::Acquirer)])).unwrap());
        let server = server(
            loopback(),
            &issuer,
            server_trust.clone(),
            Arc::new(SlowHandler),
        );
        // The acquirer's node keeps this handle; its link holds a clone of it.
        let presented = acquirer.clone();
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &presented,
            trust(&[(&issuer, &[Role::Issuer])]),
        );
        let link = Link::connect(config).await.unwrap();
        assert!(link.request(b"before".to_vec()).await.is_ok());

        // A request under way when the acquirer switches to its next certificate and reconnects
        // finishes on the connection it started on.
        let slow = tokio::spawn({
            let link = link.clone();
            async move { link.request(b"slow".to_vec()).await }
        });
        tokio::time::sleep(SLOW_ANSWER / 4).await;
        presented.replace(&acquirer_next).unwrap();
        link.reconnect();
        // The issuer has not reloaded: a new connection with the next certificate is refused.
        let refused = link.request(b"too early".to_vec()).await.unwrap_err();
        assert_eq!(refused.code(), "link.refused", "{refused}");
        assert_eq!(
            slow.await.unwrap().unwrap(),
            echoed(acquirer.bank(), b"slow")
        );

        // Once the issuer's list pins the next certificate (here alone: the changeover is
        // over), the same link is accepted again.
        server_trust
            .replace(pinned(&[(&acquirer_next, Role::Acquirer)]))
            .unwrap();
        assert_eq!(
            link.request(b"after".to_vec()).await.unwrap(),
            echoed(acquirer.bank(), b"after")
        );
        link.close().await;
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn a_rotated_server_identity_is_presented_to_new_connections_once_clients_trust_it() {
    bounded(async {
        let (issuer, issuer_next) = (identity(1), identity(1));
        let acquirer = identity(2);
        // Clones share the identity: what the server presents follows `served.replace`.
        let served = issuer.clone();
        let old_certificate = issuer.certificate();
        let server = server(
            loopback(),
            &served,
            trust(&[(&acquirer, &[Role::Acquirer])]),
            Arc::new(SlowHandler),
        );
        let client_trust = Arc::new(TrustStore::new(pinned(&[(&issuer, Role::Issuer)])).unwrap());
        let config = link_config(
            server.local_addr(),
            issuer.bank(),
            &acquirer,
            client_trust.clone(),
        );
        let link = Link::connect(config).await.unwrap();
        assert!(link.request(b"before".to_vec()).await.is_ok());

        // The changeover: the client pins both, the server switches, the client reconnects.
        client_trust
            .replace(pinned(&[
                (&issuer, Role::Issuer),
                (&issuer_next, Role::Issuer),
            ]))
            .unwrap();
        served.replace(&issuer_next).unwrap();
        link.reconnect();
        assert!(link.request(b"during".to_vec()).await.is_ok());

        // The old certificate dropped: the new connection was made with the next one.
        client_trust
            .replace(pinned(&[(&issuer_next, Role::Issuer)]))
            .unwrap();
        link.reconnect();
        assert!(link.request(b"after".to_vec()).await.is_ok());

        // A client that pins only the old certificate refuses the rotated server.
        let stale_trust = TrustStore::new([TrustedPeer {
            bank: issuer.bank(),
            roles: RoleSet::of(&[Role::Issuer]),
            certificate: old_certificate,
        }])
        .unwrap();
        let stale = link_config(
            server.local_addr(),
            issuer.bank(),
            &acquirer,
            Arc::new(stale_trust),
        );
        let error = Link::connect(stale).await.unwrap_err();
        assert_eq!(error.code(), "link.refused", "{error}");
        link.close().await;
        server.shutdown(Duration::ZERO).await;
    })
    .await;
}
