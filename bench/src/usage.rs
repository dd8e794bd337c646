//! What a process uses while a benchmark runs: its CPU time, sampled beside the work (`bench-load`,
//! `bench-ha`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// CPU time (user and system) of process `pid` (or "self") so far, in seconds; 0 if unreadable.
pub fn cpu_seconds(pid: &str) -> f64 {
    // Linux reports these fields in USER_HZ ticks, 100 a second on every architecture it runs.
    const TICKS_PER_S: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: the fields start after its closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the name: state is field 0, utime field 11, stime field 12.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / TICKS_PER_S
}
