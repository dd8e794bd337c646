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
//! **Several writers.** Several semper processes (several [`crate::Store`]s) may write one
//! database: the backend is [`Backend::shared`], and each group is written with the check of
//! what it read (see [`crate::backend`]'s documentation).
//!
//! **Schemas.** [`PostgresBackend::connect_in_schema`] keeps the tables in a schema of their
//! own (a bank keeps each role's store in one database, a schema per role).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

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
    /// Keys the group read, to lock and compare.
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
        config: postgres::Config,
        schema: Option<&'static str>,
    ) -> Result<Self, StorageError> {
        let backend = Self {
            config,
            writer: Mutex::new(None),
            reader: Mutex::new(None),
        };
        backend.with_connection(&backend.writer, |connection| {
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
            transaction.commit()
        })?;
        Ok(backend)
    }

    /// Runs `work` on the connection in `slot`, connecting first when there is none or the last
    /// one broke. A broken connection is dropped so that the next call (the caller's retry)
    /// connects again.
    ///
    /// The blocking client drives its own runtime, which cannot start inside another one: a call
    /// from a runtime's thread (an actix or tokio worker reading the store) does its work on a
    /// thread of its own.
    fn with_connection<T: Send>(
        &self,
        slot: &Mutex<Option<Connection>>,
        work: impl FnOnce(&mut Connection) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, StorageError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.on_connection(slot, work);
        }
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.on_connection(slot, work))
                .join()
                .unwrap_or_else(|_| Err(StorageError::Unavailable("database call panicked".into())))
        })
    }

    /// [`PostgresBackend::with_connection`] on this thread.
    fn on_connection<T>(
        &self,
        slot: &Mutex<Option<Connection>>,
        work: impl FnOnce(&mut Connection) -> Result<T, postgres::Error>,
    ) -> Result<T, StorageError> {
        let mut guard: MutexGuard<'_, Option<Connection>> = slot
            .lock()
            .map_err(|_| StorageError::Unavailable("connection lock poisoned".into()))?;
        if guard
            .as_ref()
            .is_none_or(|connection| connection.client.is_closed())
        {
            *guard = Some(Connection {
                client: self.config.connect(NoTls).map_err(to_storage_error)?,
                statements: HashMap::new(),
            });
        }
        let connection = guard
            .as_mut()
            .ok_or_else(|| StorageError::Unavailable("no connection".into()))?;
        let result = work(connection).map_err(to_storage_error);
        if matches!(result, Err(StorageError::Unavailable(_))) {
            *guard = None;
        }
        result
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

/// A statement refused by the server is a definite failure; anything else (no connection, a
/// broken one, the server shutting down, a conflict that a retry resolves) is retryable, and on
/// a commit its outcome is unknown.
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
            // `visit` cannot go to another thread (see `with_connection`): page through the
            // records instead, each page's call on a thread of its own.
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
        self.on_connection(&self.reader, |connection| {
            // Rows stream in as the server sends them: the spent set is not held twice.
            let mut rows = connection
                .client
                .query_raw(&sql, std::iter::empty::<&[u8]>())?;
            while let Some(row) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
                visit(row.get::<_, &[u8]>(0));
            }
            Ok(())
        })
    }

    /// Applies `changes` in one SQL transaction and returns once it is committed, with the
    /// server's `synchronous_commit` (on a Patroni cluster in synchronous mode: once the
    /// synchronous standby has it).
    ///
    /// A connection error, above all during the commit, leaves the outcome unknown: it is
    /// reported as the retryable [`StorageError::Unavailable`], and the caller retries the same
    /// transaction, whose idempotency keys make the retry safe.
    fn write_synced(&self, changes: &[Change]) -> Result<(), StorageError> {
        self.write_checked(&[], changes)
    }

    /// Another process may write the same database.
    fn shared(&self) -> bool {
        true
    }

    /// [`Backend::write_synced`]'s one SQL transaction, which first locks the records read and
    /// compares them with what was read, and inserts those read as absent without `ON CONFLICT`
    /// (see [`crate::backend`]).
    fn write_checked(&self, reads: &[Read], changes: &[Change]) -> Result<(), StorageError> {
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
        for (column, key) in seen.keys() {
            by_column.entry(*column).or_default().read_keys.push(key);
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

    /// Nothing: PostgreSQL's caches live in the server's processes, not in this one.
    fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage::default()
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
