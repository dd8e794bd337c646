//! When the link certificates a process depends on expire: its own banks' (the ones they
//! present) and its peers' (the last of those pinned for each). Exported as a gauge that counts
//! down, and warned of at start and at each reload when one is near.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use semper_link::{Identity, TrustStore};
use semper_protocol::ids::BankId;

/// A certificate that expires within this is warned of: time enough to rotate it.
pub const CERTIFICATE_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How often the gauges are set again, as they count down.
const EXPORT_INTERVAL: Duration = Duration::from_secs(60);

/// When one bank's link certificate expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateExpiry {
    /// The bank.
    pub bank: BankId,
    /// Whether the bank is one this process runs (its presented certificate), or a peer.
    pub own: bool,
    /// The certificate's last valid moment.
    pub not_after: SystemTime,
}

impl CertificateExpiry {
    /// Whether it expires within [`CERTIFICATE_EXPIRY_WARNING`] of `now` (or has expired).
    pub fn is_near(&self, now: SystemTime) -> bool {
        self.not_after
            .duration_since(now)
            .map_or(true, |left| left < CERTIFICATE_EXPIRY_WARNING)
    }

    /// Whole days left at `now`; negative once expired.
    pub fn days_left(&self, now: SystemTime) -> i64 {
        const DAY_S: u64 = 86_400;
        match self.not_after.duration_since(now) {
            Ok(left) => i64::try_from(left.as_secs() / DAY_S).unwrap_or(i64::MAX),
            Err(past) => -i64::try_from(past.duration().as_secs() / DAY_S).unwrap_or(i64::MAX),
        }
    }
}

/// The expiry of each own bank's presented certificate, then of each peer's pinned ones.
pub fn expiries(own: &[Identity], trust: &TrustStore) -> Vec<CertificateExpiry> {
    let mut all: Vec<CertificateExpiry> = own
        .iter()
        .map(|identity| CertificateExpiry {
            bank: identity.bank(),
            own: true,
            not_after: identity.validity().not_after,
        })
        .collect();
    let peers = trust
        .expiries()
        .into_iter()
        .filter(|(bank, _)| !own.iter().any(|identity| identity.bank() == *bank))
        .map(|(bank, not_after)| CertificateExpiry {
            bank,
            own: false,
            not_after,
        });
    all.extend(peers);
    all
}

/// Sets the gauge of each of `expiries` at `now`.
pub fn export(expiries: &[CertificateExpiry], now: SystemTime) {
    for expiry in expiries {
        semper_link::metrics::record_certificate_expiry(expiry.bank, expiry.not_after, now);
    }
}

/// Logs a warning for each of `expiries` near at `now`; returns them.
pub fn warn_of_near(expiries: &[CertificateExpiry], now: SystemTime) -> Vec<CertificateExpiry> {
    let near: Vec<CertificateExpiry> = expiries
        .iter()
        .filter(|expiry| expiry.is_near(now))
        .cloned()
        .collect();
    for expiry in &near {
        tracing::warn!(
            bank = %expiry.bank,
            own = expiry.own,
            days_left = expiry.days_left(now),
            "a link certificate expires soon: rotate it (SECURITY.md, \"Rotating a link certificate\")"
        );
    }
    near
}

/// Exports the gauges now and every [`EXPORT_INTERVAL`] on the current actix system; the
/// identities are shared handles, so a rotation shows at the next export. Abort the handle to
/// stop it.
pub fn start_exporter(own: Vec<Identity>, trust: Arc<TrustStore>) -> tokio::task::JoinHandle<()> {
    actix::spawn(async move {
        loop {
            export(&expiries(&own, &trust), SystemTime::now());
            tokio::time::sleep(EXPORT_INTERVAL).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use semper_link::{Role, RoleSet, TrustedPeer, Validity};

    const DAY: Duration = Duration::from_secs(86_400);

    fn identity(n: u8, days: u32) -> Identity {
        Identity::generate(BankId([n; 16]), Validity::starting_now(DAY * days)).unwrap()
    }

    #[test]
    fn own_banks_count_their_presented_certificate_and_peers_their_last_pinned_one() {
        let own = identity(1, 10);
        let (peer_old, peer_next) = (identity(2, 20), identity(2, 400));
        let pinned = |identity: &Identity| TrustedPeer {
            bank: identity.bank(),
            roles: RoleSet::of(&[Role::Issuer]),
            certificate: identity.certificate(),
        };
        let trust = TrustStore::new([pinned(&own), pinned(&peer_old), pinned(&peer_next)]).unwrap();
        let now = SystemTime::now();
        let all = expiries(std::slice::from_ref(&own), &trust);
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!((all[0].bank, all[0].own), (own.bank(), true));
        assert_eq!(all[0].days_left(now), 9);
        assert_eq!((all[1].bank, all[1].own), (peer_next.bank(), false));
        assert_eq!(all[1].days_left(now), 399);
        // Ten days left is near (under 30); the peer's next certificate is not.
        let near = warn_of_near(&all, now);
        assert_eq!(near, vec![all[0].clone()]);
    }
}
