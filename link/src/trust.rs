//! Who is trusted: each peer bank's exact certificate (pinning) and its roles. The list can be
//! replaced while links use it (a reload of the peers' cards): every handshake checks the list
//! of the moment.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use semper_protocol::ids::BankId;

use crate::identity::certificate_names_bank;
use crate::peer::{PeerIdentity, RoleSet};
use crate::validity::Validity;

/// One trusted peer from the config: a bank, its roles, and the certificate it presents.
#[derive(Debug, Clone)]
pub struct TrustedPeer {
    /// The peer's bank.
    pub bank: BankId,
    /// The roles the peer is trusted in.
    pub roles: RoleSet,
    /// The peer's certificate, pinned byte for byte.
    pub certificate: CertificateDer<'static>,
}

/// Why a peer, or a trust list entry, was refused. Each variant has a stable [`TrustError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The peer presented no certificate.
    #[error("the peer presented no certificate")]
    NoCertificate,
    /// The peer's certificate is none of the pinned ones.
    #[error("the peer's certificate is not one of the trusted certificates")]
    Untrusted,
    /// The peer's certificate is past its not-after time.
    #[error("the peer's certificate has expired")]
    Expired,
    /// The peer's certificate is before its not-before time.
    #[error("the peer's certificate is not valid yet")]
    NotYetValid,
    /// The peer is trusted, but is not the bank this link was made to reach.
    #[error("expected bank {expected}, but the peer is bank {found}")]
    WrongPeer {
        /// The bank the link was made for.
        expected: BankId,
        /// The bank the peer's certificate belongs to.
        found: BankId,
    },
    /// The certificate is malformed or its self-signature does not verify.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// A trust list entry is unusable: its certificate does not name its bank, or is listed twice.
    #[error("trust list entry for bank {bank}: {reason}")]
    InvalidEntry {
        /// The entry's bank.
        bank: BankId,
        /// What is wrong with it.
        reason: String,
    },
}

impl TrustError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCertificate => "trust.no_certificate",
            Self::Untrusted => "trust.untrusted",
            Self::Expired => "trust.expired",
            Self::NotYetValid => "trust.not_yet_valid",
            Self::WrongPeer { .. } => "trust.wrong_peer",
            Self::BadCertificate(_) => "trust.bad_certificate",
            Self::InvalidEntry { .. } => "trust.invalid_entry",
        }
    }
}

/// Which side of a handshake a certificate authenticates: it must allow that use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// The certificate of the side that accepted the connection.
    Server,
    /// The certificate of the side that opened the connection.
    Client,
}

/// The pinned certificates of every trusted peer, validated when built. Shared (in an `Arc`) by
/// a node's link server and links; [`TrustStore::replace`] swaps the whole list at once.
pub struct TrustStore {
    pinned: RwLock<Arc<Pinned>>,
    algorithms: WebPkiSupportedAlgorithms,
}

/// One version of the trust list: each pinned certificate's peer and validity window.
#[derive(Default)]
struct Pinned {
    by_certificate: HashMap<Vec<u8>, (PeerIdentity, Validity)>,
}

impl Pinned {
    /// Validates `peers` into a list.
    fn new(peers: impl IntoIterator<Item = TrustedPeer>) -> Result<Self, TrustError> {
        let mut by_certificate = HashMap::new();
        for peer in peers {
            let invalid = |reason: String| TrustError::InvalidEntry {
                bank: peer.bank,
                reason,
            };
            if !certificate_names_bank(&peer.certificate, peer.bank).map_err(invalid)? {
                return Err(invalid(format!(
                    "the certificate does not carry the name {}",
                    crate::identity::bank_dns_name(peer.bank)
                )));
            }
            let validity = Validity::of_certificate(&peer.certificate)
                .ok_or_else(|| invalid("its validity window is unreadable".to_owned()))?;
            let identity = PeerIdentity::new(peer.bank, peer.roles);
            if by_certificate
                .insert(peer.certificate.to_vec(), (identity, validity))
                .is_some()
            {
                return Err(invalid("the certificate is listed twice".to_owned()));
            }
        }
        Ok(Self { by_certificate })
    }
}

impl TrustStore {
    /// Builds a trust store; refuses a certificate that does not name its bank, or that is
    /// listed twice. A bank may be listed with several certificates, e.g. during a key rotation.
    pub fn new(peers: impl IntoIterator<Item = TrustedPeer>) -> Result<Self, TrustError> {
        Ok(Self {
            pinned: RwLock::new(Arc::new(Pinned::new(peers)?)),
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        })
    }

    /// Replaces the whole list with `peers`, validated as [`TrustStore::new`] does; on an error
    /// the list in force stays. Handshakes from then on check the new list; connections already
    /// up are not checked again.
    pub fn replace(&self, peers: impl IntoIterator<Item = TrustedPeer>) -> Result<(), TrustError> {
        let pinned = Arc::new(Pinned::new(peers)?);
        *self
            .pinned
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = pinned;
        Ok(())
    }

    /// The list in force now.
    fn pinned(&self) -> Arc<Pinned> {
        self.pinned
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Each trusted bank with the last not-after of its pinned certificates: how long it can
    /// still be authenticated unless a new certificate is pinned for it. By bank.
    pub fn expiries(&self) -> Vec<(BankId, SystemTime)> {
        let mut latest: BTreeMap<BankId, SystemTime> = BTreeMap::new();
        for (peer, validity) in self.pinned().by_certificate.values() {
            let entry = latest.entry(peer.bank()).or_insert(validity.not_after);
            *entry = (*entry).max(validity.not_after);
        }
        latest.into_iter().collect()
    }

    /// The peer a certificate is pinned for, if any; checks nothing else.
    pub fn peer_for(&self, certificate: &CertificateDer<'_>) -> Option<PeerIdentity> {
        self.pinned()
            .by_certificate
            .get(certificate.as_ref())
            .map(|(peer, _)| *peer)
    }

    /// Whether any certificate is pinned for `bank`.
    pub fn trusts_bank(&self, bank: BankId) -> bool {
        self.pinned()
            .by_certificate
            .values()
            .any(|(peer, _)| peer.bank() == bank)
    }

    /// How many certificates are pinned.
    pub fn len(&self) -> usize {
        self.pinned().by_certificate.len()
    }

    /// Whether no certificate is pinned.
    pub fn is_empty(&self) -> bool {
        self.pinned().by_certificate.is_empty()
    }

    /// The signature algorithms handshake signatures are checked with (ring's).
    pub(crate) fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.algorithms
    }

    /// Accepts `certificate` only if it is pinned, inside its validity window at `now`, allows
    /// `usage`, and carries a valid self-signature; returns the peer it is pinned for.
    pub(crate) fn check(
        &self,
        certificate: &CertificateDer<'_>,
        now: UnixTime,
        usage: Usage,
    ) -> Result<PeerIdentity, TrustError> {
        let peer = self.peer_for(certificate).ok_or(TrustError::Untrusted)?;
        let bad = |e: webpki::Error| TrustError::BadCertificate(e.to_string());
        let end_entity = webpki::EndEntityCert::try_from(certificate).map_err(bad)?;
        // A pinned certificate is self-signed, so it is its own trust anchor: webpki then checks
        // the validity window, the key usage and the self-signature.
        let anchors = [webpki::anchor_from_trusted_cert(certificate).map_err(bad)?];
        let usage = match usage {
            Usage::Server => webpki::KeyUsage::server_auth(),
            Usage::Client => webpki::KeyUsage::client_auth(),
        };
        let verified =
            end_entity.verify_for_usage(self.algorithms.all, &anchors, &[], now, usage, None, None);
        match verified.map(|_| ()) {
            Ok(()) => Ok(peer),
            Err(webpki::Error::CertExpired { .. }) => Err(TrustError::Expired),
            Err(webpki::Error::CertNotValidYet { .. }) => Err(TrustError::NotYetValid),
            Err(e) => Err(bad(e)),
        }
    }
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.pinned().by_certificate.values().map(|(peer, _)| peer))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::identity::Identity;
    use crate::peer::Role;
    use crate::validity::Validity;

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    fn bank(n: u8) -> BankId {
        BankId([n; 16])
    }

    fn identity(n: u8, validity: Validity) -> Identity {
        Identity::generate(bank(n), validity).unwrap()
    }

    fn trusted(identity: &Identity) -> TrustedPeer {
        TrustedPeer {
            bank: identity.bank(),
            roles: RoleSet::of(&[Role::Issuer]),
            certificate: identity.certificate(),
        }
    }

    fn now() -> UnixTime {
        UnixTime::now()
    }

    #[test]
    fn accepts_a_pinned_valid_certificate_and_names_its_peer() {
        let one = identity(1, Validity::starting_now(DAY));
        let store = TrustStore::new([trusted(&one)]).unwrap();
        for usage in [Usage::Server, Usage::Client] {
            let peer = store.check(&one.certificate(), now(), usage).unwrap();
            assert_eq!(peer.bank(), bank(1));
            assert!(peer.has_role(Role::Issuer) && !peer.has_role(Role::Clearing));
        }
    }

    #[test]
    fn refuses_an_unpinned_certificate_even_for_a_trusted_bank() {
        let pinned = identity(1, Validity::starting_now(DAY));
        let other = identity(1, Validity::starting_now(DAY));
        let store = TrustStore::new([trusted(&pinned)]).unwrap();
        let err = store
            .check(&other.certificate(), now(), Usage::Client)
            .unwrap_err();
        assert_eq!(err, TrustError::Untrusted);
        assert_eq!(err.code(), "trust.untrusted");
    }

    #[test]
    fn refuses_outside_the_validity_window() {
        let now_system = SystemTime::now();
        let expired = identity(
            2,
            Validity {
                not_before: now_system - 2 * DAY,
                not_after: now_system - DAY,
            },
        );
        let future = identity(
            3,
            Validity {
                not_before: now_system + DAY,
                not_after: now_system + 2 * DAY,
            },
        );
        let store = TrustStore::new([trusted(&expired), trusted(&future)]).unwrap();
        let err = store
            .check(&expired.certificate(), now(), Usage::Client)
            .unwrap_err();
        assert_eq!((err.code(), &err), ("trust.expired", &TrustError::Expired));
        let err = store
            .check(&future.certificate(), now(), Usage::Server)
            .unwrap_err();
        assert_eq!(
            (err.code(), &err),
            ("trust.not_yet_valid", &TrustError::NotYetValid)
        );
        // The window is checked against the time given, not the wall clock.
        let later = UnixTime::since_unix_epoch(
            (now_system + DAY + DAY / 2)
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap(),
        );
        assert!(
            store
                .check(&future.certificate(), later, Usage::Server)
                .is_ok()
        );
    }

    #[test]
    fn refuses_an_entry_whose_certificate_names_another_bank() {
        let one = identity(1, Validity::starting_now(DAY));
        let entry = TrustedPeer {
            bank: bank(9),
            ..trusted(&one)
        };
        let err = TrustStore::new([entry]).unwrap_err();
        assert_eq!(err.code(), "trust.invalid_entry");
    }

    #[test]
    fn refuses_a_certificate_listed_twice() {
        let one = identity(1, Validity::starting_now(DAY));
        let err = TrustStore::new([trusted(&one), trusted(&one)]).unwrap_err();
        assert_eq!(err.code(), "trust.invalid_entry");
    }

    #[test]
    fn a_bank_with_two_certificates_is_accepted_by_either() {
        let current = identity(4, Validity::starting_now(DAY));
        let next = identity(4, Validity::starting_now(30 * DAY));
        let store = TrustStore::new([trusted(&current), trusted(&next)]).unwrap();
        for presented in [&current, &next] {
            let peer = store
                .check(&presented.certificate(), now(), Usage::Server)
                .unwrap();
            assert_eq!(peer.bank(), bank(4));
        }
        // The bank can be authenticated until the later of the two expires.
        let expiries = store.expiries();
        assert_eq!(expiries, vec![(bank(4), next.validity().not_after)]);
    }

    #[test]
    fn a_replaced_list_is_checked_from_then_on_and_a_bad_one_changes_nothing() {
        let old = identity(5, Validity::starting_now(DAY));
        let new = identity(5, Validity::starting_now(DAY));
        let store = TrustStore::new([trusted(&old)]).unwrap();
        assert_eq!(
            store.check(&new.certificate(), now(), Usage::Client),
            Err(TrustError::Untrusted)
        );

        store.replace([trusted(&old), trusted(&new)]).unwrap();
        assert!(
            store
                .check(&new.certificate(), now(), Usage::Client)
                .is_ok()
        );
        assert!(
            store
                .check(&old.certificate(), now(), Usage::Client)
                .is_ok()
        );

        store.replace([trusted(&new)]).unwrap();
        assert_eq!(
            store.check(&old.certificate(), now(), Usage::Client),
            Err(TrustError::Untrusted)
        );

        let err = store.replace([trusted(&new), trusted(&new)]).unwrap_err();
        assert_eq!(err.code(), "trust.invalid_entry");
        assert!(
            store
                .check(&new.certificate(), now(), Usage::Client)
                .is_ok()
        );
        assert_eq!(store.len(), 1);
    }
}
