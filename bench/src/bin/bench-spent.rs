//! `bench-spent`: the issuer's spent set against raw RocksDB, in one run.
//!
//! - Measure: check-and-insert of 256 coins never seen before, through the committer with durable
//!   group commit (one request at a time, then four submitters sharing fsyncs).
//! - Reference: a raw RocksDB `WriteBatch` of 256 puts of the same size (64-byte key, the stored
//!   digest and permission as value), written with sync, in its own DB with default options.
//!
//! The three run in rounds, in an order that rotates each round: on a 2-core VM, RocksDB's
//! background flushes of one DB slow whatever runs next, and the load drifts within seconds, so a
//! fixed order would favour one side. Every outcome is checked: each coin must come back new.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::ids::{DenominationId, Digest};
use semper_storage::commit::Committer;
use semper_storage::spent::{CheckAndInsert, SpendEntry, SpendOutcome};
use semper_storage::{CommitConfig, Role, Store};

/// Coins in each check-and-insert batch, and in each reference `WriteBatch`.
const BATCH_COINS: usize = 256;
/// Size of a stored deposit permission: a coin with an RSA-2048 signature, signed.
const PERMISSION_BYTES: usize = 460;
/// Submitters in the concurrent measure: their batches share fsyncs through group commit.
const SUBMITTERS: usize = 4;
/// Rounds; each runs every measure once.
const ROUNDS: usize = 12;
/// Batches per measure per round (per submitter, in the concurrent one).
const ROUND_BATCHES: usize = 60;

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("semper-bench-spent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = run(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What is timed: the reference, and the two measures.
#[derive(Clone, Copy)]
enum Measure {
    Reference,
    OneAtATime,
    Submitters,
}

const MEASURES: [Measure; 3] = [Measure::Reference, Measure::OneAtATime, Measure::Submitters];

fn run(dir: &Path) -> anyhow::Result<()> {
    let mut options = rocksdb::Options::default();
    options.create_if_missing(true);
    let reference = rocksdb::DB::open(&options, dir.join("reference")).context("reference DB")?;
    let store = Store::open(&dir.join("spent"), Role::Issuer).context("spent-set DB")?;
    let committer = Committer::start(store, CommitConfig::default());

    let mut elapsed = [Duration::ZERO; 3];
    let mut coins = [0usize; 3];
    for round in 0..ROUNDS {
        for step in 0..MEASURES.len() {
            let which = (round + step) % MEASURES.len();
            let started = Instant::now();
            coins[which] += match MEASURES[which] {
                Measure::Reference => reference_batches(&reference)?,
                Measure::OneAtATime => one_at_a_time(&committer)?,
                Measure::Submitters => submitters(&committer)?,
            };
            elapsed[which] += started.elapsed();
        }
    }
    let rate = |i: usize| coins[i] as f64 / elapsed[i].as_secs_f64();
    println!("spent set, {BATCH_COINS}-coin batches, {ROUNDS} rounds in rotating order:");
    println!("| measure | coins/s |");
    println!("| --- | --- |");
    println!("| reference: RocksDB synced WriteBatch | {:.0} |", rate(0));
    println!("| check-and-insert, one at a time | {:.0} |", rate(1));
    println!(
        "| check-and-insert, {SUBMITTERS} submitters | {:.0} |",
        rate(2)
    );
    println!();
    println!("| ratio | value | target |");
    println!("| --- | --- | --- |");
    // The target is for durable group commit, which shares fsyncs between concurrent
    // requests (acquirers' batches arrive concurrently). A lone request has no one to share its
    // fsync with and pays the handoff to the committer thread on top; it is shown for scale.
    println!(
        "| group commit ({SUBMITTERS} submitters) / RocksDB synced batch | {:.2} | >= 0.80 |",
        rate(2) / rate(0)
    );
    println!(
        "| one request at a time / RocksDB synced batch | {:.2} | - |",
        rate(1) / rate(0)
    );
    Ok(())
}

/// `count` coins never spent before: each call continues from the last.
fn fresh_entries(count: usize) -> Vec<SpendEntry> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let first = NEXT.fetch_add(count as u64, Ordering::Relaxed);
    let eur = Currency::new("EUR").expect("EUR is a known currency");
    (first..first + count as u64)
        .map(|n| {
            let mut coin = [0u8; 32];
            coin[..8].copy_from_slice(&n.to_be_bytes());
            // Spread keys like real coin keys do, rather than appending in order.
            coin[8..16].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
            SpendEntry {
                denomination: DenominationId([7; 32]),
                coin,
                permission_digest: Digest(coin),
                permission: vec![0xa5; PERMISSION_BYTES],
                amount: Amount::from_minor_units(eur, 100),
            }
        })
        .collect()
}

fn reference_batches(db: &rocksdb::DB) -> anyhow::Result<usize> {
    let mut sync = rocksdb::WriteOptions::default();
    sync.set_sync(true);
    for _ in 0..ROUND_BATCHES {
        let mut batch = rocksdb::WriteBatch::default();
        for entry in fresh_entries(BATCH_COINS) {
            let mut key = Vec::with_capacity(64);
            key.extend_from_slice(entry.denomination.as_bytes());
            key.extend_from_slice(&entry.coin);
            let mut value = entry.permission_digest.as_bytes().to_vec();
            value.extend_from_slice(&entry.permission);
            batch.put(key, value);
        }
        db.write_opt(batch, &sync).context("synced write")?;
    }
    Ok(ROUND_BATCHES * BATCH_COINS)
}

fn one_at_a_time(committer: &Committer) -> anyhow::Result<usize> {
    for _ in 0..ROUND_BATCHES {
        let outcomes = committer.execute(CheckAndInsert {
            entries: fresh_entries(BATCH_COINS),
        })?;
        check_all_new(&outcomes)?;
    }
    Ok(ROUND_BATCHES * BATCH_COINS)
}

fn submitters(committer: &Committer) -> anyhow::Result<usize> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut outstanding = 0;
    for _ in 0..ROUND_BATCHES {
        for _ in 0..SUBMITTERS {
            let sender = sender.clone();
            let entries = fresh_entries(BATCH_COINS);
            committer.submit(CheckAndInsert { entries }, move |result| {
                let _ = sender.send(result);
            })?;
            outstanding += 1;
        }
        // Keep one round of submitters in flight at a time, as four clients would.
        while outstanding > 0 {
            check_all_new(&receiver.recv().context("committer reply")??)?;
            outstanding -= 1;
        }
    }
    Ok(ROUND_BATCHES * SUBMITTERS * BATCH_COINS)
}

fn check_all_new(outcomes: &[SpendOutcome]) -> anyhow::Result<()> {
    if outcomes.len() != BATCH_COINS || outcomes.iter().any(|o| *o != SpendOutcome::New) {
        bail!("a batch of fresh coins did not come back all new");
    }
    Ok(())
}
