//! The key tool: a bank's link identity (its TLS key and self-signed certificate), made once and
//! kept on disk. The certificate goes to every peer bank, which pins it in its trust list; the
//! key stays with the bank, in an owner-only file.
//!
//! A certificate expires, so it is rotated in two steps: [`begin_rotation`] makes the next
//! identity beside the current one (the bank's card then carries both certificates, and its
//! peers accept either once they reload it); [`finish_rotation`] makes the next identity the
//! current one (the card then carries it alone). SECURITY.md gives the whole ceremony.

use std::path::{Path, PathBuf};
use std::time::Duration;

use semper_link::{Identity, IdentityError, Validity};
use semper_protocol::ids::BankId;

/// File name of the link certificate in a bank's key directory.
pub const LINK_CERTIFICATE_FILE: &str = "link-cert.pem";
/// File name of the link private key in a bank's key directory.
pub const LINK_KEY_FILE: &str = "link-key.pem";
/// File name of the next link certificate during a rotation.
pub const NEXT_LINK_CERTIFICATE_FILE: &str = "link-cert.next.pem";
/// File name of the next link private key during a rotation.
pub const NEXT_LINK_KEY_FILE: &str = "link-key.next.pem";

/// Where an identity's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFiles {
    /// The certificate, for the peers' trust lists.
    pub certificate: PathBuf,
    /// The private key, mode 0600.
    pub key: PathBuf,
}

impl IdentityFiles {
    /// The current identity's files in `dir`.
    pub fn current(dir: &Path) -> Self {
        Self {
            certificate: dir.join(LINK_CERTIFICATE_FILE),
            key: dir.join(LINK_KEY_FILE),
        }
    }

    /// The next identity's files in `dir`, there during a rotation.
    pub fn next(dir: &Path) -> Self {
        Self {
            certificate: dir.join(NEXT_LINK_CERTIFICATE_FILE),
            key: dir.join(NEXT_LINK_KEY_FILE),
        }
    }

    /// Loads the identity of `bank` these files hold.
    pub fn load(&self, bank: BankId) -> Result<Identity, IdentityError> {
        Identity::load(bank, &self.certificate, &self.key)
    }
}

/// Why a rotation step could not be taken. Each variant has a stable [`RotationError::code`].
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// A file could not be made, read or renamed, or an identity does not check.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A rotation is already under way: its next identity exists.
    #[error(
        "a rotation is already under way in {}: finish it (semper identity rotate --finish), \
         or remove {NEXT_LINK_CERTIFICATE_FILE} and {NEXT_LINK_KEY_FILE} to abandon it",
        dir.display()
    )]
    AlreadyStarted {
        /// The bank's directory.
        dir: PathBuf,
    },
    /// There is no rotation to finish: no next identity.
    #[error("no rotation is under way in {}: begin one first (semper identity rotate)", dir.display())]
    NotStarted {
        /// The bank's directory.
        dir: PathBuf,
    },
}

impl RotationError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Identity(error) => error.code(),
            Self::AlreadyStarted { .. } => "rotation.already_started",
            Self::NotStarted { .. } => "rotation.not_started",
        }
    }
}

/// Why a bank id could not be read.
#[derive(Debug, thiserror::Error)]
#[error("a bank id is {len} hex digits, got {0:?}", len = BankId::LEN * 2)]
pub struct BankIdError(String);

/// Reads a bank id written as hex, as bank ids are displayed.
pub fn parse_bank_id(text: &str) -> Result<BankId, BankIdError> {
    let bytes = hex::decode(text).map_err(|_| BankIdError(text.to_owned()))?;
    let bytes: [u8; BankId::LEN] = bytes.try_into().map_err(|_| BankIdError(text.to_owned()))?;
    Ok(BankId(bytes))
}

/// Creates `bank`'s link identity in `dir`, valid from now for `days`. An existing key is never
/// replaced: the call fails instead, so a bank cannot lose the key its peers pinned.
pub fn create_link_identity(
    bank: BankId,
    dir: &Path,
    days: u32,
) -> Result<IdentityFiles, IdentityError> {
    std::fs::create_dir_all(dir).map_err(|source| IdentityError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    generate(bank, IdentityFiles::current(dir), days)
}

/// Makes `bank`'s next identity in `dir`, valid from now for `days`, beside the current one
/// (which must load). Refuses when a rotation is already under way.
pub fn begin_rotation(bank: BankId, dir: &Path, days: u32) -> Result<IdentityFiles, RotationError> {
    IdentityFiles::current(dir).load(bank)?;
    let next = IdentityFiles::next(dir);
    if next.key.exists() || next.certificate.exists() {
        return Err(RotationError::AlreadyStarted {
            dir: dir.to_path_buf(),
        });
    }
    Ok(generate(bank, next, days)?)
}

/// Makes `bank`'s next identity in `dir` its current one: the next key, then the next
/// certificate, renamed over the current ones (the old key is gone). Each rename is atomic; a
/// finish cut between the two is completed by running it again.
pub fn finish_rotation(bank: BankId, dir: &Path) -> Result<IdentityFiles, RotationError> {
    let (current, next) = (IdentityFiles::current(dir), IdentityFiles::next(dir));
    if !next.certificate.exists() {
        return Err(RotationError::NotStarted {
            dir: dir.to_path_buf(),
        });
    }
    if next.key.exists() {
        next.load(bank)?;
        rename(&next.key, &current.key)?;
    }
    // The key may have been moved by a finish that was cut short: it must fit the certificate.
    Identity::load(bank, &next.certificate, &current.key)?;
    rename(&next.certificate, &current.certificate)?;
    sync_dir(dir)?;
    Ok(current)
}

/// A new identity of `bank`, valid from now for `days`, saved to `files` (never replacing a key).
fn generate(bank: BankId, files: IdentityFiles, days: u32) -> Result<IdentityFiles, IdentityError> {
    let validity = Validity::starting_now(Duration::from_secs(u64::from(days) * 86_400));
    let identity = Identity::generate(bank, validity)?;
    identity.save(&files.certificate, &files.key)?;
    Ok(files)
}

fn rename(from: &Path, to: &Path) -> Result<(), IdentityError> {
    std::fs::rename(from, to).map_err(|source| IdentityError::Io {
        path: from.to_path_buf(),
        source,
    })
}

/// Makes the renames in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), IdentityError> {
    std::fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| IdentityError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("semper-rotation-{name}-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_rotation_makes_the_next_identity_current_and_drops_the_old_key() {
        let bank = BankId([4; 16]);
        let dir = temp_dir("steps");
        create_link_identity(bank, &dir, 30).unwrap();
        let old = IdentityFiles::current(&dir).load(bank).unwrap();
        assert_eq!(
            finish_rotation(bank, &dir).unwrap_err().code(),
            "rotation.not_started"
        );

        let next = begin_rotation(bank, &dir, 400).unwrap();
        let next = next.load(bank).unwrap();
        assert_ne!(next.certificate(), old.certificate());
        assert_eq!(
            begin_rotation(bank, &dir, 400).unwrap_err().code(),
            "rotation.already_started"
        );
        // The current identity is untouched until the finish.
        let current = IdentityFiles::current(&dir).load(bank).unwrap();
        assert_eq!(current.certificate(), old.certificate());

        finish_rotation(bank, &dir).unwrap();
        let current = IdentityFiles::current(&dir).load(bank).unwrap();
        assert_eq!(current.certificate(), next.certificate());
        assert!(!IdentityFiles::next(&dir).certificate.exists());
        assert!(!IdentityFiles::next(&dir).key.exists());
        // And the next rotation can begin.
        begin_rotation(bank, &dir, 400).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_finish_cut_between_its_two_renames_is_completed_by_running_it_again() {
        let bank = BankId([5; 16]);
        let dir = temp_dir("cut");
        create_link_identity(bank, &dir, 30).unwrap();
        let next = begin_rotation(bank, &dir, 400).unwrap().load(bank).unwrap();
        // The first rename happened, the second did not.
        let (current_files, next_files) = (IdentityFiles::current(&dir), IdentityFiles::next(&dir));
        std::fs::rename(&next_files.key, &current_files.key).unwrap();
        assert_eq!(
            current_files.load(bank).unwrap_err().code(),
            "identity.key_mismatch"
        );

        finish_rotation(bank, &dir).unwrap();
        assert_eq!(
            current_files.load(bank).unwrap().certificate(),
            next.certificate()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
