//! A bank's private keys on disk, whatever its roles: one file each, readable by the owner only,
//! written atomically. Key bytes never reach a log, an error message or a metric, and the bytes
//! read from a file are wiped once the key is made from them.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::CryptoRng;
use semper_protocol::crypto::blind_rsa::DenominationSecretKey;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::DenominationId;
use zeroize::Zeroizing;

/// Owner read/write only.
const KEY_FILE_MODE: u32 = 0o600;
/// Owner only.
const KEY_DIR_MODE: u32 = 0o700;
/// Where an issuer's denomination keys go, under the key directory.
const DENOMINATIONS_DIR: &str = "denominations";
/// The largest key file read: an Ed25519 seed is 32 bytes, an RSA-3072 key in DER under 2 KiB.
const KEY_FILE_MAX_BYTES: u64 = 16 * 1024;

/// Why a key could not be stored or loaded. Each variant has a stable [`KeyStoreError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    /// A key file or the key directory can be read by others: refused, like ssh does.
    #[error("{path} is readable by group or others (mode {mode:o}); make it owner-only")]
    TooOpen {
        /// The file or directory.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file exists but does not hold a valid key.
    #[error("{path} does not hold a valid key")]
    Invalid {
        /// The file.
        path: String,
    },
    /// A key file is missing.
    #[error("{path} is missing")]
    Missing {
        /// The file.
        path: String,
    },
    /// The file system refused.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        reason: String,
    },
}

impl KeyStoreError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooOpen { .. } => "keystore.too_open",
            Self::Invalid { .. } => "keystore.invalid",
            Self::Missing { .. } => "keystore.missing",
            Self::Io { .. } => "keystore.io",
        }
    }
}

pub(crate) fn io_error(path: &Path) -> impl Fn(std::io::Error) -> KeyStoreError + '_ {
    move |error| KeyStoreError::Io {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
}

/// A directory of private keys.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// Opens (or creates, owner-only) the key directory.
    pub fn open(dir: &Path) -> Result<Self, KeyStoreError> {
        owner_only_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The Ed25519 key stored as `name`, created from `rng` the first time.
    pub fn signing_key<R: CryptoRng + ?Sized>(
        &self,
        name: &str,
        rng: &mut R,
    ) -> Result<SigningKey, KeyStoreError> {
        let path = self.dir.join(format!("{name}.ed25519"));
        if !path.exists() {
            let key = SigningKey::generate(rng);
            write_secret(&path, key.to_seed().as_slice())?;
        }
        let bytes = read_secret(&path)?;
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(bytes.as_slice().try_into().map_err(
            |_| KeyStoreError::Invalid {
                path: path.display().to_string(),
            },
        )?);
        Ok(SigningKey::from_seed(&seed))
    }

    /// Whether an Ed25519 key is stored as `name`.
    pub fn has_signing_key(&self, name: &str) -> bool {
        self.dir.join(format!("{name}.ed25519")).exists()
    }

    /// The 32 random bytes stored as `name` (a symmetric secret, such as the spent set's shard
    /// key), drawn from `rng` the first time.
    pub fn secret_bytes<R: CryptoRng + ?Sized>(
        &self,
        name: &str,
        rng: &mut R,
    ) -> Result<Zeroizing<[u8; 32]>, KeyStoreError> {
        let path = self.dir.join(format!("{name}.secret"));
        if !path.exists() {
            let mut fresh = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(fresh.as_mut_slice());
            write_secret(&path, fresh.as_slice())?;
        }
        let bytes = read_secret(&path)?;
        Ok(Zeroizing::new(bytes.as_slice().try_into().map_err(
            |_| KeyStoreError::Invalid {
                path: path.display().to_string(),
            },
        )?))
    }

    /// Stores a denomination's RSA key.
    pub fn store_denomination_key(
        &self,
        id: &DenominationId,
        key: &DenominationSecretKey,
    ) -> Result<(), KeyStoreError> {
        owner_only_dir(&self.dir.join(DENOMINATIONS_DIR))?;
        let path = self.denomination_path(id);
        let der = key.to_der().map_err(|_| KeyStoreError::Invalid {
            path: path.display().to_string(),
        })?;
        write_secret(&path, &der)
    }

    /// Loads a denomination's RSA key.
    pub fn denomination_key(
        &self,
        id: &DenominationId,
    ) -> Result<DenominationSecretKey, KeyStoreError> {
        let path = self.denomination_path(id);
        let der = read_secret(&path)?;
        DenominationSecretKey::from_der(&der).map_err(|_| KeyStoreError::Invalid {
            path: path.display().to_string(),
        })
    }

    /// Destroys a denomination's key file: overwritten with zeros and synced, then removed and
    /// the directory synced. The overwrite defeats a plain read of the freed blocks; a copy-on-
    /// write file system or an SSD's remapping may still keep the old blocks (SECURITY.md). A
    /// missing file is already destroyed.
    pub fn destroy_denomination_key(&self, id: &DenominationId) -> Result<(), KeyStoreError> {
        let path = self.denomination_path(id);
        let mut file = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(io_error(&path)(error)),
        };
        let len = file.metadata().map_err(io_error(&path))?.len();
        let zeros = vec![0u8; usize::try_from(len.min(KEY_FILE_MAX_BYTES)).unwrap_or(0)];
        file.write_all(&zeros).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
        drop(file);
        fs::remove_file(&path).map_err(io_error(&path))?;
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_error(dir))?;
        }
        Ok(())
    }

    fn denomination_path(&self, id: &DenominationId) -> PathBuf {
        self.dir
            .join(DENOMINATIONS_DIR)
            .join(format!("{id}.rsa.der"))
    }
}

/// Creates `dir` if needed, and makes it owner-only.
fn owner_only_dir(dir: &Path) -> Result<(), KeyStoreError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(KEY_DIR_MODE)).map_err(io_error(dir))
}

/// Writes `bytes` to `path` with owner-only permissions, atomically: a temporary file, fsync,
/// rename, and fsync of the directory, so a crash leaves the old file or the new one.
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    let temporary = path.with_extension("tmp");
    let _ = fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(KEY_FILE_MODE)
        .open(&temporary)
        .map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(dir))?;
    }
    Ok(())
}

/// Reads a key file, refusing one that others can read, into one buffer wiped when dropped. The
/// buffer is allocated whole first: a growing one would leave unwiped copies in freed memory.
fn read_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
    let file = File::open(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => KeyStoreError::Missing {
            path: path.display().to_string(),
        },
        _ => io_error(path)(error),
    })?;
    let mode = file
        .metadata()
        .map_err(io_error(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyStoreError::TooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_FILE_MAX_BYTES as usize + 1));
    file.take(KEY_FILE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > KEY_FILE_MAX_BYTES {
        return Err(KeyStoreError::Invalid {
            path: path.display().to_string(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (KeyStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!("semper-keystore-{}", rand::random::<u64>()));
        (KeyStore::open(&dir).unwrap(), dir)
    }

    #[test]
    fn a_key_reads_back_and_a_file_past_the_bound_or_open_to_others_is_refused() {
        let (keys, dir) = store();
        let made = keys.signing_key("bank", &mut rand::rng()).unwrap();
        let read = keys.signing_key("bank", &mut rand::rng()).unwrap();
        assert_eq!(read.verifying_key(), made.verifying_key());

        let path = dir.join("bank.ed25519");
        let read = read_secret(&path).unwrap();
        assert_eq!(read.as_slice(), made.to_seed().as_slice());

        write_secret(&path, &vec![7; KEY_FILE_MAX_BYTES as usize + 1]).unwrap();
        let error = keys.signing_key("bank", &mut rand::rng()).unwrap_err();
        assert_eq!(error.code(), "keystore.invalid");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = keys.signing_key("bank", &mut rand::rng()).unwrap_err();
        assert_eq!(error.code(), "keystore.too_open");
        fs::remove_dir_all(dir).unwrap();
    }
}
