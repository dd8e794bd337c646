//! The server's memory while a phase runs; `bench-load --rss-minutes M`: over a long run at
//! half load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::ensure;
use semper_loadtest::process::{Memory, ServerProcess, memory_of};
use semper_loadtest::target::Targets;
use semper_loadtest::{LoadConfig, Mode};

use crate::phase;

/// Runs `work` while taking `sample` every `every`; the samples come with when each was taken.
pub fn sampled<T: Send, S: Send>(
    every: Duration,
    sample: impl Fn() -> S + Sync,
    work: impl FnOnce() -> T + Send,
) -> (T, Vec<(Instant, S)>) {
    let samples = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let taken = (Instant::now(), sample());
                samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(taken);
                let next = Instant::now() + every;
                while !done.load(Ordering::Relaxed) && Instant::now() < next {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        result
    });
    (
        result,
        samples.into_inner().unwrap_or_else(|e| e.into_inner()),
    )
}

/// The default mix in open loop at half its closed-loop rate for `minutes`, the server's memory
/// sampled every 5 s: flat means within ±10 % of the mean after the first minute.
pub fn memory_run(server: &ServerProcess, target: &Targets, minutes: f64) -> anyhow::Result<()> {
    let mut probe = LoadConfig::new(target.clone());
    probe.duration = Some(Duration::from_secs(20));
    let probe = phase("default mix, closed loop (for its rate)", probe)?;
    let rate = probe.total.ops_per_s / 2.0;
    let mut config = LoadConfig::new(target.clone());
    config.mode = Mode::Open {
        rate_per_s: rate,
        workers: 64,
    };
    config.duration = Some(Duration::from_secs_f64(minutes * 60.0));
    let pid = server.pid();
    let (report, samples) = sampled(
        Duration::from_secs(5),
        || memory_of(pid),
        || {
            phase(
                &format!("default mix, open loop at {rate:.1} ops/s for {minutes} min (memory)"),
                config,
            )
        },
    );
    let report = report?;
    let started = samples.first().map(|(at, _)| *at);
    let samples: Vec<(f64, Memory)> = samples
        .into_iter()
        .map(|(at, memory)| {
            let since = started.map_or(0.0, |started| (at - started).as_secs_f64());
            (since, memory)
        })
        .collect();
    let settled: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= 60.0)
        .map(|(_, m)| m.rss_kib)
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
    for (t, m) in samples.iter().step_by(12) {
        println!(
            "  t = {t:>6.0} s: RSS {:>7.1} MiB",
            m.rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}
