//! The config: a TOML file (or the built-in embedded default), environment overrides on top, then
//! checks. A bad config fails here, before anything starts, with a message that names the key.

mod card;
mod env;
mod error;
mod file;
mod secret;
mod shards;
mod transport;
mod validate;

use std::path::{Path, PathBuf};

use toml::{Table, Value};

pub use card::{BankCard, CARD_FILE, IssuerCard};
pub use env::PREFIX as ENV_PREFIX;
pub use error::ConfigError;
pub use file::{
    AcquirerSection, BankSection, Carrier, ClearingSection, CommitSection, Config, HttpSection,
    IssuerSection, LinkSection, NodeSection, PeerSection, RetrySection, StorageKind, circuit_of,
};
pub use secret::Secret;
pub use shards::{SPENT_SHARD_GROUPS_MAX, SpentShardSection, spent_shards_config};
pub use transport::{CongestionName, TransportSection, check_transport, transport_of};

/// The embedded default: one issuer, one acquirer and one clearing house in one process.
pub const EMBEDDED_TOML: &str = include_str!("../../../config/embedded.toml");

impl Config {
    /// Reads `path`, applies the process's `SEMPER__…` environment overrides and checks the
    /// result. Peer cards are found relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, path, base, std::env::vars())
    }

    /// The embedded default, with the process's environment overrides.
    pub fn embedded() -> Result<Self, ConfigError> {
        Self::parse(
            EMBEDDED_TOML,
            Path::new("<embedded>"),
            Path::new("."),
            std::env::vars(),
        )
    }

    /// The embedded default under `data_dir`, on free loopback ports, with no environment
    /// overrides: for tests, and for running several side by side.
    pub fn embedded_for_tests(data_dir: &Path) -> Self {
        let mut config = Self::parse(
            EMBEDDED_TOML,
            Path::new("<embedded>"),
            Path::new("."),
            std::iter::empty(),
        )
        .unwrap_or_else(|error| panic!("the embedded config is broken: {error}"));
        config.node.data_dir = data_dir.to_path_buf();
        config.http.listen.set_port(0);
        for bank in &mut config.banks {
            bank.link_listen.set_port(0);
        }
        config
    }

    /// Parses `text` (from `origin`, for messages), applies `variables` as overrides, resolves
    /// card paths against `base` and checks the result.
    pub fn parse(
        text: &str,
        origin: &Path,
        base: &Path,
        variables: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: Table =
            text.parse()
                .map_err(|error: toml::de::Error| ConfigError::Syntax {
                    path: origin.to_path_buf(),
                    message: error.to_string(),
                })?;
        env::apply(&mut table, variables)?;
        let mut config: Config =
            serde_path_to_error::deserialize(Value::Table(table)).map_err(|error| {
                let key = error.path().to_string();
                // toml appends its own (less precise) key path on a new line: keep the first.
                let problem = error.into_inner().to_string();
                let problem = problem.lines().next().unwrap_or_default().to_owned();
                let key = if key == "." {
                    "(top level)".into()
                } else {
                    key
                };
                ConfigError::invalid(key, problem)
            })?;
        validate::validate(&config)?;
        let data_dir = config.node.data_dir.clone();
        for bank in &mut config.banks {
            for peer in &mut bank.peers {
                peer.card = absolute(base, &peer.card);
            }
            if let Some(socket) = bank.issuer.as_mut().and_then(|i| i.signer_socket.as_mut()) {
                *socket = absolute(&data_dir, socket);
            }
        }
        Ok(config)
    }

    /// Where `bank`'s directory is: its identity, card and one directory per role.
    pub fn bank_dir(&self, bank: &BankSection) -> PathBuf {
        self.node.data_dir.join(&bank.name)
    }
}

fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests;
