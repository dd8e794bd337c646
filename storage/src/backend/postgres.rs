//! The PostgreSQL backend: one table per [`Column`], named as the column's RocksDB column
//! family, each `(key bytea primary key, value bytea not null)`; one SQL transaction per group.
//!
//! Why a table per column rather than one `records(column, key, value)` table: each kind of
//! record gets its own index (no column prefix repeated in every entry), its own statistics and
//! vacuum, and the spent set is a table of its own, which is what sharding it across clusters
//! and comparing it with `pgbench` running the same statement need. The names are already stable
//! (they name RocksDB's column families), so no numbering of columns has to be kept fixed.
//!
//! `bytea` compares bytewise (memcmp, then the shorter first), as RocksDB orders keys, so scans
//! return records in the same order on both backends.
//!
//! **Failover.** The connection string may name every node of a replicated cluster (libpq
//! multi-host: `host=a,b,c port=...` with `target_session_attrs=read-write`): each (re)connection
//! goes to whichever node is the primary now. A broken connection is dropped; the next call
//! connects again, trying for up to [`RECONNECT_BUDGET`] with backoff (a Patroni failover takes
//! seconds), and answers [`StorageError::Unavailable`] while no node is primary. A write whose
//! connection broke has an unknown outcome: it is answered `Unavailable`, and the caller retries
//! the same transaction, whose idempotency keys make the retry safe.
//!
//! **An error is not a failure, and visible is not replicated.** PostgreSQL makes a commit
//! visible on the primary (writes its commit record, releases its locks) *before* it waits for
//! the synchronous standby. When the primary restarts during that wait, or the wait is cancelled
//! (the client then gets a warning, and the commit's success), the row is there to read on the
//! primary although no standby may have it: a retry that reads it and answers "already spent by
//! this very permission" would acknowledge a spend that the next failover can lose. So after
//! any write whose outcome is unknown (and when a process starts, since its predecessor may have
//! died in one), the backend first makes a small synchronous write, the *barrier*, on the
//! current primary, and answers nothing until it is acknowledged. Its commit record comes after
//! every commit record the primary has (WAL is one sequence), and a synchronous standby
//! acknowledges WAL in order, so once the barrier is acknowledged everything the primary shows
//! is on the standby too: reads after it see replicated state only. If the node that took over
//! is a promoted standby, the barrier also makes the next standby catch up before anything
//! read there is answered. (A COMMIT still in flight on a connection that broke while the
//! server stayed up, a network split rather than a crash, could reach the server after the
//! barrier; on loopback, and when the primary crashes, that cannot happen.)
//!
//! **Several writers.** Several semper processes (several [`crate::Store`]s) may write one
//! database: the backend is [`Backend::shared`], and each group is written with the check of
//! what it read (see [`crate::backend`]'s documentation). A write refused by that check (or by
//! the server for another writer's sake) is [`StorageError::Conflict`]: a definite failure that
//! wrote nothing, so it needs no barrier. A group of fresh coins reads nothing: its transaction
//! is one insert, without `ON CONFLICT` because the insert is their check (`make bench-pg` runs
//! the same statement through `pgbench`).
//!
//! **Plans.** Every statement finds its records by key (a point, `key = ANY($1)`, or a key
//! range), so every session runs with `enable_seqscan=off` (`KEYED_PLANS`): the planner then
//! takes the primary key whatever it believes of the table. What it believes can be badly wrong:
//! a table not yet analyzed (a new database, until autovacuum's first pass a minute or more
//! later) is planned as if it had 10 pages, and a prepared statement keeps the generic plan it
//! made then. `SELECT ... WHERE key = ANY($1)` kept a sequential scan so while the spent set
//! grew, each 256-coin read scanning the whole table (52-84 ms at about 100k rows, and growing):
//! semper's check-and-insert in `make bench-pg` fell to 1.5-2.7k coins/s. The setting only
//! steers the choice: a table without a usable index would still be scanned.
//!
//! **Schemas.** [`PostgresBackend::connect_in_schema`] keeps the tables in a schema of their
//! own (a bank keeps each role's store in one database, a schema per role).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls, Statement};

use super::{Backend, Change, Read};
use crate::error::StorageError;
use crate::memory::MemoryUsage;
use crate::schema::Column;
use crate::store::Records;

/// Records per page of [`Backend::for_each_key`] when it is called from inside a runtime.
const KEY_PAGE_RECORDS: usize = 4096;

/// One role's records in a PostgreSQL database (blocking: the committer and the readers are
/// plain threads).
pub struct PostgresBackend {
    /// Where to (re)connect, as libpq's connection string.
    config: postgres::Config,
    /// The committer's connection: every write goes through it.
    writer: Mutex<Option<Connection>>,
    /// The readers' connection, so that reads do not queue behind a commit waiting for the
    /// standby.
    reader: Mutex<Option<Connection>>,
    /// Whether something visible may not be replicated (see the module's documentation).
    barrier: Arc<Barrier>,
}

/// How long one call keeps trying to connect (a Patroni failover takes 3-10 s) before it answers
/// [`StorageError::Unavailable`]; the caller's retry tries again.
pub const RECONNECT_BUDGET: Duration = Duration::from_secs(5);
/// The first pause between connection attempts; it doubles up to [`RECONNECT_PAUSE_MAX`].
const RECONNECT_PAUSE_FIRST: Duration = Duration::from_millis(50);
const RECONNECT_PAUSE_MAX: Duration = Duration::from_millis(800);
/// The one-row table the barrier writes.
const BARRIER_TABLE: &str = "semper_barrier";
/// The session setting that keeps every plan on the primary key (see the module's
/// documentation, "Plans").
const KEYED_PLANS: &str = "-c enable_seqscan=off";

/// Counts of writes with an unknown outcome against the barriers that settled them: a barrier is
/// due while `unknown > settled`. Counters, not a flag, so that an outcome lost during a barrier
/// is not cleared by it.
#[derive(Default)]
struct Barrier {
    /// Writes (or commits whose synchronous wait was cancelled) with an unknown outcome; starts
    /// at 1, for whatever a predecessor process left unreplicated.
    unknown: AtomicU64,
    /// The `unknown` count the last acknowledged barrier covers.
    settled: AtomicU64,
    /// Commits whose wait for the standby was cancelled (a warning, on an answered commit).
    sync_cancelled: AtomicU64,
}

impl Barrier {
    /// Counts a write whose outcome is unknown.
    fn outcome_unknown(&self) {
        self.unknown.fetch_add(1, Ordering::SeqCst);
    }

    /// Writes the barrier on `connection` if one is due; nothing is answered before it is.
    /// False when the barrier's own wait for the standby was cancelled: it proves nothing.
    fn settle(&self, connection: &mut Connection) -> Result<bool, postgres::Error> {
        let due = self.unknown.load(Ordering::SeqCst);
        if self.settled.load(Ordering::SeqCst) >= due {
            return Ok(true);
        }
        let cancelled = self.sync_cancelled.load(Ordering::SeqCst);
        let statement = connection.prepare(&format!(
            "INSERT INTO {BARRIER_TABLE} (id, at) VALUES (1, now()) \
             ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at"
        ))?;
        connection.client.execute(&statement, &[])?;
        if self.sync_cancelled.load(Ordering::SeqCst) != cancelled {
            return Ok(false);
        }
        self.settled.fetch_max(due, Ordering::SeqCst);
        Ok(true)
    }
}

/// A connection and the statements prepared on it, so that each query is one round trip.
struct Connection {
    client: Client,
    /// By SQL text: a few per column (the SQL is built from static names only), so bounded.
    statements: HashMap<String, Statement>,
}

impl Connection {
    /// The statement of `sql`, prepared on this connection the first time it is asked for.
    fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// What one group writes to one column: its final state per key.
#[derive(Default)]
struct ColumnWrites<'a> {
    /// Keys the group read and does not insert, to lock and compare.
    read_keys: Vec<&'a [u8]>,
    deletes: Vec<&'a [u8]>,
    /// Keys read as absent: inserted without `ON CONFLICT`.
    insert_keys: Vec<&'a [u8]>,
    insert_values: Vec<&'a [u8]>,
    put_keys: Vec<&'a [u8]>,
    put_values: Vec<&'a [u8]>,
}

impl PostgresBackend {
    /// Connects to the database named by `conninfo` (libpq's `key=value` or URL form, without
    /// TLS for now) and creates every column's table that is missing.
    ///
    /// Several processes may open [`crate::Store`]s over the same database: their writes check
    /// what they read (see the module's documentation).
    pub fn connect(conninfo: &str) -> Result<Self, StorageError> {
        Self::connect_config(Self::parse(conninfo)?, None)
    }

    /// Like [`PostgresBackend::connect`], with the tables in `schema` (created when missing):
    /// every connection's `search_path` is set to it.
    pub fn connect_in_schema(conninfo: &str, schema: &'static str) -> Result<Self, StorageError> {
        let mut config = Self::parse(conninfo)?;
        let options = match config.get_options() {
            Some(options) => format!("{options} -c search_path={schema}"),
            None => format!("-c search_path={schema}"),
        };
        config.options(&options);
        Self::connect_config(config, Some(schema))
    }

    /// A connection string's settings; the error never repeats the string (it may hold a
    /// password).
    fn parse(conninfo: &str) -> Result<postgres::Config, StorageError> {
        conninfo
            .parse()
            .map_err(|error| StorageError::Postgres(format!("connection string: {error}")))
    }

    fn connect_config(
        mut config: postgres::Config,
        schema: Option<&'static str>,
    ) -> Result<Self, StorageError> {
        // Every statement finds its records by key: never by a sequential scan (see the
        // module's documentation, "Plans").
        let options = match config.get_options() {
            Some(options) => format!("{options} {KEYED_PLANS}"),
            None => KEYED_PLANS.to_owned(),
        };
        config.options(&options);
        let barrier = Arc::new(Barrier::default());
        barrier.outcome_unknown();
        let noticed = barrier.clone();
        config.notice_callback(move |notice| {
            // PostgreSQL's "canceling wait for synchronous replication ... might not have been
            // replicated to the standby": the commit is answered, but is local only.
            if notice.message().contains("synchronous replication") {
                noticed.sync_cancelled.fetch_add(1, Ordering::SeqCst);
                noticed.outcome_unknown();
            }
        });
        let backend = Self {
            config,
            writer: Mutex::new(None),
            reader: Mutex::new(None),
            barrier,
        };
        let mut create = |connection: &mut Connection| {
            let mut transaction = connection.client.transaction()?;
            if let Some(schema) = schema {
                transaction.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
            }
            for column in Column::ALL {
                transaction.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {} (key bytea PRIMARY KEY, value bytea NOT NULL)",
                    column.name()
                ))?;
            }
            transaction.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {BARRIER_TABLE} \
                 (id int PRIMARY KEY, at timestamptz NOT NULL)"
            ))?;
            transaction.commit()
        };
        // The tables come before the first barrier, which writes one of them.
        off_runtime(|| backend.with_slot(&backend.writer, &mut create, false))?;
        Ok(backend)
    }

    /// Runs `work` on the connection in `slot`, after the barrier when one is due (see the
    /// module's documentation), on a thread of its own when called from a runtime (see
    /// [`off_runtime`]).
    fn with_connection<T: Send>(
        &self,
        slot: &Mutex<Option<Connection>>,
        mut work: impl FnMut(&mut Connection) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, StorageError> {
        off_runtime(|| self.with_slot(slot, &mut work, true))
    }

    /// Runs `work` on the connection in `slot`, connecting first when there is none or the last
    /// one broke, and settling the barrier first when `settle`. A broken connection is dropped
    /// so that the next call (the caller's retry) connects again.
    fn with_slot<T>(
        &self,
        slot: &Mutex<Option<Connection>>,
        work: &mut dyn FnMut(&mut Connection) -> Result<T, postgres::Error>,
        settle: bool,
    ) -> Result<T, StorageError> {
        let mut guard: MutexGuard<'_, Option<Connection>> = slot
            .lock()
            .map_err(|_| StorageError::Unavailable("connection lock poisoned".into()))?;
        if guard
            .as_ref()
            .is_none_or(|connection| connection.client.is_closed())
        {
            *guard = Some(self.reconnect()?);
        }
        let connection = guard
            .as_mut()
            .ok_or_else(|| StorageError::Unavailable("no connection".into()))?;
        let settled = if settle {
            self.barrier.settle(connection)
        } else {
            Ok(true)
        };
        let result = match settled.map_err(to_storage_error) {
            Ok(true) => work(connection).map_err(to_storage_error),
            Ok(false) => Err(StorageError::Unavailable(
                "the barrier's wait for the synchronous standby was cancelled".into(),
            )),
            Err(error) => Err(error),
        };
        if matches!(result, Err(StorageError::Unavailable(_))) {
            *guard = None;
        }
        result
    }

    /// A new connection to whichever node takes writes now, trying with backoff for up to
    /// [`RECONNECT_BUDGET`] while none does.
    fn reconnect(&self) -> Result<Connection, StorageError> {
        let deadline = Instant::now() + RECONNECT_BUDGET;
        let mut pause = RECONNECT_PAUSE_FIRST;
        loop {
            match self.config.connect(NoTls) {
                Ok(client) => {
                    return Ok(Connection {
                        client,
                        statements: HashMap::new(),
                    });
                }
                Err(error) => {
                    let error = to_storage_error(error);
                    if !matches!(error, StorageError::Unavailable(_))
                        || Instant::now() + pause > deadline
                    {
                        return Err(error);
                    }
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(RECONNECT_PAUSE_MAX);
        }
    }

    /// Up to `limit` records with `start <= key` (and `key < end` when given), in key order.
    fn scan_range(
        &self,
        column: Column,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Records, StorageError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let table = column.name();
        let rows = self.with_connection(&self.reader, |connection| match end {
            Some(end) => {
                let statement = connection.prepare(&format!(
                    "SELECT key, value FROM {table} WHERE key >= $1 AND key < $2 \
                     ORDER BY key LIMIT $3"
                ))?;
                connection.client.query(&statement, &[&start, &end, &limit])
            }
            None => {
                let statement = connection.prepare(&format!(
                    "SELECT key, value FROM {table} WHERE key >= $1 ORDER BY key LIMIT $2"
                ))?;
                connection.client.query(&statement, &[&start, &limit])
            }
        })?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get::<_, Vec<u8>>(0), row.get::<_, Vec<u8>>(1)))
            .collect())
    }
}

impl Drop for PostgresBackend {
    /// Closes the connections, on a thread of their own when this one is a runtime's: closing
    /// drives the blocking client's own runtime, as every call does (see [`off_runtime`]). A
    /// store dropped by an actor's thread would otherwise panic in its destructor.
    fn drop(&mut self) {
        let connections: Vec<Connection> = [&mut self.writer, &mut self.reader]
            .into_iter()
            .filter_map(|slot| {
                slot.get_mut()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take()
            })
            .collect();
        if !connections.is_empty() {
            // Nothing to answer: a close that fails leaves the server to end the session.
            let _ = off_runtime(move || {
                drop(connections);
                Ok(())
            });
        }
    }
}

/// Runs `call` on this thread, or on a thread of its own when this one is a runtime's (an actix
/// or tokio worker reading the store): the blocking client drives its own runtime, which cannot
/// start inside another one.
fn off_runtime<T: Send>(
    call: impl FnOnce() -> Result<T, StorageError> + Send,
) -> Result<T, StorageError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(call)
            .join()
            .unwrap_or_else(|_| Err(StorageError::Unavailable("database call panicked".into())))
    })
}

/// The least key greater than every key starting with `prefix`, if there is one (there is none
/// when `prefix` is empty or all `0xff`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A write raced by another writer is [`StorageError::Conflict`], a definite failure that wrote
/// nothing; a statement refused by the server is a definite failure; anything else (no
/// connection, a broken one, the server shutting down) is retryable, and on a commit its outcome
/// is unknown.
fn to_storage_error(error: postgres::Error) -> StorageError {
    // 23505: a key read as absent was inserted by another writer meanwhile; 40001, 40P01: the
    // server rolled the transaction back for another's sake. Nothing was written: apply again.
    if let Some(state) = error.code()
        && matches!(state.code(), "23505" | "40001" | "40P01")
    {
        return StorageError::Conflict(error.to_string());
    }
    let retryable = match error.code() {
        None => true,
        Some(state) => {
            let code = state.code();
            // 08: connection exception; 57P: operator intervention (shutdown); 40: rollback
            // (serialization failure, deadlock); 53: insufficient resources.
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("40")
                || code.starts_with("53")
        }
    };
    let text = match error.as_db_error() {
        Some(db) => db.to_string(),
        None => error.to_string(),
    };
    if retryable {
        StorageError::Unavailable(text)
    } else {
        StorageError::Postgres(text)
    }
}

impl Backend for PostgresBackend {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let sql = format!("SELECT value FROM {} WHERE key = $1", column.name());
        let row = self.with_connection(&self.reader, |connection| {
            let statement = connection.prepare(&sql)?;
            connection.client.query_opt(&statement, &[&key])
        })?;
        Ok(row.map(|row| row.get(0)))
    }

    fn multi_get(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT key, value FROM {} WHERE key = ANY($1)",
            column.name()
        );
        let rows = self.with_connection(&self.reader, |connection| {
            let statement = connection.prepare(&sql)?;
            connection.client.query(&statement, &[&keys])
        })?;
        let mut found: HashMap<Vec<u8>, Vec<u8>> = rows
            .into_iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        // A key asked twice gets its value twice: clone for all but the last asking.
        let mut remaining: HashMap<&[u8], usize> = HashMap::new();
        for key in keys {
            *remaining.entry(key).or_default() += 1;
        }
        Ok(keys
            .iter()
            .map(|key| {
                let count = remaining.entry(key).or_default();
                *count -= 1;
                if *count == 0 {
                    found.remove(*key)
                } else {
                    found.get(*key).cloned()
                }
            })
            .collect())
    }

    fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.scan_range(column, prefix, prefix_end(prefix).as_deref(), limit)
    }

    fn scan_from(
        &self,
        column: Column,
        start: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.scan_range(column, start, None, limit)
    }

    fn for_each_key(
        &self,
        column: Column,
        visit: &mut dyn FnMut(&[u8]),
    ) -> Result<(), StorageError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // `visit` cannot go to another thread (see `off_runtime`): page through the records
            // instead, each page's call on a thread of its own.
            let mut start = Vec::new();
            loop {
                let page = self.scan_from(column, &start, KEY_PAGE_RECORDS)?;
                for (key, _) in &page {
                    visit(key);
                }
                match page.last() {
                    Some((last, _)) if page.len() == KEY_PAGE_RECORDS => {
                        // The least key after `last`.
                        start = last.clone();
                        start.push(0);
                    }
                    _ => return Ok(()),
                }
            }
        }
        let sql = format!("SELECT key FROM {} ORDER BY key", column.name());
        let mut stream = |connection: &mut Connection| {
            // Rows stream in as the server sends them: the spent set is not held twice.
            let mut rows = connection
                .client
                .query_raw(&sql, std::iter::empty::<&[u8]>())?;
            while let Some(row) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
                visit(row.get::<_, &[u8]>(0));
            }
            Ok(())
        };
        self.with_slot(&self.reader, &mut stream, true)
    }

    /// Applies `changes` in one SQL transaction and returns once it is committed, with the
    /// server's `synchronous_commit` (on a Patroni cluster in synchronous mode: once the
    /// synchronous standby has it).
    ///
    /// A connection error, above all during the commit, leaves the outcome unknown: it is
    /// reported as the retryable [`StorageError::Unavailable`], and the caller retries the same
    /// transaction, whose idempotency keys make the retry safe.
    ///
    /// Such a failure, and a commit whose wait for the standby was cancelled, make the next call
    /// write the barrier first (see the module's documentation).
    fn write_synced(&self, changes: &[Change]) -> Result<(), StorageError> {
        self.write_checked(&[], changes)
    }

    /// Another process may write the same database.
    fn shared(&self) -> bool {
        true
    }

    /// [`Backend::write_synced`]'s one SQL transaction, which first locks the records read and
    /// compares them with what was read, and inserts those read as absent without `ON CONFLICT`
    /// (see [`crate::backend`]). A [`StorageError::Conflict`] wrote nothing, so only an unknown
    /// outcome ([`StorageError::Unavailable`]) makes a barrier due.
    fn write_checked(&self, reads: &[Read], changes: &[Change]) -> Result<(), StorageError> {
        let cancelled = self.barrier.sync_cancelled.load(Ordering::SeqCst);
        let written = self.write_group(reads, changes);
        if matches!(written, Err(StorageError::Unavailable(_))) {
            self.barrier.outcome_unknown();
        }
        if written.is_ok() && self.barrier.sync_cancelled.load(Ordering::SeqCst) != cancelled {
            return Err(StorageError::Unavailable(
                "the commit's wait for the synchronous standby was cancelled: it may be on the \
                 primary only"
                    .into(),
            ));
        }
        written
    }

    /// Nothing: PostgreSQL's caches live in the server's processes, not in this one.
    fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage::default()
    }
}

impl PostgresBackend {
    /// One group's changes in one SQL transaction, which first locks the records the group read
    /// and compares them with what was read, and inserts those read as absent without
    /// `ON CONFLICT` (see [`crate::backend`]).
    fn write_group(&self, reads: &[Read], changes: &[Change]) -> Result<(), StorageError> {
        // One transaction applying the changes in order leaves each key with its last change, so
        // the group is written as that final state: per column, one delete, one insert of the
        // keys read as absent, and one upsert of the others.
        let mut seen: BTreeMap<(Column, &[u8]), Option<&[u8]>> = BTreeMap::new();
        for (column, key, value) in reads {
            seen.insert((*column, key.as_slice()), value.as_deref());
        }
        let mut last: BTreeMap<(Column, &[u8]), Option<&[u8]>> = BTreeMap::new();
        for (column, key, value) in changes {
            last.insert((*column, key.as_slice()), value.as_deref());
        }
        let mut by_column: BTreeMap<Column, ColumnWrites<'_>> = BTreeMap::new();
        for ((column, key), value) in &seen {
            // A key read as absent and written is inserted without `ON CONFLICT`, which checks
            // it (and waits for a concurrent insert of it): locking it too would only cost an
            // index probe per key (every coin of a spend check).
            let inserted = value.is_none() && matches!(last.get(&(*column, *key)), Some(Some(_)));
            if !inserted {
                by_column.entry(*column).or_default().read_keys.push(key);
            }
        }
        for ((column, key), value) in last {
            let writes = by_column.entry(column).or_default();
            let read_absent = matches!(seen.get(&(column, key)), Some(None));
            match value {
                Some(value) if read_absent => {
                    writes.insert_keys.push(key);
                    writes.insert_values.push(value);
                }
                Some(value) => {
                    writes.put_keys.push(key);
                    writes.put_values.push(value);
                }
                None => writes.deletes.push(key),
            }
        }
        let checked = self.with_connection(&self.writer, |connection| {
            let mut statements = Vec::with_capacity(by_column.len());
            for (column, writes) in &by_column {
                let table = column.name();
                let lock = connection.prepare(&format!(
                    "SELECT key, value FROM {table} WHERE key = ANY($1) ORDER BY key FOR UPDATE"
                ))?;
                let delete =
                    connection.prepare(&format!("DELETE FROM {table} WHERE key = ANY($1)"))?;
                let insert = connection.prepare(&format!(
                    "INSERT INTO {table} (key, value) \
                     SELECT * FROM unnest($1::bytea[], $2::bytea[])"
                ))?;
                let upsert = connection.prepare(&format!(
                    "INSERT INTO {table} (key, value) \
                     SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
                ))?;
                statements.push((*column, writes, lock, delete, insert, upsert));
            }
            let mut transaction = connection.client.transaction()?;
            for (column, writes, lock, ..) in &statements {
                if writes.read_keys.is_empty() {
                    continue;
                }
                let rows = transaction.query(lock, &[&writes.read_keys])?;
                let now: HashMap<&[u8], &[u8]> = rows
                    .iter()
                    .map(|row| (row.get::<_, &[u8]>(0), row.get::<_, &[u8]>(1)))
                    .collect();
                for key in &writes.read_keys {
                    if seen.get(&(*column, *key)).copied().flatten() != now.get(key).copied() {
                        // Dropping the transaction rolls it back: nothing is written.
                        return Ok(Err(*column));
                    }
                }
            }
            for (_, writes, _, delete, insert, upsert) in &statements {
                if !writes.deletes.is_empty() {
                    transaction.execute(delete, &[&writes.deletes])?;
                }
                if !writes.insert_keys.is_empty() {
                    transaction.execute(insert, &[&writes.insert_keys, &writes.insert_values])?;
                }
                if !writes.put_keys.is_empty() {
                    transaction.execute(upsert, &[&writes.put_keys, &writes.put_values])?;
                }
            }
            transaction.commit().map(Ok)
        })?;
        checked.map_err(|column| {
            StorageError::Conflict(format!(
                "a record of {} read by the group was changed by another writer",
                column.name()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_least_key_past_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
