//! The PostgreSQL backend finds records through their primary key whatever the planner knows of
//! a table. A new table has no statistics until autovacuum first analyzes it (up to a minute
//! after it fills), and a statement prepared meanwhile keeps the plan it got then: for
//! `key = ANY($1)` that was a sequential scan, kept while the table grew, every read of a batch
//! reading the whole table (`make bench-pg` fell from about 40k to 2.7k coins/s). The server is a
//! real one this test starts, and stops; what it checks is the server's own count of scans.

mod common;

use std::time::{Duration, Instant};

use common::pg::PgServer;
use common::*;
use semper_storage::backend::PostgresBackend;
use semper_storage::schema::{Column, spent_key};
use semper_storage::spent::{CheckAndInsert, SpendOutcome};
use semper_storage::{CommitConfig, Committer, Role, Store};

/// Batches read, more than the five custom plans PostgreSQL makes before it keeps a generic one.
const READS: i64 = 12;
/// How long the server may take to publish its counts (a session's are flushed when it ends,
/// at the latest).
const STATS_WAIT: Duration = Duration::from_secs(30);

#[test]
fn reads_of_a_new_table_go_through_its_primary_key() {
    let server = PgServer::start();
    let conninfo = server.new_database();
    let open = || {
        Store::with_backend(
            std::sync::Arc::new(PostgresBackend::connect(&conninfo).unwrap()),
            Role::Issuer,
        )
        .unwrap()
    };
    let mut stats = Stats::connect(&conninfo);

    // The spent set's table, new, with 2000 coins; its sessions ended, so that their counts are
    // published (building the primary key's index read the new table once: a sequential scan).
    let coins: Vec<_> = (0..2_000).map(|coin| spend(coin, 1)).collect();
    let committer = Committer::start(open(), CommitConfig::default());
    for batch in coins.chunks(250) {
        let outcomes = committer
            .execute(CheckAndInsert {
                entries: batch.to_vec(),
            })
            .unwrap();
        assert!(outcomes.iter().all(|outcome| *outcome == SpendOutcome::New));
    }
    drop(committer);
    let before = stats.wait_for(|counts| counts.inserted >= 2_000);
    assert_eq!(before.inserted, 2_000);

    // Batches of 256 keys, half of them spent, read as a spend check over a shared store reads
    // them after a conflict (and as swaps and the HTTP reads do).
    let store = open();
    for read in 0..READS {
        let keys: Vec<[u8; 64]> = (0..256)
            .map(|i| {
                let entry = spend((read as u32 * 97 + i * 15) % 4_000, 1);
                spent_key(&entry.denomination, &entry.coin)
            })
            .collect();
        let refs: Vec<&[u8]> = keys.iter().map(|key| key.as_slice()).collect();
        let found = store.multi_get(Column::SpentCoins, &refs).unwrap();
        assert!(found.iter().any(Option::is_some) && found.iter().any(Option::is_none));
    }
    drop(store);
    let after = stats.wait_for(|counts| counts.index_scans >= before.index_scans + READS);
    // (PostgreSQL counts one index scan per key of `ANY`.)
    assert!(
        after.index_scans - before.index_scans >= READS,
        "{after:?} after {READS} reads, {before:?} before"
    );
    assert_eq!(
        after.seq_scans - before.seq_scans,
        0,
        "sequential scans of spent_coins for {READS} reads"
    );
}

/// What the server counted for the spent set's table.
#[derive(Clone, Copy, Debug)]
struct Counts {
    seq_scans: i64,
    index_scans: i64,
    inserted: i64,
}

/// A session of its own that reads the server's counts for the case's `spent_coins`.
struct Stats {
    client: postgres::Client,
    schema: String,
}

impl Stats {
    fn connect(conninfo: &str) -> Self {
        let schema = conninfo
            .split("search_path=")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap()
            .to_owned();
        let client = postgres::Client::connect(conninfo, postgres::NoTls).unwrap();
        Self { client, schema }
    }

    /// The counts once `ready` holds for them (or [`STATS_WAIT`] has passed).
    fn wait_for(&mut self, ready: impl Fn(&Counts) -> bool) -> Counts {
        let deadline = Instant::now() + STATS_WAIT;
        loop {
            // A transaction reads a snapshot of the counts: end it to see newer ones.
            self.client
                .batch_execute("SELECT pg_stat_clear_snapshot()")
                .unwrap();
            let row = self
                .client
                .query_one(
                    "SELECT coalesce(seq_scan, 0), coalesce(idx_scan, 0), n_tup_ins \
                     FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'spent_coins'",
                    &[&self.schema],
                )
                .unwrap();
            let counts = Counts {
                seq_scans: row.get(0),
                index_scans: row.get(1),
                inserted: row.get(2),
            };
            if ready(&counts) || Instant::now() > deadline {
                return counts;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
