//! The operator token: given in the config, or kept in an owner-only file that is made with a
//! random token the first time.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::http::OperatorToken;

use super::DeployError;

/// Random bytes in a new token (written as hex).
const TOKEN_BYTES: usize = 32;

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
        let token = OperatorToken::new(token.clone())
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
        return Ok(token.clone());
    }
    let path = token_path(config);
    read(&path).map_err(|error| {
        DeployError::provision(
            "operator token",
            format!("cannot read {}: {error}", path.display()),
        )
    })
}

/// The token a token file holds, without the line's end.
fn read(path: &Path) -> std::io::Result<String> {
    std::fs::read_to_string(path).map(|text| text.trim().to_owned())
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
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(token)
}
