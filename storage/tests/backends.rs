//! The backend conformance suite: the same cases over RocksDB and over PostgreSQL, each on a
//! fresh database. The PostgreSQL server is a real one this test starts (`initdb`, `pg_ctl`) on
//! loopback, and stops when it ends.

mod common;

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::pg::PgServer;
use common::*;
use semper_storage::backend::{Backend, PostgresBackend, RocksBackend};
use semper_storage::schema::Column;
use semper_storage::spent::{CheckAndInsert, SpendOutcome};
use semper_storage::swaps::{RecordSwap, SwapOutcome, SwapRecord};
use semper_storage::{CommitConfig, Committer, Location, Role, StorageError, Store};

/// Where one case keeps its records; opening it again reaches the same records.
enum Target {
    Rocks(TempDir),
    Postgres { conninfo: String },
}

impl Target {
    fn open(&self) -> Arc<dyn Backend> {
        match self {
            Target::Rocks(dir) => Arc::new(RocksBackend::open(&dir.0).unwrap()),
            Target::Postgres { conninfo } => Arc::new(PostgresBackend::connect(conninfo).unwrap()),
        }
    }
}

/// A case of the suite, run on a fresh target.
type Case = fn(&Target);

/// Every case, by name.
const CASES: &[(&str, Case)] = &[
    ("get_and_multi_get", get_and_multi_get),
    ("scans_and_prefix_bounds", scans_and_prefix_bounds),
    (
        "a_group_applies_changes_in_order",
        a_group_applies_changes_in_order,
    ),
    (
        "spent_set_through_store_and_committer",
        spent_set_through_store_and_committer,
    ),
    ("a_swap_spends_all_or_nothing", a_swap_spends_all_or_nothing),
    (
        "a_recoup_credits_and_spends_once",
        a_recoup_credits_and_spends_once,
    ),
];

fn put(column: Column, key: &[u8], value: &[u8]) -> (Column, Vec<u8>, Option<Vec<u8>>) {
    (column, key.to_vec(), Some(value.to_vec()))
}

fn delete(column: Column, key: &[u8]) -> (Column, Vec<u8>, Option<Vec<u8>>) {
    (column, key.to_vec(), None)
}

fn get_and_multi_get(target: &Target) {
    let backend = target.open();
    backend
        .write_synced(&[
            put(Column::Accounts, b"k1", b"one"),
            put(Column::Accounts, b"k2", b"two"),
            // The same key in another column is another record.
            put(Column::Journal, b"k1", b"journal"),
            put(Column::Accounts, b"empty", b""),
        ])
        .unwrap();
    assert_eq!(
        backend.get(Column::Accounts, b"k1").unwrap(),
        Some(b"one".to_vec())
    );
    assert_eq!(
        backend.get(Column::Journal, b"k1").unwrap(),
        Some(b"journal".to_vec())
    );
    assert_eq!(
        backend.get(Column::Accounts, b"empty").unwrap(),
        Some(Vec::new())
    );
    assert_eq!(backend.get(Column::Accounts, b"k3").unwrap(), None);
    assert_eq!(backend.get(Column::Journal, b"k2").unwrap(), None);
    let keys: [&[u8]; 5] = [b"k2", b"missing", b"k1", b"k2", b"empty"];
    assert_eq!(
        backend.multi_get(Column::Accounts, &keys).unwrap(),
        vec![
            Some(b"two".to_vec()),
            None,
            Some(b"one".to_vec()),
            Some(b"two".to_vec()),
            Some(Vec::new())
        ]
    );
    assert!(backend.multi_get(Column::Accounts, &[]).unwrap().is_empty());
    // An overwrite replaces the value.
    backend
        .write_synced(&[put(Column::Accounts, b"k1", b"uno")])
        .unwrap();
    assert_eq!(
        backend.get(Column::Accounts, b"k1").unwrap(),
        Some(b"uno".to_vec())
    );
}

fn scans_and_prefix_bounds(target: &Target) {
    let backend = target.open();
    // Written out of order; bytewise order is the order below.
    let keys: Vec<Vec<u8>> = vec![
        vec![0xff, 0xff],
        vec![0x01, 0xff, 0xff],
        vec![0x02],
        vec![0x01],
        vec![0x00, 0xff],
        vec![0x01, 0x00],
        vec![0xff],
        vec![0x01, 0xff],
        vec![0x01, 0x80, 0x00],
    ];
    let changes: Vec<_> = keys
        .iter()
        .map(|key| put(Column::Outbox, key, &[key.len() as u8]))
        .collect();
    backend.write_synced(&changes).unwrap();
    let mut sorted = keys.clone();
    sorted.sort();
    let keys_of = |records: Vec<(Vec<u8>, Vec<u8>)>| -> Vec<Vec<u8>> {
        records.into_iter().map(|(key, _)| key).collect()
    };
    assert_eq!(
        keys_of(backend.scan_prefix(Column::Outbox, &[0x01], 100).unwrap()),
        vec![
            vec![0x01],
            vec![0x01, 0x00],
            vec![0x01, 0x80, 0x00],
            vec![0x01, 0xff],
            vec![0x01, 0xff, 0xff]
        ]
    );
    assert_eq!(
        keys_of(backend.scan_prefix(Column::Outbox, &[0x01], 2).unwrap()),
        vec![vec![0x01], vec![0x01, 0x00]]
    );
    // A prefix of 0xff bytes has no upper bound but the column's end.
    assert_eq!(
        keys_of(backend.scan_prefix(Column::Outbox, &[0xff], 100).unwrap()),
        vec![vec![0xff], vec![0xff, 0xff]]
    );
    assert_eq!(
        keys_of(
            backend
                .scan_prefix(Column::Outbox, &[0x01, 0xff], 100)
                .unwrap()
        ),
        vec![vec![0x01, 0xff], vec![0x01, 0xff, 0xff]]
    );
    assert_eq!(
        keys_of(backend.scan_prefix(Column::Outbox, &[0x03], 100).unwrap()),
        Vec::<Vec<u8>>::new()
    );
    assert_eq!(
        keys_of(backend.scan_prefix(Column::Outbox, &[], 100).unwrap()),
        sorted
    );
    assert_eq!(
        keys_of(backend.scan_from(Column::Outbox, &[0x01, 0x80], 3).unwrap()),
        vec![
            vec![0x01, 0x80, 0x00],
            vec![0x01, 0xff],
            vec![0x01, 0xff, 0xff]
        ]
    );
    assert_eq!(
        keys_of(backend.scan_from(Column::Outbox, &[], 100).unwrap()),
        sorted
    );
    assert!(
        backend
            .scan_from(Column::Outbox, &[0xff, 0xff, 0x00], 10)
            .unwrap()
            .is_empty()
    );
    // Values come with their keys.
    assert_eq!(
        backend.scan_from(Column::Outbox, &[0x02], 1).unwrap(),
        vec![(vec![0x02], vec![1])]
    );
    let mut visited = Vec::new();
    backend
        .for_each_key(Column::Outbox, &mut |key| visited.push(key.to_vec()))
        .unwrap();
    assert_eq!(visited, sorted);
    // Other columns are not scanned.
    assert!(
        backend
            .scan_from(Column::Reports, &[], 10)
            .unwrap()
            .is_empty()
    );
}

fn a_group_applies_changes_in_order(target: &Target) {
    let backend = target.open();
    backend
        .write_synced(&[
            put(Column::Deposits, b"a", b"1"),
            put(Column::Deposits, b"b", b"1"),
            put(Column::Deposits, b"c", b"1"),
        ])
        .unwrap();
    backend
        .write_synced(&[
            // Put then delete: gone.
            put(Column::Deposits, b"new", b"x"),
            delete(Column::Deposits, b"new"),
            // Delete then put: there.
            delete(Column::Deposits, b"a"),
            put(Column::Deposits, b"a", b"2"),
            // Put twice: the last.
            put(Column::Deposits, b"b", b"2"),
            put(Column::Deposits, b"b", b"3"),
            // A plain delete, and a delete of nothing.
            delete(Column::Deposits, b"c"),
            delete(Column::Deposits, b"never"),
        ])
        .unwrap();
    assert_eq!(
        backend.scan_from(Column::Deposits, &[], 10).unwrap(),
        vec![
            (b"a".to_vec(), b"2".to_vec()),
            (b"b".to_vec(), b"3".to_vec())
        ]
    );
    // An empty group is a no-op.
    backend.write_synced(&[]).unwrap();
}

fn spent_set_through_store_and_committer(target: &Target) {
    let (account, first, again) = {
        let store = Store::with_backend(target.open(), Role::Issuer).unwrap();
        let committer = Committer::start(store.clone(), CommitConfig::default());
        let account = funded_account(&committer, 3, "10.00");
        let first = committer
            .execute(CheckAndInsert {
                entries: vec![spend(1, 1), spend(2, 1)],
            })
            .unwrap();
        let again = committer
            .execute(CheckAndInsert {
                entries: vec![spend(1, 1), spend(2, 2), spend(3, 1), spend(3, 1)],
            })
            .unwrap();
        (account, first, again)
    };
    assert_eq!(first, vec![SpendOutcome::New, SpendOutcome::New]);
    assert_eq!(
        again,
        vec![
            SpendOutcome::Replay,
            SpendOutcome::Conflict {
                earlier: spend(2, 1).permission
            },
            SpendOutcome::New,
            SpendOutcome::Replay
        ]
    );
    // Recovery: the store and its backend are gone; a new one over the same database has it all.
    let store = Store::with_backend(target.open(), Role::Issuer).unwrap();
    assert!(store.get(Column::Accounts, &account.0).unwrap().is_some());
    let committer = Committer::start(store.clone(), CommitConfig::default());
    let after = committer
        .execute(CheckAndInsert {
            entries: vec![spend(3, 2), spend(1, 1), spend(4, 1)],
        })
        .unwrap();
    assert_eq!(
        after,
        vec![
            SpendOutcome::Conflict {
                earlier: spend(3, 1).permission
            },
            SpendOutcome::Replay,
            SpendOutcome::New
        ]
    );
    drop(committer);
    drop(store);
    // The same database is refused to another role.
    assert!(matches!(
        Store::with_backend(target.open(), Role::Acquirer),
        Err(StorageError::WrongRole { .. })
    ));
}

/// A swap spends its coins and records its signatures in one write: a coin spent before by
/// another permission stops the whole swap (its other coins stay unspent, nothing recorded), the
/// same request again is answered from its record, its id with another body is refused, and a
/// later deposit of a swapped coin is a conflict with the swap's permission as proof. Also after
/// a reopen.
fn a_swap_spends_all_or_nothing(target: &Target) {
    use semper_protocol::ids::{Digest, RequestId};
    let store = Store::with_backend(target.open(), Role::Issuer).unwrap();
    let committer = Committer::start(store.clone(), CommitConfig::default());
    let record = |digest: u8| SwapRecord {
        request_digest: Digest([digest; 32]),
        blind_signatures: Vec::new().try_into().unwrap(),
        at: semper_protocol::time::Timestamp::from_unix_ms(1),
    };
    let swap = |id: u8, digest: u8, coins: Vec<semper_storage::spent::SpendEntry>| RecordSwap {
        request_id: RequestId([id; 16]),
        record: record(digest),
        coins,
        refunded: Vec::new(),
        issued: Default::default(),
    };
    // Coin 1 deposited first: a swap of coins 2 and 1 changes nothing.
    committer
        .execute(CheckAndInsert {
            entries: vec![spend(1, 1)],
        })
        .unwrap();
    let refused = committer
        .execute(swap(1, 1, vec![spend(2, 9), spend(1, 9)]))
        .unwrap();
    assert_eq!(
        refused,
        SwapOutcome::Conflict {
            index: 1,
            earlier: spend(1, 1).permission
        }
    );
    // Coin 2 was not left spent: a swap of it alone goes through, once.
    let done = committer.execute(swap(2, 2, vec![spend(2, 9)])).unwrap();
    assert_eq!(done, SwapOutcome::Recorded(record(2)));
    drop(committer);
    drop(store);
    let store = Store::with_backend(target.open(), Role::Issuer).unwrap();
    let committer = Committer::start(store.clone(), CommitConfig::default());
    assert_eq!(
        committer.execute(swap(2, 2, vec![spend(2, 9)])).unwrap(),
        SwapOutcome::Replayed(record(2))
    );
    assert_eq!(
        committer.execute(swap(2, 3, vec![spend(3, 9)])).unwrap(),
        SwapOutcome::RequestIdReused
    );
    // A deposit of the swapped coin: the swap's permission is the proof.
    let deposit = committer
        .execute(CheckAndInsert {
            entries: vec![spend(2, 1), spend(3, 1)],
        })
        .unwrap();
    assert_eq!(
        deposit,
        vec![
            SpendOutcome::Conflict {
                earlier: spend(2, 9).permission
            },
            SpendOutcome::New
        ]
    );
}

/// A recoup credits the account, journals it, spends the coin and records the withdrawal slot,
/// in one write: the same request again is answered from the record and credits nothing; the
/// slot with another request, or a coin spent before (by a deposit, or recouped from another
/// slot), changes nothing; a later deposit of the recouped coin is a conflict with the recoup's
/// permission as proof. Also after a reopen. A recoup whose coin its shard group spent credits
/// and records alone, once.
fn a_recoup_credits_and_spends_once(target: &Target) {
    use semper_protocol::ids::{CoinId, Digest, RequestId};
    use semper_storage::ledger::{self, JournalReason, LedgerError};
    use semper_storage::recoups::{self, RecordRecoup, RecoupOutcome, RecoupRecord};
    use semper_storage::schema::spent_key;
    use semper_storage::spent::spent_by;
    let store = Store::with_backend(target.open(), Role::Issuer).unwrap();
    let committer = Committer::start(store.clone(), CommitConfig::default());
    let account = funded_account(&committer, 5, "3.00");
    let record = |digest: u8, coin: u32| RecoupRecord {
        request_digest: Digest([digest; 32]),
        denomination: spend(coin, 0).denomination,
        coin: CoinId(spend(coin, 0).coin),
        credited: eur("1.00"),
        at: AT,
    };
    let recoup = |index: u32, digest: u8, coin: u32| RecordRecoup {
        account,
        request_id: RequestId([1; 16]),
        index,
        record: record(digest, coin),
        coin: Some(spend(coin, 50)),
    };
    let balance = |store: &Store| ledger::account(store, &account).unwrap().unwrap().balance;
    // Coin 1 deposited first: its recoup changes nothing.
    committer
        .execute(CheckAndInsert {
            entries: vec![spend(1, 1)],
        })
        .unwrap();
    assert_eq!(
        committer.execute(recoup(0, 1, 1)).unwrap(),
        RecoupOutcome::CoinSpent {
            earlier: spend(1, 1).permission
        }
    );
    assert_eq!(balance(&store), eur("3.00"));
    // Coin 2 from slot 1: credited, spent, recorded.
    assert_eq!(
        committer.execute(recoup(1, 2, 2)).unwrap(),
        RecoupOutcome::Recorded(record(2, 2))
    );
    assert_eq!(balance(&store), eur("4.00"));
    // An unknown account is credited nothing.
    let mut stranger = recoup(2, 3, 3);
    stranger.account = semper_protocol::ids::AccountId([9; 16]);
    assert_eq!(
        committer.execute(stranger).unwrap(),
        RecoupOutcome::Ledger(LedgerError::UnknownAccount)
    );
    drop(committer);
    drop(store);
    let store = Store::with_backend(target.open(), Role::Issuer).unwrap();
    let committer = Committer::start(store.clone(), CommitConfig::default());
    assert_eq!(
        committer.execute(recoup(1, 2, 2)).unwrap(),
        RecoupOutcome::Replayed(record(2, 2))
    );
    // The slot with another request; the coin from another slot: nothing.
    assert_eq!(
        committer.execute(recoup(1, 3, 3)).unwrap(),
        RecoupOutcome::SlotRecouped
    );
    assert_eq!(
        committer.execute(recoup(2, 2, 2)).unwrap(),
        RecoupOutcome::CoinSpent {
            earlier: spend(2, 50).permission
        }
    );
    assert_eq!(balance(&store), eur("4.00"));
    assert!(
        recoups::recoup(&store, &account, &RequestId([1; 16]), 2)
            .unwrap()
            .is_none()
    );
    let journal = ledger::journal_entries(&store, &account, 10).unwrap();
    assert_eq!(
        journal.last().unwrap().reason,
        JournalReason::Recoup {
            coin: CoinId(spend(2, 0).coin),
            amount: eur("1.00")
        }
    );
    // A deposit of the recouped coin: the recoup's permission is the proof.
    let deposit = committer
        .execute(CheckAndInsert {
            entries: vec![spend(2, 1)],
        })
        .unwrap();
    assert_eq!(
        deposit,
        vec![SpendOutcome::Conflict {
            earlier: spend(2, 50).permission
        }]
    );
    // Coin 4's shard group spent it already (a sharded spent set): credited and recorded, once,
    // and this store's spent set untouched.
    let mut sharded = recoup(3, 4, 4);
    sharded.coin = None;
    let recorded = RecoupOutcome::Recorded(record(4, 4));
    assert_eq!(committer.execute(sharded.clone()).unwrap(), recorded);
    assert_eq!(
        committer.execute(sharded).unwrap(),
        RecoupOutcome::Replayed(record(4, 4))
    );
    assert_eq!(balance(&store), eur("5.00"));
    assert!(
        spent_by(
            &store,
            &spent_key(&spend(4, 0).denomination, &spend(4, 0).coin)
        )
        .unwrap()
        .is_none()
    );
}

/// The issuer's books of coins issued (`common::issued`): counted in the write of each
/// withdrawal and swap recorded, never on a replay.
fn the_books_count_each_recorded_request_once(target: &Target) {
    common::issued::scenario(&|| {
        let store = Store::with_backend(target.open(), Role::Issuer).unwrap();
        let committer = Committer::start(store.clone(), CommitConfig::default());
        (store, committer)
    });
}

#[test]
fn rocksdb_conformance() {
    for (name, case) in CASES {
        eprintln!("rocksdb: {name}");
        case(&Target::Rocks(TempDir::new(&format!("backends-{name}"))));
    }
    eprintln!("rocksdb: the_books_count_each_recorded_request_once");
    the_books_count_each_recorded_request_once(&Target::Rocks(TempDir::new("backends-books")));
}

#[test]
fn postgres_conformance() {
    let server = PgServer::start();
    for (name, case) in CASES {
        eprintln!("postgres: {name}");
        case(&Target::Postgres {
            conninfo: server.new_database(),
        });
    }
    a_failing_change_leaves_nothing_of_its_group(&server);
    a_server_restart_is_retryable(&server);
    // After the restart: its crash recovery syncs every table's files, so fewer is faster.
    eprintln!("postgres: the_books_count_each_recorded_request_once");
    the_books_count_each_recorded_request_once(&Target::Postgres {
        conninfo: server.new_database(),
    });
    eprintln!("postgres: the spent set split over three databases");
    // A location is a database, in which each role's store has its schema: the groups, all
    // of role SpentShard, need a database each (the issuer's store may share one with them).
    let main = Location::Postgres(server.create_database("shards_main"));
    let groups: Vec<Location> = (0..3)
        .map(|group| Location::Postgres(server.create_database(&format!("shard{group}"))))
        .collect();
    common::shards::scenario(&main, &groups);
    // Last: it changes a setting of the whole server.
    a_commit_not_yet_replicated_is_never_answered(&server);
}

/// PostgreSQL's trap (issue 19, item 4): a commit is visible on the primary before the
/// synchronous standby has it. Here the standby never comes (`synchronous_standby_names` names
/// one that does not exist), so every commit waits for it. One spend's wait is cancelled (the
/// client gets a warning and the commit's success), another's connection is terminated while it
/// waits: both are committed locally only, so neither may be answered as done, and their retry,
/// which finds them "already spent by this very permission", must not answer until the standby
/// has them (the backend's barrier), although the rows are there to read.
fn a_commit_not_yet_replicated_is_never_answered(server: &PgServer) {
    let conninfo = server.new_database();
    let store = Store::with_backend(target_backend(&conninfo), Role::Issuer).unwrap();
    let committer = Arc::new(Committer::start(store, CommitConfig::default()));
    let mut admin = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
    // A spend whose wait is cancelled, then one whose connection is terminated.
    for (coin, stop) in [(1, "pg_cancel_backend"), (2, "pg_terminate_backend")] {
        set_standby(&mut admin, "'absent'");
        let waiting = spend_in_background(&committer, vec![spend(coin, 1)]);
        let pid = sync_waiter(&mut admin, &waiting).unwrap();
        admin
            .execute(&format!("SELECT {stop}($1)"), &[&pid])
            .unwrap();
        let answer = waiting.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(
            matches!(answer, Err(StorageError::Unavailable(_))),
            "coin {coin} after {stop}: {answer:?}"
        );
        // The row is on the server, committed, yet on no standby.
        let visible: i64 = admin
            .query_one("SELECT count(*) FROM spent_coins", &[])
            .unwrap()
            .get(0);
        assert_eq!(visible, i64::from(coin), "after {stop}");
        let retry = spend_in_background(&committer, vec![spend(coin, 1)]);
        if let Err(early) = sync_waiter(&mut admin, &retry) {
            panic!("after {stop}, the retry did not wait for the standby to have it: {early}");
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            retry.try_recv().is_err(),
            "answered while the standby is missing"
        );
        // The standby arrives (here: the server stops waiting for one): the retry answers.
        set_standby(&mut admin, "DEFAULT");
        assert_eq!(
            retry.recv_timeout(Duration::from_secs(10)).unwrap(),
            Ok(vec![SpendOutcome::Replay]),
            "after {stop}"
        );
    }
}

/// Sets the server's `synchronous_standby_names` (ALTER SYSTEM runs outside a transaction, so in
/// a statement of its own) and reloads its configuration.
fn set_standby(admin: &mut postgres::Client, names: &str) {
    admin
        .batch_execute(&format!(
            "ALTER SYSTEM SET synchronous_standby_names = {names}"
        ))
        .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    // The reload reaches the server's processes by signal, a few milliseconds later.
    std::thread::sleep(Duration::from_millis(500));
}

fn target_backend(conninfo: &str) -> Arc<dyn Backend> {
    Arc::new(PostgresBackend::connect(conninfo).unwrap())
}

/// The answer to a check-and-insert of `entries`, run on a thread of its own.
fn spend_in_background(
    committer: &Arc<Committer>,
    entries: Vec<semper_storage::spent::SpendEntry>,
) -> Receiver<Result<Vec<SpendOutcome>, StorageError>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let committer = committer.clone();
    std::thread::spawn(move || {
        let _ = sender.send(committer.execute(CheckAndInsert { entries }));
    });
    receiver
}

/// The PID of a session waiting for the synchronous standby, once one is (at most 10 s); what
/// `answer` said instead, if it came first.
fn sync_waiter<T: std::fmt::Debug>(
    admin: &mut postgres::Client,
    answer: &Receiver<T>,
) -> Result<i32, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let waiting = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' LIMIT 1",
                &[],
            )
            .unwrap();
        if let Some(row) = waiting {
            return Ok(row.get(0));
        }
        if let Ok(early) = answer.try_recv() {
            return Err(format!("answered {early:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err("no session waits for the standby".into())
}

/// A group whose last change the server refuses leaves none of its changes. (RocksDB has no way
/// to refuse one change of a `WriteBatch`, which it applies whole, so this case is PostgreSQL's.)
fn a_failing_change_leaves_nothing_of_its_group(server: &PgServer) {
    let conninfo = server.new_database();
    let backend = PostgresBackend::connect(&conninfo).unwrap();
    backend
        .write_synced(&[put(Column::Reports, b"kept", b"before")])
        .unwrap();
    // What the server will refuse: a report value of 8 bytes or more.
    let mut admin = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
    admin
        .batch_execute("ALTER TABLE reports ADD CONSTRAINT short CHECK (length(value) < 8)")
        .unwrap();
    let refused = backend.write_synced(&[
        put(Column::Accounts, b"a", b"1"),
        delete(Column::Reports, b"kept"),
        put(Column::SpentCoins, b"coin", b"permission"),
        put(Column::Reports, b"long", b"too long for the check"),
    ]);
    assert!(
        matches!(refused, Err(StorageError::Postgres(_))),
        "{refused:?}"
    );
    assert_eq!(backend.get(Column::Accounts, b"a").unwrap(), None);
    assert_eq!(backend.get(Column::SpentCoins, b"coin").unwrap(), None);
    assert_eq!(
        backend.get(Column::Reports, b"kept").unwrap(),
        Some(b"before".to_vec())
    );
    // The connection is still good for the next group.
    backend
        .write_synced(&[put(Column::Accounts, b"a", b"1")])
        .unwrap();
    assert_eq!(
        backend.get(Column::Accounts, b"a").unwrap(),
        Some(b"1".to_vec())
    );
}

/// The server crashes (an immediate stop): while it is down, a write fails with the retryable
/// [`StorageError::Unavailable`] (on a commit the outcome would be unknown); once it is back,
/// the retry connects again and succeeds, and what was committed before the crash is there.
fn a_server_restart_is_retryable(server: &PgServer) {
    let conninfo = server.new_database();
    let backend = PostgresBackend::connect(&conninfo).unwrap();
    backend
        .write_synced(&[put(Column::SpentCoins, b"one", b"1")])
        .unwrap();
    assert!(server.stop("immediate"), "pg_ctl stop -m immediate");
    let group = [put(Column::SpentCoins, b"two", b"2")];
    let down = backend.write_synced(&group);
    assert!(
        matches!(down, Err(StorageError::Unavailable(_))),
        "{down:?}"
    );
    let read = backend.get(Column::SpentCoins, b"one");
    assert!(
        matches!(read, Err(StorageError::Unavailable(_))),
        "{read:?}"
    );
    server.resume();
    backend.write_synced(&group).unwrap();
    assert_eq!(
        backend
            .multi_get(Column::SpentCoins, &[b"one", b"two"])
            .unwrap(),
        vec![Some(b"1".to_vec()), Some(b"2".to_vec())]
    );
}
