//! The failover load: writers spend coins and credit accounts through [`Store`] and the
//! committer, retrying every unknown outcome with the same idempotency keys, while the primary's
//! postmaster is killed with SIGKILL; then every node is checked for every acknowledged write.
//! The failover test (`tests/failover.rs`) runs it short, `ha-soak` long.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use semper_protocol::amount::{Amount, Currency};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{AccountId, DenominationId, Digest};
use semper_protocol::time::Timestamp;
use semper_storage::backend::PostgresBackend;
use semper_storage::ledger::{Credit, OpenAccount};
use semper_storage::schema::spent_key;
use semper_storage::spent::{CheckAndInsert, SpendEntry, SpendOutcome};
use semper_storage::{CommitConfig, Committer, Role, StorageError, Store};

use crate::cluster::{Cluster, ClusterError};

/// The shape of one run.
#[derive(Clone, Copy, Debug)]
pub struct LoadConfig {
    /// Writer threads.
    pub writers: u32,
    /// Coins per check-and-insert.
    pub batch_coins: u32,
    /// Primary kills.
    pub kills: u32,
    /// Writes between kills, after the cluster is whole again.
    pub settle: Duration,
    /// How long a failover may take before the run fails.
    pub failover_max: Duration,
}

/// What a run did and found.
#[derive(Debug, Default)]
pub struct Report {
    /// Each kill's time to the first acknowledged write after it.
    pub failovers: Vec<Duration>,
    /// Coins acknowledged as spent (new or replay of their own earlier attempt).
    pub coins_acknowledged: u64,
    /// Credits acknowledged.
    pub credits_acknowledged: u64,
    /// Attempts that ended in an unknown outcome and were retried.
    pub retries: u64,
    /// Retries answered `Replay`: the earlier attempt had committed although it failed.
    pub replays_after_error: u64,
    /// Problems: an acknowledged write missing on a node, a coin answered as a double spend of
    /// itself, a definite error. Empty when the run passed.
    pub problems: Vec<String>,
    /// Records checked on the nodes.
    pub records_checked: u64,
}

/// The denomination every coin of the load is of.
const DENOMINATION: DenominationId = DenominationId([7; 32]);
const AT: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);
/// A writer credits its account once every this many batches.
const CREDIT_EVERY_BATCHES: u64 = 4;
/// Pause between retries of an unknown outcome.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
/// The most problems kept (a broken run reports its first ones).
const PROBLEMS_MAX: usize = 50;
/// Keys per query when checking a node.
const CHECK_CHUNK: usize = 4096;

/// What one writer had acknowledged.
struct Written {
    /// Its batches acknowledged: coins `0..batches * batch_coins` of the writer.
    batches: u64,
    /// Its credits acknowledged: references `0..credits`.
    credits: u64,
    retries: u64,
    replays_after_error: u64,
    problems: Vec<String>,
}

/// The shared clock of the run: when a write was last acknowledged, and last failed, in µs
/// since `start`.
struct Progress {
    start: Instant,
    last_ack_us: AtomicU64,
    last_error_us: AtomicU64,
    stop: AtomicBool,
}

impl Progress {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn acknowledged(&self) {
        self.last_ack_us.fetch_max(self.now_us(), Ordering::Relaxed);
    }

    fn failed(&self) {
        self.last_error_us
            .fetch_max(self.now_us(), Ordering::Relaxed);
    }
}

/// Runs the load on `cluster`: writers start, the primary is killed `config.kills` times (each
/// once the cluster is whole again and writes have gone on for `config.settle`), then the
/// writers stop and every node is checked.
pub fn run(cluster: &Cluster, config: LoadConfig) -> Result<Report, ClusterError> {
    let conninfo = cluster.conninfo()?;
    let backend = PostgresBackend::connect(&conninfo)
        .map_err(|error| ClusterError(format!("connect: {error}")))?;
    let store = Store::with_backend(Arc::new(backend), Role::Issuer)
        .map_err(|error| ClusterError(format!("open store: {error}")))?;
    let committer = Arc::new(Committer::start(store.clone(), CommitConfig::default()));
    for writer in 0..config.writers {
        let opened = committer.execute(OpenAccount {
            account: account_of(writer),
            public_key: *SigningKey::from_seed(&[writer as u8; 32]).verifying_key(),
            currency: eur(),
            at: AT,
        });
        if !matches!(opened, Ok(Ok(_))) {
            return Err(ClusterError(format!("open account: {opened:?}")));
        }
    }
    let progress = Arc::new(Progress {
        start: Instant::now(),
        last_ack_us: AtomicU64::new(0),
        last_error_us: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let writers: Vec<_> = (0..config.writers)
        .map(|writer| {
            let committer = committer.clone();
            let progress = progress.clone();
            std::thread::spawn(move || write_until_stopped(writer, config, &committer, &progress))
        })
        .collect();
    let mut report = Report::default();
    let killed = kill_repeatedly(cluster, config, &progress, &mut report);
    progress.stop.store(true, Ordering::Relaxed);
    let mut written = Vec::new();
    for handle in writers {
        match handle.join() {
            Ok(done) => written.push(done),
            Err(_) => report.problems.push("a writer panicked".into()),
        }
    }
    drop(committer);
    drop(store);
    killed?;
    for done in &written {
        report.coins_acknowledged += done.batches * u64::from(config.batch_coins);
        report.credits_acknowledged += done.credits;
        report.retries += done.retries;
        report.replays_after_error += done.replays_after_error;
        report.problems.extend(done.problems.iter().cloned());
    }
    cluster.wait_ready(config.failover_max * 4)?;
    for node in 1..=3u8 {
        check_node(cluster, node, config, &written, &mut report)?;
    }
    report.problems.truncate(PROBLEMS_MAX);
    Ok(report)
}

/// Kills the primary `config.kills` times, timing each failover from the kill to the first write
/// acknowledged after writes failed. (A killed postmaster's backends live on for a moment, so a
/// commit in flight can still be acknowledged, by the standby, just after the kill: that is not
/// the new primary.)
fn kill_repeatedly(
    cluster: &Cluster,
    config: LoadConfig,
    progress: &Progress,
    report: &mut Report,
) -> Result<(), ClusterError> {
    for kill in 0..config.kills {
        cluster.wait_ready(config.failover_max * 4)?;
        std::thread::sleep(config.settle);
        let node = cluster.kill_primary()?;
        let killed_us = progress.now_us();
        let deadline = Instant::now() + config.failover_max;
        loop {
            let failed = progress.last_error_us.load(Ordering::Relaxed);
            let last = progress.last_ack_us.load(Ordering::Relaxed);
            if failed > killed_us && last > failed {
                let failover = Duration::from_micros(last - killed_us);
                println!(
                    "failover {}: primary node{node} killed, first write acknowledged after {:.2} s",
                    kill + 1,
                    failover.as_secs_f64()
                );
                report.failovers.push(failover);
                break;
            }
            if Instant::now() > deadline {
                return Err(ClusterError(format!(
                    "no write acknowledged {:?} after kill {} of node{node}\n{}",
                    config.failover_max,
                    kill + 1,
                    cluster.status()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// One writer: batches of new coins, and now and then a credit, each retried on an unknown
/// outcome with the same coins and permissions, or the same reference, until acknowledged.
fn write_until_stopped(
    writer: u32,
    config: LoadConfig,
    committer: &Committer,
    progress: &Progress,
) -> Written {
    let mut done = Written {
        batches: 0,
        credits: 0,
        retries: 0,
        replays_after_error: 0,
        problems: Vec::new(),
    };
    while !progress.stop.load(Ordering::Relaxed) {
        let entries: Vec<SpendEntry> = (0..config.batch_coins)
            .map(|index| {
                spend(
                    writer,
                    done.batches * u64::from(config.batch_coins) + u64::from(index),
                )
            })
            .collect();
        let mut failed_before = false;
        loop {
            match committer.execute(CheckAndInsert {
                entries: entries.clone(),
            }) {
                Ok(outcomes) => {
                    for (entry, outcome) in entries.iter().zip(&outcomes) {
                        match outcome {
                            SpendOutcome::New => {}
                            SpendOutcome::Replay if failed_before => done.replays_after_error += 1,
                            other => done.problems.push(format!(
                                "writer {writer}: coin {:?} answered {other:?} (retried: {failed_before})",
                                &entry.coin[..12]
                            )),
                        }
                    }
                    done.batches += 1;
                    progress.acknowledged();
                    break;
                }
                Err(error) if retryable(&error) => {
                    // Unknown outcome (or none yet): the same coins again, once a primary is up.
                    progress.failed();
                    failed_before = true;
                    done.retries += 1;
                    if progress.stop.load(Ordering::Relaxed) {
                        return done;
                    }
                    std::thread::sleep(RETRY_PAUSE);
                }
                Err(error) => {
                    done.problems.push(format!("writer {writer}: {error}"));
                    return done;
                }
            }
        }
        if done.batches.is_multiple_of(CREDIT_EVERY_BATCHES)
            && !credit(writer, committer, progress, &mut done)
        {
            return done;
        }
    }
    done
}

/// Credits the writer's account under its next reference until acknowledged; false when the run
/// stopped first (the credit's outcome then stays unknown) or it was refused.
fn credit(writer: u32, committer: &Committer, progress: &Progress, done: &mut Written) -> bool {
    let reference = credit_reference(writer, done.credits);
    loop {
        match committer.execute(Credit {
            account: account_of(writer),
            reference: reference.clone(),
            amount: one_euro(),
            at: AT,
        }) {
            Ok(Ok(_)) => {
                done.credits += 1;
                progress.acknowledged();
                return true;
            }
            Ok(Err(refused)) => {
                done.problems.push(format!("credit {reference}: {refused}"));
                return false;
            }
            Err(error) if retryable(&error) => {
                progress.failed();
                done.retries += 1;
                if progress.stop.load(Ordering::Relaxed) {
                    return false;
                }
                std::thread::sleep(RETRY_PAUSE);
            }
            Err(error) => {
                done.problems.push(format!("credit {reference}: {error}"));
                return false;
            }
        }
    }
}

fn retryable(error: &StorageError) -> bool {
    matches!(error, StorageError::Unavailable(_) | StorageError::Busy)
}

/// Checks on node `node` that every acknowledged coin is spent with its own permission, and every
/// acknowledged credit's reference is there, once the node has replayed all the primary wrote.
fn check_node(
    cluster: &Cluster,
    node: u8,
    config: LoadConfig,
    written: &[Written],
    report: &mut Report,
) -> Result<(), ClusterError> {
    let sql_error = |error: postgres::Error| ClusterError(format!("node{node}: {error}"));
    let mut client = postgres::Client::connect(&cluster.node_conninfo(node)?, postgres::NoTls)
        .map_err(sql_error)?;
    wait_replayed(cluster, node, &mut client)?;
    for (writer, done) in written.iter().enumerate() {
        let writer = writer as u32;
        let coins = done.batches * u64::from(config.batch_coins);
        let mut next = 0;
        while next < coins {
            let end = coins.min(next + CHECK_CHUNK as u64);
            let entries: Vec<SpendEntry> = (next..end).map(|coin| spend(writer, coin)).collect();
            let keys: Vec<Vec<u8>> = entries
                .iter()
                .map(|entry| spent_key(&entry.denomination, &entry.coin).to_vec())
                .collect();
            let rows = client
                .query(
                    "SELECT key, value FROM spent_coins WHERE key = ANY($1)",
                    &[&keys],
                )
                .map_err(sql_error)?;
            let stored: std::collections::HashMap<Vec<u8>, Vec<u8>> = rows
                .into_iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            for (entry, key) in entries.iter().zip(&keys) {
                let own = stored
                    .get(key)
                    .is_some_and(|value| value.starts_with(entry.permission_digest.as_bytes()));
                if !own {
                    report.problems.push(format!(
                        "node{node}: acknowledged coin {next}.. of writer {writer} is {}",
                        if stored.contains_key(key) {
                            "another's"
                        } else {
                            "missing"
                        }
                    ));
                }
                report.records_checked += 1;
            }
            next = end;
        }
        let references: Vec<String> = (0..done.credits)
            .map(|credit| credit_reference(writer, credit))
            .collect();
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM credit_references WHERE key = ANY($1)",
                &[&references.iter().map(|r| r.as_bytes()).collect::<Vec<_>>()],
            )
            .map_err(sql_error)?
            .get(0);
        report.records_checked += done.credits;
        if found != references.len() as i64 {
            report.problems.push(format!(
                "node{node}: writer {writer} has {found} of its {} acknowledged credits",
                references.len()
            ));
        }
    }
    Ok(())
}

/// Waits until node `node` has replayed everything the primary has written so far.
fn wait_replayed(
    cluster: &Cluster,
    node: u8,
    client: &mut postgres::Client,
) -> Result<(), ClusterError> {
    let mut primary = postgres::Client::connect(&cluster.conninfo()?, postgres::NoTls)
        .map_err(|error| ClusterError(format!("primary: {error}")))?;
    let target: String = primary
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .map_err(|error| ClusterError(format!("primary: {error}")))?
        .get(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // On the primary itself, replay_lsn is null: everything is there.
        let caught_up: bool = client
            .query_one(
                "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&target],
            )
            .map_err(|error| ClusterError(format!("node{node}: {error}")))?
            .get(0);
        if caught_up {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ClusterError(format!(
                "node{node} did not replay up to {target}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Coin `coin` of writer `writer`, spent with its one permission.
fn spend(writer: u32, coin: u64) -> SpendEntry {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&writer.to_be_bytes());
    key[4..12].copy_from_slice(&coin.to_be_bytes());
    let mut digest = [0xd1u8; 32];
    digest[..12].copy_from_slice(&key[..12]);
    SpendEntry {
        denomination: DENOMINATION,
        coin: key,
        permission_digest: Digest(digest),
        permission: format!("permission of coin {coin} of writer {writer}").into_bytes(),
        amount: one_euro(),
    }
}

fn account_of(writer: u32) -> AccountId {
    let mut id = [0xa0u8; 16];
    id[..4].copy_from_slice(&writer.to_be_bytes());
    AccountId(id)
}

fn credit_reference(writer: u32, credit: u64) -> String {
    format!("w{writer}-c{credit}")
}

fn eur() -> Currency {
    Currency::new("EUR").unwrap_or_else(|_| unreachable!("EUR is a valid currency code"))
}

fn one_euro() -> Amount {
    "EUR:1.00"
        .parse()
        .unwrap_or_else(|_| unreachable!("EUR:1.00 is a valid amount"))
}
