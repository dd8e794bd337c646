//! The link's metrics, each name written once, and one link's handles on them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use metrics::{Counter, Histogram, SharedString};
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
