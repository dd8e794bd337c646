//! The key tool: a bank's link identity (its TLS key and self-signed certificate), made once and
//! kept on disk. The certificate goes to every peer bank, which pins it in its trust list; the
//! key stays with the bank, in an owner-only file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use semper_link::{Identity, IdentityError, Validity};
use semper_protocol::ids::BankId;

/// File name of the link certificate in a bank's key directory.
pub const LINK_CERTIFICATE_FILE: &str = "link-cert.pem";
/// File name of the link private key in a bank's key directory.
pub const LINK_KEY_FILE: &str = "link-key.pem";

/// Where a new identity was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFiles {
    /// The certificate, for the peers' trust lists.
    pub certificate: PathBuf,
    /// The private key, mode 0600.
    pub key: PathBuf,
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
    let validity = Validity::starting_now(Duration::from_secs(u64::from(days) * 86_400));
    let identity = Identity::generate(bank, validity)?;
    let files = IdentityFiles {
        certificate: dir.join(LINK_CERTIFICATE_FILE),
        key: dir.join(LINK_KEY_FILE),
    };
    identity.save(&files.certificate, &files.key)?;
    Ok(files)
}
