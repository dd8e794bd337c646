//! A PostgreSQL store opened, used and dropped on a runtime's thread, as an actor or an HTTP
//! handler would: the blocking client drives a runtime of its own, which may not start inside
//! another, so the backend moves each call (connecting, and closing when dropped) to a thread of
//! its own there. Before, a store dropped on a runtime's thread panicked in its destructor (an
//! issuer's open that failed with a shard group mismatch aborted the process). The server is a
//! real one this test starts, and stops.

mod common;

use common::pg::PgServer;
use semper_storage::backend::{Backend, PostgresBackend};
use semper_storage::schema::Column;
use semper_storage::{Location, Role};

#[test]
fn a_store_opened_used_and_dropped_on_a_runtime_thread() {
    let server = PgServer::start();
    let conninfo = server.new_database();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Location::Postgres(conninfo.clone())
            .open(Role::Acquirer)
            .unwrap();
        store
            .write_synced(&[(Column::Outbox, vec![1], Some(vec![2]))])
            .unwrap();
        assert_eq!(store.get(Column::Outbox, &[1]).unwrap(), Some(vec![2]));
        drop(store);
        let backend = PostgresBackend::connect(&conninfo).unwrap();
        assert_eq!(backend.get(Column::Outbox, &[9]).unwrap(), None);
        drop(backend);
    });
    // And off any runtime, as before.
    let backend = PostgresBackend::connect(&conninfo).unwrap();
    assert_eq!(backend.get(Column::Outbox, &[9]).unwrap(), None);
}
