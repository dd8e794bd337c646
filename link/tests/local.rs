//! The in-process carrier behaves like the QUIC one behind the same trait.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use semper_link::{
    FRAME_PAYLOAD_MAX_BYTES, Limits, LinkClient, LinkError, LocalLink, PeerIdentity, Role, RoleSet,
};

fn local(limits: Limits) -> (Arc<dyn LinkClient>, OneWayReceiver) {
    let (handler, one_way) = TestHandler::new();
    let caller = PeerIdentity::new(bank(2), RoleSet::of(&[Role::Acquirer]));
    let link = LocalLink::new(handler, caller, bank(1), limits).unwrap();
    (Arc::new(link), one_way)
}

#[tokio::test]
async fn answers_errors_and_one_way_messages_match_the_quic_carrier() {
    bounded(async {
        let (link, mut one_way) = local(Limits::default());
        assert_eq!(link.peer(), bank(1));
        assert_eq!(
            link.request(b"x".to_vec()).await.unwrap(),
            echoed(bank(2), b"x")
        );
        match link.request(b"fail:issuer.busy".to_vec()).await {
            Err(LinkError::Remote { code, message, .. }) => {
                assert_eq!(
                    (code.as_str(), message.as_str()),
                    ("issuer.busy", "refused on purpose")
                );
            }
            other => panic!("expected a remote error, got {other:?}"),
        }
        // The refusing handler, not the code's spelling, says what may be retried.
        for (payload, expected) in [
            (&b"fail:issuer.busy"[..], ("issuer.busy", false)),
            (b"retry:clearing.cycle_full", ("clearing.cycle_full", true)),
        ] {
            let refusal = remote_refusal(link.request(payload.to_vec()).await).unwrap();
            assert_eq!((refusal.0.as_str(), refusal.1), expected);
        }
        link.send(b"note".to_vec()).await.unwrap();
        let (peer, payload) = one_way.recv().await.unwrap();
        assert_eq!((peer.bank(), payload), (bank(2), b"note".to_vec()));
        let err = link
            .request(vec![0; FRAME_PAYLOAD_MAX_BYTES + 1])
            .await
            .unwrap_err();
        assert_eq!(err.code(), "link.too_large");
    })
    .await;
}

#[tokio::test]
async fn timeout_and_busy_follow_the_limits() {
    bounded(async {
        let limits = Limits {
            request_timeout: Duration::from_millis(100),
            max_in_flight: 1,
        };
        let (link, _one_way) = local(limits);
        let hanging = link.request(b"hang".to_vec());
        let queued = link.request(b"y".to_vec());
        let (hanging, queued) = tokio::join!(hanging, queued);
        assert!(matches!(hanging, Err(LinkError::Timeout)), "{hanging:?}");
        // The second call waited for the only slot for its whole timeout.
        assert!(matches!(queued, Err(LinkError::Busy)), "{queued:?}");
        assert!(
            link.request(b"z".to_vec()).await.is_ok(),
            "the slot is free again"
        );
    })
    .await;
}
