//! Keeps an acquirer's view of the issuers' denomination sets fresh: a refresh at start, then one
//! every `denomination_refresh_ms`; after a failed one (an issuer not reachable yet), a retry
//! within [`RETRY_AFTER`]. Coins of a denomination the acquirer has not seen are refused, so the
//! first refresh matters most.

use std::time::Duration;

use semper_actors::acquirer::AcquirerHandle;

/// Wait after a refresh that failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Starts the refresher of `acquirer` on the current actix system; abort the handle to stop it.
pub fn start(acquirer: AcquirerHandle, interval: Duration) -> tokio::task::JoinHandle<()> {
    actix::spawn(async move {
        loop {
            let wait = match acquirer.refresh_denominations().await {
                Ok(_) => interval,
                Err(error) => {
                    tracing::debug!(code = error.code(), "denomination refresh failed; retrying");
                    RETRY_AFTER.min(interval)
                }
            };
            tokio::time::sleep(wait).await;
        }
    })
}
