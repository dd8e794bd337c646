//! The link's metrics, each name written once, and one link's handles on them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use metrics::{Counter, Gauge, Histogram, SharedString};
use semper_protocol::ids::BankId;

use crate::error::LinkError;

/// Time from sending a request to its answer (a response or the peer's error), in seconds, by
/// peer bank.
pub const LINK_REQUEST_SECONDS: &str = "semper_link_request_seconds";
/// Requests made, by peer bank and result (`ok`, or the failure's code).
pub const LINK_REQUESTS: &str = "semper_link_requests_total";
/// Connections made to a peer after the first one, by peer bank.
pub const LINK_RECONNECTS: &str = "semper_link_reconnects_total";

/// Seconds until a bank's link certificate expires (negative once it has), by bank: for a bank
/// of this process the certificate it presents, for a peer the last to expire of those pinned
/// for it (see [`crate::TrustStore::expiries`]).
pub const LINK_CERTIFICATE_EXPIRY_SECONDS: &str = "semper_link_certificate_expiry_seconds";

/// Sets the expiry gauge of `bank`, whose certificate is valid until `not_after`, at `now`.
pub fn record_certificate_expiry(bank: BankId, not_after: SystemTime, now: SystemTime) {
    let seconds = crate::validity::seconds_until(not_after, now);
    metrics::gauge!(LINK_CERTIFICATE_EXPIRY_SECONDS, "bank" => bank.to_string()).set(seconds);
}

/// The result label of a request answered with a response.
const RESULT_OK: &str = "ok";

/// One link's series, registered when the link is made: its peer's label is formatted once,
/// and the common paths record through handles, with no lookup or allocation.
pub(crate) struct PeerMetrics {
    peer: SharedString,
    seconds: Histogram,
    ok: Counter,
    reconnects: Counter,
}

impl PeerMetrics {
    /// Registers the series of a link to `peer`.
    pub(crate) fn register(peer: BankId) -> Self {
        let peer = SharedString::from(Arc::<str>::from(peer.to_string()));
        Self {
            seconds: metrics::histogram!(LINK_REQUEST_SECONDS, "peer" => peer.clone()),
            ok: metrics::counter!(LINK_REQUESTS, "peer" => peer.clone(), "result" => RESULT_OK),
            reconnects: metrics::counter!(LINK_RECONNECTS, "peer" => peer.clone()),
            peer,
        }
    }

    /// Records a request that took `elapsed`: counted by result, and timed when the peer
    /// answered it (a timeout or a lost connection is no round trip).
    pub(crate) fn request<T>(&self, elapsed: Duration, result: &Result<T, LinkError>) {
        match result {
            Ok(_) => self.ok.increment(1),
            Err(error) => {
                metrics::counter!(LINK_REQUESTS, "peer" => self.peer.clone(), "result" => error.code())
                    .increment(1)
            }
        }
        if matches!(result, Ok(_) | Err(LinkError::Remote { .. })) {
            self.seconds.record(elapsed.as_secs_f64());
        }
    }

    /// Counts a connection made after an earlier one.
    pub(crate) fn reconnected(&self) {
        self.reconnects.increment(1);
    }
}

/// Handshakes under way on a link server: accepted from a validated address, not yet done.
pub const LINK_HANDSHAKES_IN_PROGRESS: &str = "semper_link_handshakes_in_progress";
/// Handshakes a link server ended, by result (see [`HandshakeResult`]).
pub const LINK_HANDSHAKES: &str = "semper_link_handshakes_total";
/// Connection slots in use on a link server: authenticated peers being served.
pub const LINK_CONNECTIONS_OPEN: &str = "semper_link_connections_open";
/// Authenticated peers a link server took or refused for want of a slot, by result
/// (`accepted`, `refused_full`).
pub const LINK_CONNECTIONS: &str = "semper_link_connections_total";

/// How a handshake on a link server ended: the `result` label of [`LINK_HANDSHAKES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeResult {
    /// The source address was not yet validated: a Retry was sent and nothing kept.
    Retried = 0,
    /// Refused: the bound on handshakes under way was reached.
    RefusedBusy = 1,
    /// Refused: the bound on handshakes under way from one source address was reached.
    RefusedAddress = 2,
    /// The handshake did not finish within the server's deadline.
    TimedOut = 3,
    /// The handshake failed (TLS refusal, closed by the client, idle).
    Failed = 4,
    /// The handshake finished but the certificate maps to no trusted bank.
    UnknownPeer = 5,
    /// The peer is authenticated: mutual TLS done and mapped to the trust list.
    Authenticated = 6,
}

impl HandshakeResult {
    /// Every result, for registering the series up front.
    const ALL: [Self; 7] = [
        Self::Retried,
        Self::RefusedBusy,
        Self::RefusedAddress,
        Self::TimedOut,
        Self::Failed,
        Self::UnknownPeer,
        Self::Authenticated,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retried => "retried",
            Self::RefusedBusy => "refused_busy",
            Self::RefusedAddress => "refused_address",
            Self::TimedOut => "timed_out",
            Self::Failed => "failed",
            Self::UnknownPeer => "unknown_peer",
            Self::Authenticated => "authenticated",
        }
    }
}

/// A link server's series, registered when it binds, so that a scrape shows them at zero before
/// the first attack rather than only after it.
#[derive(Clone)]
pub(crate) struct ServerMetrics {
    in_progress: Gauge,
    handshakes: [Counter; HandshakeResult::ALL.len()],
    open: Gauge,
    accepted: Counter,
    refused_full: Counter,
}

impl ServerMetrics {
    /// Registers a link server's series.
    pub(crate) fn register() -> Self {
        Self {
            in_progress: metrics::gauge!(LINK_HANDSHAKES_IN_PROGRESS),
            handshakes: HandshakeResult::ALL
                .map(|result| metrics::counter!(LINK_HANDSHAKES, "result" => result.as_str())),
            open: metrics::gauge!(LINK_CONNECTIONS_OPEN),
            accepted: metrics::counter!(LINK_CONNECTIONS, "result" => "accepted"),
            refused_full: metrics::counter!(LINK_CONNECTIONS, "result" => "refused_full"),
        }
    }

    /// Counts a handshake that ended with `result`.
    pub(crate) fn handshake(&self, result: HandshakeResult) {
        // The discriminants are the positions in `HandshakeResult::ALL`.
        self.handshakes[result as usize].increment(1);
    }

    /// Counts a handshake under way until the returned guard is dropped.
    pub(crate) fn handshake_started(&self) -> GaugeGuard {
        GaugeGuard::enter(self.in_progress.clone())
    }

    /// Counts an authenticated peer refused because every slot is taken.
    pub(crate) fn refused_full(&self) {
        self.refused_full.increment(1);
    }

    /// Counts a connection slot in use until the returned guard is dropped.
    pub(crate) fn connection_opened(&self) -> GaugeGuard {
        self.accepted.increment(1);
        GaugeGuard::enter(self.open.clone())
    }
}

/// One unit of a gauge, given back when dropped, so no exit path forgets it.
pub(crate) struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn enter(gauge: Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
