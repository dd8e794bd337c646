//! The operator token: given in the config, or kept in an owner-only file that is made with a
//! random token the first time. A token file that group or others may read is refused, as a
//! key file is.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::config::Config;
use crate::http::OperatorToken;

use super::DeployError;

/// Random bytes in a new token (written as hex).
const TOKEN_BYTES: usize = 32;
/// The mode of a new token file: read and write for its owner only.
const TOKEN_FILE_MODE: u32 = 0o600;
/// Permission bits that must be clear on a token file: any access by group or others.
const TOKEN_FILE_FORBIDDEN_BITS: u32 = 0o077;
/// The largest token file read: a token is a line of text.
const TOKEN_FILE_MAX_BYTES: u64 = 4096;

/// Where the operator token came from, for the start-up summary (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The config (or its environment override) holds it.
    Config,
    /// This file holds it.
    File(PathBuf),
}

/// The operator token and where it came from.
pub fn operator_token(config: &Config) -> Result<(OperatorToken, TokenSource), DeployError> {
    let fail = |problem: String| DeployError::provision("operator token", problem);
    if let Some(token) = &config.http.operator_token {
        let token = OperatorToken::new(token.expose().to_owned())
            .map_err(|error| fail(format!("http.operator_token: {error}")))?;
        return Ok((token, TokenSource::Config));
    }
    let path = token_path(config);
    let text = match read(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(&path)
            .map_err(|error| fail(format!("cannot create {}: {error}", path.display())))?,
        Err(error) => return Err(fail(format!("cannot read {}: {error}", path.display()))),
    };
    let token =
        OperatorToken::new(text).map_err(|error| fail(format!("{}: {error}", path.display())))?;
    Ok((token, TokenSource::File(path)))
}

/// The operator token `config`'s deployment uses, for a client of it: from the config, or read
/// from its token file (which the deployment made on its first start).
pub fn configured_operator_token(config: &Config) -> Result<String, DeployError> {
    if let Some(token) = &config.http.operator_token {
        return Ok(token.expose().to_owned());
    }
    let path = token_path(config);
    read(&path).map_err(|error| {
        DeployError::provision(
            "operator token",
            format!("cannot read {}: {error}", path.display()),
        )
    })
}

/// The token a token file holds, without the line's end; refuses a file that group or others
/// could read or write (checked on the open file, so the file read is the file checked).
fn read(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    if mode & TOKEN_FILE_FORBIDDEN_BITS != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the operator token file has mode {mode:o}, open to group or others: make it \
                 the owner's alone (chmod 600)"
            ),
        ));
    }
    // One allocation of the whole bound, wiped when dropped: no copy of the token is left.
    let mut bytes = Zeroizing::new(Vec::with_capacity(TOKEN_FILE_MAX_BYTES as usize + 1));
    file.take(TOKEN_FILE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > TOKEN_FILE_MAX_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the operator token file is larger than {TOKEN_FILE_MAX_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the operator token file is not UTF-8",
        )
    })?;
    Ok(text.trim().to_owned())
}

/// Where the token file of `config` is.
fn token_path(config: &Config) -> PathBuf {
    if config.http.operator_token_file.is_absolute() {
        config.http.operator_token_file.clone()
    } else {
        config.node.data_dir.join(&config.http.operator_token_file)
    }
}

/// Writes a new random token to `path`, owner-only, and returns it; never replaces a file.
fn create(path: &Path) -> std::io::Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let token = hex::encode(rand::random::<[u8; TOKEN_BYTES]>());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(TOKEN_FILE_MODE)
        .open(path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded default under a fresh directory, its token in a file there.
    fn config_with_token_file() -> (Config, PathBuf) {
        let dir = std::env::temp_dir().join(format!("semper-token-{}", rand::random::<u64>()));
        let mut config = Config::embedded_for_tests(&dir);
        config.http.operator_token = None;
        config.http.operator_token_file = PathBuf::from("operator-token");
        let path = dir.join("operator-token");
        (config, path)
    }

    #[test]
    fn a_new_token_file_is_owner_only_and_reads_back() {
        let (config, path) = config_with_token_file();
        let (made, source) = operator_token(&config).unwrap();
        assert_eq!(source, TokenSource::File(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, _) = operator_token(&config).unwrap();
        assert_eq!(again.expose(), made.expose());
        assert_eq!(configured_operator_token(&config).unwrap(), made.expose());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_token_file_readable_by_group_or_others_is_refused() {
        let (config, path) = config_with_token_file();
        operator_token(&config).unwrap();
        for mode in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = operator_token(&config).err().unwrap().to_string();
            assert!(error.contains("chmod 600"), "{error}");
            assert!(error.contains(&path.display().to_string()), "{error}");
            let error = configured_operator_token(&config).unwrap_err().to_string();
            assert!(error.contains("chmod 600"), "{error}");
        }
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
