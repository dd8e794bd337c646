//! The server's memory while a phase runs; `bench-load --rss-minutes M`: over a long run at
//! half load.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::ensure;
use semper_loadtest::process::{Memory, ServerProcess, memory_of};
use semper_loadtest::target::Targets;
use semper_loadtest::{LoadConfig, Mode};

use semper_bench::usage::sampled;
use semper_storage::metrics::MEMORY_BYTES;

use crate::phase;

/// How long the memory run goes on, and at what rate.
pub struct MemoryRun {
    /// Its length.
    pub minutes: f64,
    /// Operations a second; `None`: half the default mix's closed-loop rate, measured first.
    pub rate_per_s: Option<f64>,
}

/// The default mix in open loop at half its closed-loop rate (or as `run` says) for its minutes,
/// the server's memory sampled every 5 s: flat means within ±10 % of the mean after the first
/// minute.
pub fn memory_run(server: &ServerProcess, target: &Targets, run: &MemoryRun) -> anyhow::Result<()> {
    let minutes = run.minutes;
    let rate = match run.rate_per_s {
        Some(rate) => rate,
        None => {
            let mut probe = LoadConfig::new(target.clone());
            probe.duration = Some(Duration::from_secs(20));
            let probe = phase("default mix, closed loop (for its rate)", probe)?;
            probe.total.ops_per_s / 2.0
        }
    };
    let mut config = LoadConfig::new(target.clone());
    config.mode = Mode::Open {
        rate_per_s: rate,
        workers: 64,
    };
    config.duration = Some(Duration::from_secs_f64(minutes * 60.0));
    let pid = server.pid();
    let api = Mutex::new(target.clearing.api());
    let sample = || {
        let metrics = api
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .metrics()
            .unwrap_or_default();
        (memory_of(pid), rocksdb_memory(&metrics))
    };
    let (report, samples) = sampled(Duration::from_secs(5), sample, || {
        phase(
            &format!("default mix, open loop at {rate:.1} ops/s for {minutes} min (memory)"),
            config,
        )
    });
    let report = report?;
    let started = samples.first().map(|(at, _)| *at);
    let samples: Vec<(f64, (Memory, RocksDbMemory))> = samples
        .into_iter()
        .map(|(at, memory)| {
            let since = started.map_or(0.0, |started| (at - started).as_secs_f64());
            (since, memory)
        })
        .collect();
    let settled: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= 60.0)
        .map(|(_, (m, _))| m.rss_kib)
        .collect();
    ensure!(
        !settled.is_empty(),
        "no memory sample after the first minute"
    );
    let mean = settled.iter().sum::<u64>() as f64 / settled.len() as f64;
    let (low, high) = (
        *settled.iter().min().unwrap_or(&0) as f64,
        *settled.iter().max().unwrap_or(&0) as f64,
    );
    println!(
        "memory over {minutes} min at {:.1} ops/s ({:.0} coins/s): RSS after the first minute mean {:.1} MiB, min {:.1} ({:+.1} %), max {:.1} ({:+.1} %); peak {:.1} MiB; {} samples",
        report.total.ops_per_s,
        report.total.coins_per_s,
        mean / 1024.0,
        low / 1024.0,
        100.0 * (low - mean) / mean,
        high / 1024.0,
        100.0 * (high - mean) / mean,
        server.memory().peak_kib as f64 / 1024.0,
        samples.len()
    );
    for (t, (m, rocksdb)) in samples.iter().step_by(12) {
        println!(
            "  t = {t:>6.0} s: RSS {:>7.1} MiB; RocksDB, all DBs: memtables {:>5.1}, block caches \
             {:>5.1}, table readers {:>5.1} MiB",
            m.rss_kib as f64 / 1024.0,
            rocksdb.memtables / MIB,
            rocksdb.block_cache / MIB,
            rocksdb.table_readers / MIB,
        );
    }
    Ok(())
}

const MIB: f64 = 1024.0 * 1024.0;

/// What RocksDB holds in memory, in bytes, summed over the node's DBs.
#[derive(Clone, Copy, Debug, Default)]
struct RocksDbMemory {
    memtables: f64,
    block_cache: f64,
    table_readers: f64,
}

/// RocksDB's memory from the node's `/metrics` text (`semper_storage_memory_bytes`).
fn rocksdb_memory(metrics: &str) -> RocksDbMemory {
    let mut memory = RocksDbMemory::default();
    for line in metrics.lines().filter(|l| l.starts_with(MEMORY_BYTES)) {
        let Some(bytes) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        if line.contains("kind=\"memtables\"") {
            memory.memtables += bytes;
        } else if line.contains("kind=\"block_cache\"") {
            memory.block_cache += bytes;
        } else if line.contains("kind=\"table_readers\"") {
            memory.table_readers += bytes;
        }
    }
    memory
}
