//! Where a store lives: a RocksDB directory on this machine, or a PostgreSQL database named by
//! a libpq connection string. Config parses into it; [`Location::open`] opens the store.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::backend::PostgresBackend;
use crate::error::StorageError;
use crate::store::{Role, Store};

/// Where one store's records are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An embedded RocksDB in this directory (the default).
    Rocks(PathBuf),
    /// A PostgreSQL database, by libpq connection string (`key=value` or URL form). Each role's
    /// store is a schema of its own there (`semper_issuer`, `semper_acquirer`,
    /// `semper_clearing`, and `semper_spent_shard` for a spent-set shard group, whose groups are
    /// each a database of their own), so that one database holds a bank's three roles; several
    /// processes may open the same role's store there at once.
    Postgres(String),
}

impl Location {
    /// The PostgreSQL location of `conninfo`, once it parses as a libpq connection string (the
    /// error does not repeat it: it may hold a password).
    pub fn postgres(conninfo: impl Into<String>) -> Result<Self, StorageError> {
        let conninfo = conninfo.into();
        conninfo
            .parse::<postgres::Config>()
            .map_err(|error| StorageError::Postgres(format!("connection string: {error}")))?;
        Ok(Location::Postgres(conninfo))
    }

    /// Opens (or creates) the store of `role` here, and checks its schema version and role.
    pub fn open(&self, role: Role) -> Result<Store, StorageError> {
        match self {
            Location::Rocks(path) => Store::open(path, role),
            Location::Postgres(conninfo) => Store::with_backend(
                Arc::new(PostgresBackend::connect_in_schema(
                    conninfo,
                    schema_of(role),
                )?),
                role,
            ),
        }
    }
}

/// The PostgreSQL schema of `role`'s store.
pub fn schema_of(role: Role) -> &'static str {
    match role {
        Role::Issuer => "semper_issuer",
        Role::Acquirer => "semper_acquirer",
        Role::Clearing => "semper_clearing",
        Role::SpentShard => "semper_spent_shard",
    }
}

/// Names the place without a connection string's password: locations are logged.
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Rocks(path) => write!(f, "rocksdb at {}", path.display()),
            Location::Postgres(conninfo) => match conninfo.parse::<postgres::Config>() {
                Ok(config) => write!(
                    f,
                    "postgres database {:?} on {:?}",
                    config.get_dbname().unwrap_or(""),
                    config.get_hosts()
                ),
                Err(_) => f.write_str("postgres (unparsable connection string)"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let location = Location::Postgres("host=127.0.0.1 dbname=bank password=hunter2".into());
        let shown = format!("{location:?}");
        assert!(shown.contains("bank"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
