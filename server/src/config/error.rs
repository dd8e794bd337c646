//! Why a config could not be used: each error names the key (or file, or variable) and the
//! problem, so an operator can fix it from the message alone.

use std::path::PathBuf;

/// A config that cannot be started from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// An environment override could not be applied.
    #[error("environment variable {variable}: {problem}")]
    Environment {
        /// The variable.
        variable: String,
        /// Why.
        problem: String,
    },
    /// A key has a value of the wrong type or form, is missing, or is unknown.
    #[error("config key `{key}`: {problem}")]
    Invalid {
        /// The key's path, e.g. `banks[0].link_listen`.
        key: String,
        /// Why.
        problem: String,
    },
}

impl ConfigError {
    /// An invalid key.
    pub fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}
