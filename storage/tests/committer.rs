//! The committer's own life: dropped by its own thread, when a reply held the last handle on
//! the state that owns it (an actor's state dropped by the committer's reply), it stops cleanly
//! and closes its store, where it used to panic joining itself and leave the store open.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use semper_storage::commit::{Committer, GroupReader, Transaction, WriteSet};
use semper_storage::schema::Column;
use semper_storage::{CommitConfig, Role, StorageError, Store};

/// Writes one record, slowly: the test lets go of its handle meanwhile.
#[derive(Clone)]
struct SlowWrite;

impl Transaction for SlowWrite {
    type Output = ();

    fn apply(self, _: &GroupReader<'_>) -> Result<((), WriteSet), StorageError> {
        std::thread::sleep(Duration::from_millis(200));
        let mut writes = WriteSet::new();
        writes.put(Column::Meta, b"slow".to_vec(), vec![1]);
        Ok(((), writes))
    }
}

#[test]
fn a_committer_dropped_by_its_own_reply_stops_and_closes_its_store() {
    let dir = TempDir::new("committer-own-drop");
    let store = Store::open(&dir.0, Role::Issuer).unwrap();
    let committer = Arc::new(Committer::start(store, CommitConfig::default()));
    let (sender, receiver) = std::sync::mpsc::channel();
    let last = committer.clone();
    committer
        .submit(SlowWrite, move |answer| {
            // The test's handle is gone by now: this drop is the committer's own thread's.
            drop(last);
            let _ = sender.send(answer);
        })
        .unwrap();
    drop(committer);
    let answer = receiver.recv_timeout(Duration::from_secs(10));
    assert!(
        matches!(answer, Ok(Ok(()))),
        "the reply never finished: {answer:?}"
    );
    // The thread ends by itself and closes the store: it opens again, with the write in it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let reopened = loop {
        match Store::open(&dir.0, Role::Issuer) {
            Ok(store) => break store,
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.code(), "storage.rocksdb", "{error}");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(error) => panic!("the store was never closed: {error}"),
        }
    };
    assert_eq!(reopened.get(Column::Meta, b"slow").unwrap(), Some(vec![1]));
}
