//! The live progress line: one stderr line, rewritten in place with `\r` every second, with the
//! current rates (over the last second) and the totals so far.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the line is rewritten.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Totals at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Since the start.
    pub elapsed: Duration,
    /// Operations completed.
    pub ops: u64,
    /// Coins moved.
    pub coins: u64,
    /// Operations failed.
    pub errors: u64,
    /// Requests retried.
    pub retries: u64,
}

/// The progress line going from `before` to `now`, in a run planned for `planned`.
pub fn line(before: &Snapshot, now: &Snapshot, planned: Option<Duration>) -> String {
    let window = now
        .elapsed
        .saturating_sub(before.elapsed)
        .as_secs_f64()
        .max(1e-3);
    let rate = |a: u64, b: u64| b.saturating_sub(a) as f64 / window;
    let planned = planned
        .map(|p| format!("/{:.0}s", p.as_secs_f64()))
        .unwrap_or_default();
    format!(
        "[{:>6.1}s{planned}] {} ops, {:.1} ops/s, {:.1} coins/s now; {} errors, {} retries",
        now.elapsed.as_secs_f64(),
        now.ops,
        rate(before.ops, now.ops),
        rate(before.coins, now.coins),
        now.errors,
        now.retries
    )
}

/// Rewrites the line every [`PROGRESS_INTERVAL`] until `done`, then ends it with a newline.
pub fn show(done: &AtomicBool, planned: Option<Duration>, sample: impl Fn() -> Snapshot) {
    let mut before = sample();
    let mut stderr = std::io::stderr();
    while !done.load(Ordering::Relaxed) {
        let mut waited = Duration::ZERO;
        while waited < PROGRESS_INTERVAL && !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            waited += Duration::from_millis(100);
        }
        let now = sample();
        let _ = write!(stderr, "\r{}\x1b[K", line(&before, &now, planned));
        let _ = stderr.flush();
        before = now;
    }
    let _ = writeln!(stderr);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_rates_over_the_last_window_and_totals() {
        let before = Snapshot {
            elapsed: Duration::from_secs(4),
            ops: 100,
            coins: 400,
            errors: 0,
            retries: 1,
        };
        let now = Snapshot {
            elapsed: Duration::from_secs(6),
            ops: 300,
            coins: 1200,
            errors: 2,
            retries: 5,
        };
        let text = line(&before, &now, Some(Duration::from_secs(20)));
        assert_eq!(
            text,
            "[   6.0s/20s] 300 ops, 100.0 ops/s, 400.0 coins/s now; 2 errors, 5 retries"
        );
    }
}
