//! PEM files for certificates and private keys; a private key file must be the owner's alone,
//! and the bytes read from it are wiped once parsed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::identity::IdentityError;

/// The largest PEM file read: certificates and keys here are a few hundred bytes.
const PEM_FILE_MAX_BYTES: u64 = 64 * 1024;
/// The mode of a new private key file: read and write for its owner only.
const KEY_FILE_MODE: u32 = 0o600;
/// Permission bits that must be clear on a private key file: any access by group or others.
const KEY_FILE_FORBIDDEN_BITS: u32 = 0o077;

/// Loads the first certificate of a PEM file, e.g. a peer's certificate named in the config.
pub fn load_certificate(path: &Path) -> Result<CertificateDer<'static>, IdentityError> {
    let bytes = read_bounded(File::open(path).map_err(io_at(path))?, path)?;
    CertificateDer::from_pem_slice(&bytes).map_err(|e| IdentityError::Pem {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Loads a private key, refusing a file that group or others could read or write. The file's
/// text and the key are wiped when dropped.
pub fn load_private_key(path: &Path) -> Result<Zeroizing<PrivateKeyDer<'static>>, IdentityError> {
    let file = File::open(path).map_err(io_at(path))?;
    // Checked on the open file, so the file read is the file checked.
    let mode = file.metadata().map_err(io_at(path))?.permissions().mode();
    if mode & KEY_FILE_FORBIDDEN_BITS != 0 {
        return Err(IdentityError::KeyPermissions {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    let bytes = read_bounded(file, path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map(Zeroizing::new)
        .map_err(|e| IdentityError::Pem {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Writes a certificate PEM file, replacing any file there.
pub(crate) fn save_certificate(path: &Path, pem: &str) -> Result<(), IdentityError> {
    std::fs::write(path, pem).map_err(io_at(path))
}

/// Writes a new private key PEM file with mode 0600; refuses to replace an existing file.
pub(crate) fn save_private_key(path: &Path, pem: &str) -> Result<(), IdentityError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(KEY_FILE_MODE)
        .open(path)
        .map_err(io_at(path))?;
    file.write_all(pem.as_bytes()).map_err(io_at(path))?;
    file.sync_all().map_err(io_at(path))
}

/// Reads at most [`PEM_FILE_MAX_BYTES`] into one buffer, wiped when dropped. The buffer is
/// allocated whole first: a growing one would leave unwiped copies behind in freed memory.
fn read_bounded(file: File, path: &Path) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(PEM_FILE_MAX_BYTES as usize + 1));
    file.take(PEM_FILE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_at(path))?;
    if bytes.len() as u64 > PEM_FILE_MAX_BYTES {
        return Err(IdentityError::Pem {
            path: path.to_owned(),
            reason: format!("larger than {PEM_FILE_MAX_BYTES} bytes"),
        });
    }
    Ok(bytes)
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    }
}
