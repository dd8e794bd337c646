//! A bank's TLS identity: a self-signed certificate naming the bank, and its private key; one
//! handle shared by a node's link server and links, so that a rotation replaces it for all.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::CertifiedKey;
use semper_protocol::ids::BankId;
use zeroize::Zeroizing;

use crate::pem_file;
use crate::validity::Validity;

/// Why an identity could not be made, saved or loaded. Each variant has a stable
/// [`IdentityError::code`].
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A private key file is open to group or others.
    #[error(
        "private key file {} has mode {mode:o}, open to group or others: make it the owner's alone (chmod 600)",
        path.display()
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file held no usable PEM object of the expected kind.
    #[error("{}: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The validity window ends before it starts.
    #[error("the validity window ends before it starts")]
    InvalidValidity,
    /// The certificate could not be generated.
    #[error("certificate generation failed: {0}")]
    Generate(String),
    /// The certificate does not name the bank it was loaded for.
    #[error("the certificate does not name bank {bank}")]
    WrongBank {
        /// The bank expected.
        bank: BankId,
    },
    /// The certificate could not be parsed.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// The private key is not usable, or does not belong to the certificate.
    #[error("the private key does not fit the certificate: {0}")]
    KeyMismatch(String),
}

impl IdentityError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "identity.io",
            Self::KeyPermissions { .. } => "identity.key_permissions",
            Self::Pem { .. } => "identity.pem",
            Self::InvalidValidity => "identity.invalid_validity",
            Self::Generate(_) => "identity.generate",
            Self::WrongBank { .. } => "identity.wrong_bank",
            Self::BadCertificate(_) => "identity.bad_certificate",
            Self::KeyMismatch(_) => "identity.key_mismatch",
        }
    }
}

/// The DNS name a bank's certificate carries in its subject alternative name, and the name a
/// client asks for: `<bank id in hex>.bank.semper`.
pub fn bank_dns_name(bank: BankId) -> String {
    format!("{bank}.bank.semper")
}

/// Whether `certificate` carries `bank`'s DNS name.
pub(crate) fn certificate_names_bank(
    certificate: &CertificateDer<'_>,
    bank: BankId,
) -> Result<bool, String> {
    let cert = webpki::EndEntityCert::try_from(certificate).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(bank_dns_name(bank)).map_err(|e| e.to_string())?;
    Ok(cert.verify_is_valid_for_subject_name(&name).is_ok())
}

/// A bank's link identity: its certificate and private key. Its `Debug` never shows the key.
///
/// Clones share one identity: a node hands clones to its link server and to each of its links,
/// and [`Identity::replace`] (a certificate rotation) changes what all of them present to
/// connections made from then on. Connections already up keep the certificate they were
/// authenticated with.
#[derive(Clone)]
pub struct Identity {
    bank: BankId,
    current: Arc<RwLock<Arc<Credentials>>>,
}

/// One certificate with its private key, checked to belong together.
struct Credentials {
    certificate: CertificateDer<'static>,
    /// Wiped when the last copy of this certificate's credentials goes.
    key: Zeroizing<PrivateKeyDer<'static>>,
    /// What rustls presents and signs the handshake with.
    certified: Arc<CertifiedKey>,
    validity: Validity,
}

impl Identity {
    /// Creates a new ECDSA P-256 key and a self-signed certificate for `bank`, valid in `validity`.
    pub fn generate(bank: BankId, validity: Validity) -> Result<Self, IdentityError> {
        if validity.not_after <= validity.not_before {
            return Err(IdentityError::InvalidValidity);
        }
        let generate = |e: rcgen::Error| IdentityError::Generate(e.to_string());
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate)?;
        let mut params = CertificateParams::new(vec![bank_dns_name(bank)]).map_err(generate)?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("semper bank {bank}"));
        params.distinguished_name = name;
        params.not_before = validity.not_before.into();
        params.not_after = validity.not_after.into();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // A bank's link is both a server and a client.
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let certificate = params.self_signed(&key).map_err(generate)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Self::checked(bank, certificate.der().clone(), Zeroizing::new(key))
    }

    /// Loads an identity from a certificate PEM file and a private key PEM file.
    ///
    /// Refuses a key file open to group or others, a certificate that does not name `bank`,
    /// and a key that does not belong to the certificate.
    pub fn load(bank: BankId, certificate: &Path, key: &Path) -> Result<Self, IdentityError> {
        let certificate = pem_file::load_certificate(certificate)?;
        let key = pem_file::load_private_key(key)?;
        Self::checked(bank, certificate, key)
    }

    /// Saves the certificate (replacing the file) and the private key (a new file, mode 0600).
    pub fn save(&self, certificate: &Path, key: &Path) -> Result<(), IdentityError> {
        let credentials = self.credentials();
        pem_file::save_private_key(key, &key_pem(&credentials.key))?;
        pem_file::save_certificate(certificate, &self.certificate_pem())
    }

    /// The bank this identity belongs to.
    pub fn bank(&self) -> BankId {
        self.bank
    }

    /// The certificate presented now, DER-encoded: what peers pin.
    pub fn certificate(&self) -> CertificateDer<'static> {
        self.credentials().certificate.clone()
    }

    /// The validity window of the certificate presented now.
    pub fn validity(&self) -> Validity {
        self.credentials().validity
    }

    /// The certificate as PEM text, to hand to peers for their trust lists.
    pub fn certificate_pem(&self) -> String {
        pem::encode(&pem::Pem::new(
            "CERTIFICATE",
            self.credentials().certificate.as_ref(),
        ))
    }

    /// Makes every clone of this identity present `next`'s certificate and key from now on,
    /// e.g. after a rotation; refuses an identity of another bank.
    pub fn replace(&self, next: &Identity) -> Result<(), IdentityError> {
        if next.bank != self.bank {
            return Err(IdentityError::WrongBank { bank: self.bank });
        }
        let next = next.credentials();
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
        Ok(())
    }

    /// The certificate and key rustls presents now.
    pub(crate) fn certified_key(&self) -> Arc<CertifiedKey> {
        self.credentials().certified.clone()
    }

    fn credentials(&self) -> Arc<Credentials> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn checked(
        bank: BankId,
        certificate: CertificateDer<'static>,
        key: Zeroizing<PrivateKeyDer<'static>>,
    ) -> Result<Self, IdentityError> {
        if !certificate_names_bank(&certificate, bank).map_err(IdentityError::BadCertificate)? {
            return Err(IdentityError::WrongBank { bank });
        }
        let validity = Validity::of_certificate(&certificate).ok_or_else(|| {
            IdentityError::BadCertificate("its validity window is unreadable".to_owned())
        })?;
        // Parsed from a borrowed key, so that no unwiped copy of the key is made here.
        let signer = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| IdentityError::KeyMismatch(e.to_string()))?;
        let certified = CertifiedKey::new(vec![certificate.clone()], signer);
        match certified.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(e) => return Err(IdentityError::KeyMismatch(e.to_string())),
        }
        Ok(Self {
            bank,
            current: Arc::new(RwLock::new(Arc::new(Credentials {
                certificate,
                key,
                certified: Arc::new(certified),
                validity,
            }))),
        })
    }
}

/// A private key as PEM text, wiped once written.
fn key_pem(key: &PrivateKeyDer<'_>) -> Zeroizing<String> {
    let tag = match key {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    Zeroizing::new(pem::encode(&pem::Pem::new(tag, key.secret_der())))
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("bank", &self.bank)
            .field("certificate_bytes", &self.credentials().certificate.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, SystemTime};

    use super::*;

    fn bank(n: u8) -> BankId {
        BankId([n; 16])
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("semper-link-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn saves_and_loads_with_an_owner_only_key() {
        let dir = temp_dir("identity");
        let (cert, key) = (dir.join("bank.crt"), dir.join("bank.key"));
        let identity =
            Identity::generate(bank(1), Validity::starting_now(Duration::from_secs(3600))).unwrap();
        identity.save(&cert, &key).unwrap();
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let loaded = Identity::load(bank(1), &cert, &key).unwrap();
        assert_eq!(loaded.certificate(), identity.certificate());
        assert_eq!(
            loaded.credentials().key.secret_der(),
            identity.credentials().key.secret_der()
        );

        let err = Identity::load(bank(2), &cert, &key).unwrap_err();
        assert_eq!(err.code(), "identity.wrong_bank");
        let err = identity.save(&cert, &key).unwrap_err();
        assert_eq!(
            err.code(),
            "identity.io",
            "an existing key is never replaced"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_a_key_readable_by_others() {
        let dir = temp_dir("perms");
        let (cert, key) = (dir.join("bank.crt"), dir.join("bank.key"));
        let identity =
            Identity::generate(bank(3), Validity::starting_now(Duration::from_secs(3600))).unwrap();
        identity.save(&cert, &key).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = Identity::load(bank(3), &cert, &key).unwrap_err();
        assert_eq!(err.code(), "identity.key_permissions");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_a_key_of_another_certificate() {
        let dir = temp_dir("mismatch");
        let validity = Validity::starting_now(Duration::from_secs(3600));
        let one = Identity::generate(bank(4), validity).unwrap();
        let two = Identity::generate(bank(4), validity).unwrap();
        let (cert, key) = (dir.join("one.crt"), dir.join("two.key"));
        one.save(&cert, &dir.join("one.key")).unwrap();
        two.save(&dir.join("two.crt"), &key).unwrap();
        let err = Identity::load(bank(4), &cert, &key).unwrap_err();
        assert_eq!(err.code(), "identity.key_mismatch");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn debug_never_shows_the_key() {
        let identity =
            Identity::generate(bank(5), Validity::starting_now(Duration::from_secs(60))).unwrap();
        let debug = format!("{identity:?}");
        assert!(debug.contains("<redacted>"));
        assert!(!debug.contains(&format!("{:?}", identity.credentials().key.secret_der())));
    }

    #[test]
    fn refuses_an_empty_window() {
        let now = SystemTime::now();
        let window = Validity {
            not_before: now,
            not_after: now,
        };
        assert_eq!(
            Identity::generate(bank(6), window).unwrap_err().code(),
            "identity.invalid_validity"
        );
    }

    #[test]
    fn a_replacement_reaches_every_clone_and_keeps_to_its_bank() {
        let day = Validity::starting_now(Duration::from_secs(86_400));
        let current = Identity::generate(bank(7), day).unwrap();
        let presented_by_a_link = current.clone();
        let next = Identity::generate(bank(7), day).unwrap();
        assert_ne!(presented_by_a_link.certificate(), next.certificate());

        current.replace(&next).unwrap();
        assert_eq!(presented_by_a_link.certificate(), next.certificate());
        assert_eq!(
            presented_by_a_link.certified_key().cert[0],
            next.certificate()
        );
        assert_eq!(presented_by_a_link.validity(), next.validity());

        let stranger = Identity::generate(bank(8), day).unwrap();
        let err = current.replace(&stranger).unwrap_err();
        assert_eq!(err.code(), "identity.wrong_bank");
        assert_eq!(current.certificate(), next.certificate());
    }
}
