//! A bank's public card: what other banks need to trust it and to check what it signs (its link
//! certificate and its role keys). `semper keys` writes it beside the bank's data; the peers'
//! config files point at it. It holds no secret. During a certificate rotation it carries the
//! bank's next link certificate too, and its peers accept either.

use std::net::SocketAddr;
use std::path::Path;

use rustls::pki_types::CertificateDer;
use semper_link::{Role, RoleSet, TrustedPeer};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::BankId;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// File name of a bank's card, in its directory under the data directory.
pub const CARD_FILE: &str = "card.toml";

/// A bank's public card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankCard {
    /// The bank's name in its own config.
    pub name: String,
    /// The bank.
    pub id: BankId,
    /// Its link certificate (DER, hex), pinned by every peer.
    pub certificate: String,
    /// Its next link certificate (DER, hex) during a rotation, pinned beside `certificate` so
    /// that peers accept the bank with either while it changes over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_certificate: Option<String>,
    /// The addresses its link servers listen on, one per process that serves its link (its
    /// config's `link_advertise`): a peer that calls it tries them in turn and keeps to the one
    /// that answers. Empty when its peers' configs give the address (`addr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_addrs: Vec<SocketAddr>,
    /// Its keys as an issuer.
    pub issuer: Option<IssuerCard>,
    /// The key that signs its settlement submissions, as an acquirer.
    pub acquirer_key: Option<VerifyingKey>,
    /// The key that signs its settlement reports, as the clearing house.
    pub clearing_key: Option<VerifyingKey>,
}

/// An issuer's public keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerCard {
    /// Signs its denomination sets.
    pub master_key: VerifyingKey,
    /// Signs its spend confirmations.
    pub confirmation_key: VerifyingKey,
}

impl BankCard {
    /// The roles the card shows keys for.
    pub fn roles(&self) -> RoleSet {
        let mut roles = Vec::new();
        if self.issuer.is_some() {
            roles.push(Role::Issuer);
        }
        if self.acquirer_key.is_some() {
            roles.push(Role::Acquirer);
        }
        if self.clearing_key.is_some() {
            roles.push(Role::Clearing);
        }
        RoleSet::of(&roles)
    }

    /// The card's entries of a trust list: one per certificate it carries (two during a
    /// rotation); `key` names it in errors.
    pub fn trusted_peers(&self, key: &str) -> Result<Vec<TrustedPeer>, ConfigError> {
        std::iter::once(&self.certificate)
            .chain(&self.next_certificate)
            .map(|certificate| {
                let der = hex::decode(certificate)
                    .map_err(|_| ConfigError::invalid(key, "the card's certificate is not hex"))?;
                Ok(TrustedPeer {
                    bank: self.id,
                    roles: self.roles(),
                    certificate: CertificateDer::from(der),
                })
            })
            .collect()
    }

    /// Reads a card; `key` is the config key that names the file.
    pub fn read(path: &Path, key: &str) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::invalid(key, format!("cannot read card {}: {error}", path.display()))
        })?;
        toml::from_str(&text).map_err(|error| {
            ConfigError::invalid(
                key,
                format!("card {} is not valid: {error}", path.display()),
            )
        })
    }

    /// Writes the card to `path`, replacing an older one (it is derived from the keys). The
    /// replacement is atomic (a temporary file renamed over it), so that a peer reloading the
    /// card while it is written reads the old card or the new one, never a part.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = toml::to_string(self).map_err(std::io::Error::other)?;
        let header = format!(
            "# The public card of bank {} ({}): give it to the banks that trust or call it.\n\
             # It holds no secret. Written by semper from the bank's keys.\n\n",
            self.name, self.id
        );
        let temporary = path.with_extension("toml.tmp");
        std::fs::write(&temporary, header + &text)?;
        std::fs::rename(&temporary, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use semper_protocol::crypto::ed25519::SigningKey;

    /// Writes `card` to a file of its own, and gives back the file's text and the card read back.
    fn write_and_read(card: &BankCard) -> (String, BankCard) {
        let dir = std::env::temp_dir().join(format!("semper-card-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(CARD_FILE);
        card.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let read = BankCard::read(&path, "banks[0].peers[0].card").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (text, read)
    }

    #[test]
    fn a_card_round_trips_and_shows_its_roles() {
        let key = *SigningKey::generate(&mut rand::rng()).verifying_key();
        let card = BankCard {
            name: "issuer".into(),
            id: BankId([7; 16]),
            certificate: hex::encode([1, 2, 3]),
            next_certificate: None,
            link_addrs: vec![
                "127.0.0.1:7811".parse().unwrap(),
                "127.0.0.1:7812".parse().unwrap(),
            ],
            issuer: Some(IssuerCard {
                master_key: key,
                confirmation_key: key,
            }),
            acquirer_key: None,
            clearing_key: Some(key),
        };
        let (text, read) = write_and_read(&card);
        assert_eq!(read, card);
        let roles = read.roles();
        assert!(roles.contains(Role::Issuer) && roles.contains(Role::Clearing));
        assert!(!roles.contains(Role::Acquirer));
        let peers = read.trusted_peers("k").unwrap();
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].certificate.as_ref(), &[1, 2, 3]);
        // A card of before rotations (no next certificate) is written, and read, as it was.
        assert!(
            text.contains("certificate") && !text.contains("next_certificate"),
            "{text}"
        );
        assert!(
            text.contains(r#"link_addrs = ["127.0.0.1:7811", "127.0.0.1:7812"]"#),
            "{text}"
        );
    }

    #[test]
    fn a_card_during_a_rotation_carries_both_certificates_into_the_trust_list() {
        let key = *SigningKey::generate(&mut rand::rng()).verifying_key();
        let card = BankCard {
            name: "acquirer".into(),
            id: BankId([2; 16]),
            certificate: hex::encode([1, 2, 3]),
            next_certificate: Some(hex::encode([4, 5, 6])),
            link_addrs: Vec::new(),
            issuer: None,
            acquirer_key: Some(key),
            clearing_key: None,
        };
        let (text, read) = write_and_read(&card);
        assert_eq!(read, card);
        // A card without link addresses is written, and read, as before they existed.
        assert!(!text.contains("link_addrs"), "{text}");
        let peers = read.trusted_peers("k").unwrap();
        let certificates: Vec<&[u8]> = peers.iter().map(|p| p.certificate.as_ref()).collect();
        assert_eq!(certificates, [&[1, 2, 3][..], &[4, 5, 6][..]]);
        assert!(
            peers
                .iter()
                .all(|peer| peer.bank == card.id && peer.roles.contains(Role::Acquirer))
        );
    }

    #[test]
    fn a_missing_card_names_its_key() {
        let error = BankCard::read(
            Path::new("/nonexistent/card.toml"),
            "banks[0].peers[1].card",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("banks[0].peers[1].card"), "{error}");
    }
}
