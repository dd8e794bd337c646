//! A peer reached at several addresses (a bank's card lists one per link process): the link
//! skips an address that does not answer, keeps to the one that does, and moves on when that
//! one goes away.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::*;
use semper_link::{Link, PEER_ADDRS_MAX, Role};

/// A UDP socket that takes datagrams and never answers: an address whose server is dead (held,
/// so that nothing else can take its port during the test).
fn black_hole() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind(loopback()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// How many datagrams reached the black hole since it was last drained.
fn drained(socket: &UdpSocket) -> usize {
    let mut buffer = [0u8; 2048];
    std::iter::from_fn(|| socket.recv(&mut buffer).ok()).count()
}

#[tokio::test]
async fn a_dead_first_address_is_skipped_and_the_working_one_kept() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let (handler, _one_way) = TestHandler::new();
        let live = server(
            loopback(),
            &issuer,
            trust(&[(&acquirer, &[Role::Acquirer])]),
            handler,
        );
        let (dead, dead_addr) = black_hole();
        let mut config = link_config(
            dead_addr,
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, &[Role::Issuer])]),
        );
        config.peer_addrs = vec![dead_addr, live.local_addr()];
        let link = Link::open(config).unwrap();

        assert_eq!(
            link.request(b"one".to_vec()).await.unwrap(),
            echoed(acquirer.bank(), b"one"),
            "the second address answered"
        );
        assert!(drained(&dead) > 0, "the first address was tried first");

        // Once connected, calls keep to the address that answered, on reconnection too.
        link.reconnect();
        for n in 0..5u8 {
            let payload = vec![n];
            assert_eq!(
                link.request(payload.clone()).await.unwrap(),
                echoed(acquirer.bank(), &payload)
            );
        }
        assert_eq!(drained(&dead), 0, "the dead address was not tried again");
        live.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn traffic_moves_to_the_other_address_when_the_one_in_use_dies() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let server_trust = trust(&[(&acquirer, &[Role::Acquirer])]);
        // Two link processes of one bank: the same identity on two addresses.
        let (first_handler, mut first_got) = TestHandler::new();
        let (second_handler, mut second_got) = TestHandler::new();
        let first = server(loopback(), &issuer, server_trust.clone(), first_handler);
        let second = server(loopback(), &issuer, server_trust, second_handler);
        let mut config = link_config(
            first.local_addr(),
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, &[Role::Issuer])]),
        );
        config.peer_addrs = vec![first.local_addr(), second.local_addr()];
        let link = Link::connect(config).await.unwrap();

        link.send(b"to the first".to_vec()).await.unwrap();
        assert_eq!(first_got.recv().await.unwrap().1, b"to the first");

        first.shutdown(Duration::ZERO).await;
        // A call may still find the closed connection; within a few, the link is on the other.
        let mut answer = None;
        for _ in 0..10 {
            if let Ok(got) = link.request(b"after".to_vec()).await {
                answer = Some(got);
                break;
            }
        }
        assert_eq!(answer, Some(echoed(acquirer.bank(), b"after")));
        link.send(b"to the second".to_vec()).await.unwrap();
        assert_eq!(second_got.recv().await.unwrap().1, b"to the second");
        assert!(
            first_got.try_recv().is_err(),
            "nothing more reached the first"
        );
        second.shutdown(Duration::ZERO).await;
    })
    .await;
}

#[tokio::test]
async fn address_lists_a_link_cannot_use_are_refused() {
    bounded(async {
        let (issuer, acquirer) = (identity(1), identity(2));
        let base = link_config(
            loopback(),
            issuer.bank(),
            &acquirer,
            trust(&[(&issuer, &[Role::Issuer])]),
        );
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:9".parse().unwrap();
        for addrs in [vec![], vec![v4; PEER_ADDRS_MAX + 1], vec![v4, v6]] {
            let mut config = base.clone();
            config.peer_addrs = addrs.clone();
            let error = Link::open(config).unwrap_err();
            assert_eq!(error.code(), "link.config", "{addrs:?}: {error}");
        }
    })
    .await;
}
