//! HTTPS for the API: the server's certificate chain and private key from PEM files, served with
//! rustls on ring (no aws-lc), HTTP/1.1 only.
//!
//! The key file is read as the link's keys are (owner-only, else refused) and its bytes are held
//! in [`Zeroizing`] until rustls has made its signing key from them.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::ring;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::sign::{CertifiedKey, SingleCertAndKey};

/// Largest certificate chain file read: a chain is a few kilobytes.
const CHAIN_FILE_MAX_BYTES: u64 = 256 * 1024;

/// Where the server's certificate chain and private key are.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, PEM, the server's own certificate first.
    pub cert: PathBuf,
    /// Its private key, PEM, owner-only.
    pub key: PathBuf,
}

/// Why the API's TLS could not be set up; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read, or is not what it should be.
    #[error("HTTP TLS certificate {path}: {problem}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// The key file could not be read, is open to others, or is not a key rustls can use.
    #[error("HTTP TLS key {path}: {problem}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
}

impl TlsFiles {
    /// The rustls server config: this chain and key, ring's cipher suites, HTTP/1.1 by ALPN.
    pub fn server_config(&self) -> Result<ServerConfig, TlsError> {
        let chain = load_chain(&self.cert)?;
        let key_error = |problem: String| TlsError::Key {
            path: self.key.clone(),
            problem,
        };
        let key = semper_link::load_private_key(&self.key).map_err(|e| key_error(e.to_string()))?;
        let signing_key =
            ring::sign::any_supported_type(&key).map_err(|e| key_error(e.to_string()))?;
        let certified = CertifiedKey::new(chain, signing_key);
        certified.keys_match().map_err(|e| {
            key_error(format!(
                "does not match the certificate {}: {e}",
                self.cert.display()
            ))
        })?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| key_error(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Every certificate of a PEM file, in order; at least one.
fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let problem = |problem: String| TlsError::Certificate {
        path: path.to_owned(),
        problem,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(CHAIN_FILE_MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| problem(e.to_string()))?;
    if bytes.len() as u64 > CHAIN_FILE_MAX_BYTES {
        return Err(problem(format!("larger than {CHAIN_FILE_MAX_BYTES} bytes")));
    }
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(e.to_string()))?;
    if chain.is_empty() {
        return Err(problem("no certificate in the file".into()));
    }
    Ok(chain)
}
