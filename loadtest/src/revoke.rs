//! Revoking a denomination at an issuer whose master key the load was given (an issuer target's
//! `master-key=DIR`), so that its wallets can recoup: the operator's own tool signs the
//! revocation (`semper offline revoke`, README "The master key ceremony": the last set signed,
//! signed again with the denomination revoked), the load uploads it as the operator does, and
//! every acquirer refreshes its sets. A deployment whose master key the load does not hold
//! cannot be made to revoke: recoups then do not run.

use std::path::{Path, PathBuf};
use std::process::Command;

use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::DenominationId;

use crate::workload::{Retries, with_retries};
use semper_client::{Api, ApiError};

/// The largest signed set file read back from the offline tool.
const SET_FILE_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Why a revocation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The offline tool could not run, or refused.
    #[error("semper offline revoke: {0}")]
    Tool(String),
    /// The issuer refused the signed set, or an acquirer its refresh.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The issuer published a set that does not list the denomination as revoked.
    #[error("the issuer's published set does not revoke {0}")]
    NotRevoked(DenominationId),
}

/// The `semper` binary beside the running program (as `semper-soak` finds it), when `semper`
/// is not named.
pub fn default_tool() -> Option<PathBuf> {
    let beside = std::env::current_exe().ok()?.with_file_name("semper");
    beside.exists().then_some(beside)
}

/// Revokes `denomination` at `issuer` with the master key in `master_key`, running `tool`
/// (`semper`) with its signed set written under `scratch`; then has each of `acquirers` refresh
/// its denomination sets. The set the issuer published.
pub fn revoke(
    tool: &Path,
    master_key: &Path,
    denomination: DenominationId,
    issuer: &mut Api,
    acquirers: &mut [Api],
    retries: &Retries,
    scratch: &Path,
) -> Result<SignedDenominationSet, RevokeError> {
    let out = scratch.join(format!("semper-load-revoke-{denomination}.json"));
    let output = Command::new(tool)
        .args(["offline", "revoke", "--dir"])
        .arg(master_key)
        .args(["--denomination", &denomination.to_string(), "--out"])
        .arg(&out)
        .env("RUST_LOG", "warn")
        .output()
        .map_err(|error| RevokeError::Tool(format!("{}: {error}", tool.display())))?;
    if !output.status.success() {
        return Err(RevokeError::Tool(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let set = read_set(&out);
    let _ = std::fs::remove_file(&out);
    let set = set?;
    let published = with_retries(retries, || issuer.publish_denominations(&set))?;
    if !published.body().is_revoked(&denomination) {
        return Err(RevokeError::NotRevoked(denomination));
    }
    for acquirer in acquirers {
        with_retries(retries, || {
            acquirer.post::<_, serde_json::Value>(
                "/v1/acquirer/denominations/refresh",
                &serde_json::json!({}),
                true,
            )
        })?;
    }
    Ok(published)
}

fn read_set(path: &Path) -> Result<SignedDenominationSet, RevokeError> {
    use std::io::Read;
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(SET_FILE_MAX_BYTES + 1).read_to_end(&mut text))
        .map_err(|error| RevokeError::Tool(format!("{}: {error}", path.display())))?;
    serde_json::from_slice(&text).map_err(|error| {
        RevokeError::Tool(format!("{} is not a signed set: {error}", path.display()))
    })
}
