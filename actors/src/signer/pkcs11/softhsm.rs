//! A SoftHSM2 token of its own in a directory, for the tests and `make bench-signer`: a config
//! file pointing at the directory's token store, and a token initialised there by
//! `softhsm2-util`. Nothing outside the directory is touched; a process reaches the token with
//! [`SoftHsm::CONF_ENV`] set to [`SoftHsm::conf`].

use std::path::{Path, PathBuf};
use std::process::Command;

use cryptoki::types::AuthPin;

use super::TokenConfig;

/// Debian's SoftHSM2 module (package `softhsm2`).
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// An initialised SoftHSM2 token under a directory.
#[derive(Clone, Debug)]
pub struct SoftHsm {
    conf: PathBuf,
    label: String,
    pin: String,
}

impl SoftHsm {
    /// The variable SoftHSM2 reads its config file's path from.
    pub const CONF_ENV: &'static str = "SOFTHSM2_CONF";

    /// Writes the config under `dir` and initialises a token labelled `label` with user PIN
    /// `pin` (the security officer's PIN is the same: a test token).
    pub fn init(dir: &Path, label: &str, pin: &str) -> std::io::Result<Self> {
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens)?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
                 slots.removable = false\n",
                tokens.display()
            ),
        )?;
        let output = Command::new("softhsm2-util")
            .env(Self::CONF_ENV, &conf)
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                pin,
                "--pin",
                pin,
            ])
            .output()?;
        if !output.status.success() {
            return Err(std::io::Error::other(format!(
                "softhsm2-util --init-token: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(Self {
            conf,
            label: label.to_owned(),
            pin: pin.to_owned(),
        })
    }

    /// The config file: the value of [`SoftHsm::CONF_ENV`] for a process that uses the token.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The user PIN (a test token's: not a secret).
    pub fn pin(&self) -> &str {
        &self.pin
    }

    /// How a signer reaches the token (in a process whose [`SoftHsm::CONF_ENV`] is set).
    pub fn token_config(&self) -> TokenConfig {
        TokenConfig {
            module: PathBuf::from(SOFTHSM_MODULE),
            token_label: self.label.clone(),
            pin: AuthPin::from(self.pin.clone()),
        }
    }
}
