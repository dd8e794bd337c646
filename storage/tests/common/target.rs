//! Where a storage case keeps its records, on either backend: opening it again reaches the same
//! records, so a case can check what survives a reopen.

use std::sync::Arc;

use semper_storage::backend::{Backend, PostgresBackend, RocksBackend};
use semper_storage::{CommitConfig, Committer, Role, Store};

use super::TempDir;
use super::pg::PgServer;

/// A case's records: a RocksDB directory, or a PostgreSQL database (its conninfo).
pub enum Target {
    Rocks(TempDir),
    Postgres(String),
}

impl Target {
    /// The store of `role` over the target, and its committer.
    pub fn open(&self, role: Role) -> (Store, Committer) {
        let backend: Arc<dyn Backend> = match self {
            Target::Rocks(dir) => Arc::new(RocksBackend::open(&dir.0).unwrap()),
            Target::Postgres(conninfo) => Arc::new(PostgresBackend::connect(conninfo).unwrap()),
        };
        let store = Store::with_backend(backend, role).unwrap();
        let committer = Committer::start(store.clone(), CommitConfig::default());
        (store, committer)
    }
}

/// A case of a suite, run on a fresh target.
pub type Case = fn(&Target);

/// Runs each of `cases` of `suite` on a fresh RocksDB directory.
pub fn on_rocksdb(suite: &str, cases: &[(&str, Case)]) {
    for (name, case) in cases {
        eprintln!("rocksdb: {name}");
        case(&Target::Rocks(TempDir::new(&format!("{suite}-{name}"))));
    }
}

/// Runs each of `cases` on a fresh database of one PostgreSQL server of the test's own.
pub fn on_postgres(cases: &[(&str, Case)]) {
    let server = PgServer::start();
    for (name, case) in cases {
        eprintln!("postgres: {name}");
        case(&Target::Postgres(server.new_database()));
    }
}
