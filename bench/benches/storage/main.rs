//! Criterion benchmarks of the issuer's spent set: check-and-insert with durable group commit,
//! against a raw RocksDB synced `WriteBatch` of the same size on the same disk.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use semper_bench::ids;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::ids::{DenominationId, Digest};
use semper_storage::commit::Committer;
use semper_storage::spent::{CheckAndInsert, SpendEntry, SpendOutcome};
use semper_storage::{CommitConfig, Role, Store};

/// Size of a stored deposit permission: a coin with an RSA-2048 signature, signed.
const PERMISSION_BYTES: usize = 460;

/// A directory on the machine's disk, emptied first.
fn bench_dir(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("semper-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    path
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

fn bench_reference(c: &mut Criterion) {
    let path = bench_dir("reference");
    let mut options = rocksdb::Options::default();
    options.create_if_missing(true);
    let db = rocksdb::DB::open(&options, &path).expect("open the reference DB");
    let mut sync = rocksdb::WriteOptions::default();
    sync.set_sync(true);
    let mut group = c.benchmark_group(ids::REFERENCE);
    group.throughput(Throughput::Elements(ids::SPENT_SET_BATCH_COINS as u64));
    group.bench_function(ids::REFERENCE_ROCKSDB_BATCH.function, |b| {
        b.iter(|| {
            let mut batch = rocksdb::WriteBatch::default();
            for entry in fresh_entries(ids::SPENT_SET_BATCH_COINS) {
                let mut key = Vec::with_capacity(64);
                key.extend_from_slice(entry.denomination.as_bytes());
                key.extend_from_slice(&entry.coin);
                let mut value = entry.permission_digest.as_bytes().to_vec();
                value.extend_from_slice(&entry.permission);
                batch.put(key, value);
            }
            db.write_opt(batch, &sync).expect("synced write");
        })
    });
    group.finish();
    drop(db);
    let _ = std::fs::remove_dir_all(&path);
}

fn bench_spent_set(c: &mut Criterion) {
    let path = bench_dir("spent");
    let store = Store::open(&path, Role::Issuer).expect("open the spent-set DB");
    let committer = Committer::start(store, CommitConfig::default());
    let outcomes = committer
        .execute(CheckAndInsert {
            entries: fresh_entries(ids::SPENT_SET_BATCH_COINS),
            batch: None,
        })
        .expect("check-and-insert");
    assert!(
        outcomes.iter().all(|o| *o == SpendOutcome::New),
        "fresh coins must be new"
    );

    let mut group = c.benchmark_group(ids::SPENT_SET);
    group.throughput(Throughput::Elements(ids::SPENT_SET_BATCH_COINS as u64));
    group.bench_function(ids::SPENT_SET_256.function, |b| {
        b.iter(|| {
            let entries = fresh_entries(ids::SPENT_SET_BATCH_COINS);
            black_box(
                committer
                    .execute(CheckAndInsert {
                        entries,
                        batch: None,
                    })
                    .expect("check-and-insert"),
            )
        })
    });
    let submitters = ids::SPENT_SET_SUBMITTERS;
    group.throughput(Throughput::Elements(
        (ids::SPENT_SET_BATCH_COINS * submitters) as u64,
    ));
    group.bench_function(ids::SPENT_SET_256_X4.function, |b| {
        b.iter(|| {
            let (sender, receiver) = std::sync::mpsc::channel();
            for _ in 0..submitters {
                let sender = sender.clone();
                let entries = fresh_entries(ids::SPENT_SET_BATCH_COINS);
                committer
                    .submit(
                        CheckAndInsert {
                            entries,
                            batch: None,
                        },
                        move |result| {
                            let _ = sender.send(result.map(|outcomes| outcomes.len()));
                        },
                    )
                    .expect("queue has room");
            }
            for _ in 0..submitters {
                receiver.recv().expect("reply").expect("check-and-insert");
            }
        })
    });
    group.finish();
    drop(committer);
    let _ = std::fs::remove_dir_all(&path);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(30)
}

criterion_group! {
    name = storage;
    config = config();
    targets = bench_reference, bench_spent_set
}
criterion_main!(storage);
