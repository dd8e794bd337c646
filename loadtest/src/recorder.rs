//! What the load did, as it happened: per operation an HDR histogram of latency, and per second of
//! the run a bucket of counts and latencies, for the report and the plot. Time is passed in, so
//! the bucketing is tested without a clock.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::workload::OpKind;

/// Longest latency told apart, µs; longer ones count as this.
pub const LATENCY_MAX_US: u64 = 120_000_000;
/// Significant digits of the per-operation histograms.
const TOTAL_SIGFIG: u8 = 3;
/// Significant digits of the per-second histograms (they are many, so smaller).
const BUCKET_SIGFIG: u8 = 2;
/// Most one-second buckets kept (two hours); a longer run folds its tail into the last.
pub const BUCKETS_MAX: usize = 2 * 3600;

fn histogram<T: hdrhistogram::Counter>(sigfig: u8) -> Histogram<T> {
    match Histogram::new_with_bounds(1, LATENCY_MAX_US, sigfig) {
        Ok(histogram) => histogram,
        // The bounds are constants that hdrhistogram accepts.
        Err(error) => unreachable!("histogram bounds: {error}"),
    }
}

/// One operation kind's totals.
struct KindTotals {
    latency_us: Histogram<u64>,
    ops: u64,
    coins: u64,
    errors: u64,
}

/// One second of the run.
struct Bucket {
    ops: [u64; OpKind::COUNT],
    coins: u64,
    errors: u64,
    /// Latency of the load's own operations (settlement passes left out); made on first use,
    /// so idle seconds cost nothing.
    latency_us: Option<Histogram<u32>>,
}

impl Bucket {
    fn new() -> Self {
        Self {
            ops: [0; OpKind::COUNT],
            coins: 0,
            errors: 0,
            latency_us: None,
        }
    }
}

/// Records operations: latency, coins moved, errors.
pub struct Recorder {
    kinds: Vec<KindTotals>,
    buckets: Vec<Bucket>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self {
            kinds: (0..OpKind::COUNT)
                .map(|_| KindTotals {
                    latency_us: histogram(TOTAL_SIGFIG),
                    ops: 0,
                    coins: 0,
                    errors: 0,
                })
                .collect(),
            buckets: Vec::new(),
        }
    }

    fn bucket(&mut self, since_start: Duration) -> &mut Bucket {
        let index = usize::try_from(since_start.as_secs())
            .unwrap_or(usize::MAX)
            .min(BUCKETS_MAX - 1);
        while self.buckets.len() <= index {
            self.buckets.push(Bucket::new());
        }
        &mut self.buckets[index]
    }

    /// Records one operation of `kind` that ended `ended` after the start, took `latency` and
    /// moved `coins`.
    pub fn record(&mut self, kind: OpKind, ended: Duration, latency: Duration, coins: u64) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let totals = &mut self.kinds[kind.index()];
        totals.latency_us.saturating_record(us);
        totals.ops += 1;
        totals.coins += coins;
        let bucket = self.bucket(ended);
        bucket.ops[kind.index()] += 1;
        bucket.coins += coins;
        if kind != OpKind::Settle {
            bucket
                .latency_us
                .get_or_insert_with(|| histogram(BUCKET_SIGFIG))
                .saturating_record(us);
        }
    }

    /// Records a failed operation of `kind`, ended `ended` after the start.
    pub fn record_error(&mut self, kind: OpKind, ended: Duration) {
        self.kinds[kind.index()].errors += 1;
        self.bucket(ended).errors += 1;
    }

    /// Operations and coins so far, all kinds but settlement passes, and errors.
    pub fn counts(&self) -> (u64, u64, u64) {
        self.kinds
            .iter()
            .zip(OpKind::ALL)
            .filter(|(_, kind)| *kind != OpKind::Settle)
            .fold((0, 0, 0), |(ops, coins, errors), (totals, _)| {
                (
                    ops + totals.ops,
                    coins + totals.coins,
                    errors + totals.errors,
                )
            })
    }

    /// Per-kind totals over a run of `elapsed`.
    pub fn summaries(&self, elapsed: Duration) -> Vec<OpSummary> {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        OpKind::ALL
            .iter()
            .zip(&self.kinds)
            .map(|(kind, totals)| {
                let h = &totals.latency_us;
                let ms = |q: f64| {
                    if h.is_empty() {
                        0.0
                    } else {
                        h.value_at_quantile(q) as f64 / 1000.0
                    }
                };
                OpSummary {
                    op: kind.name().to_owned(),
                    ops: totals.ops,
                    coins: totals.coins,
                    errors: totals.errors,
                    ops_per_s: totals.ops as f64 / seconds,
                    coins_per_s: totals.coins as f64 / seconds,
                    latency_ms: Percentiles {
                        p50: ms(0.5),
                        p90: ms(0.9),
                        p99: ms(0.99),
                        p999: ms(0.999),
                        max: if h.is_empty() {
                            0.0
                        } else {
                            h.max() as f64 / 1000.0
                        },
                        mean: if h.is_empty() { 0.0 } else { h.mean() / 1000.0 },
                    },
                }
            })
            .collect()
    }

    /// The per-second series.
    pub fn series(&self) -> Vec<SecondSample> {
        self.buckets
            .iter()
            .enumerate()
            .map(|(second, bucket)| {
                let ms = |q: f64| {
                    bucket
                        .latency_us
                        .as_ref()
                        .filter(|h| !h.is_empty())
                        .map(|h| h.value_at_quantile(q) as f64 / 1000.0)
                };
                SecondSample {
                    second: second as u64,
                    ops: OpKind::ALL
                        .iter()
                        .filter(|kind| **kind != OpKind::Settle)
                        .map(|kind| bucket.ops[kind.index()])
                        .sum(),
                    ops_by_kind: OpKind::ALL
                        .iter()
                        .map(|kind| (kind.name().to_owned(), bucket.ops[kind.index()]))
                        .collect(),
                    coins: bucket.coins,
                    errors: bucket.errors,
                    p50_ms: ms(0.5),
                    p99_ms: ms(0.99),
                }
            })
            .collect()
    }
}

/// Latency percentiles, ms.
#[derive(Clone, Debug, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One operation kind over the whole run.
#[derive(Clone, Debug, Serialize)]
pub struct OpSummary {
    /// The operation.
    pub op: String,
    /// Completed.
    pub ops: u64,
    /// Coins they moved.
    pub coins: u64,
    /// Failed (after retries).
    pub errors: u64,
    /// Completed per second of the run.
    pub ops_per_s: f64,
    /// Coins per second of the run.
    pub coins_per_s: f64,
    /// Latency.
    pub latency_ms: Percentiles,
}

/// One second of the run.
#[derive(Clone, Debug, Serialize)]
pub struct SecondSample {
    /// Seconds since the start.
    pub second: u64,
    /// Operations completed in it (settlement passes left out).
    pub ops: u64,
    /// Operations completed, per kind.
    pub ops_by_kind: std::collections::BTreeMap<String, u64>,
    /// Coins moved.
    pub coins: u64,
    /// Operations failed.
    pub errors: u64,
    /// Median latency, ms, when any operation ended in it.
    pub p50_ms: Option<f64>,
    /// 99th-percentile latency, ms.
    pub p99_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let mut recorder = Recorder::new();
        for i in 1..=1000 {
            recorder.record(OpKind::Pay, ms(10), ms(i), 2);
        }
        let summaries = recorder.summaries(Duration::from_secs(10));
        let pay = &summaries[OpKind::Pay.index()];
        assert_eq!(pay.ops, 1000);
        assert_eq!(pay.coins, 2000);
        assert!((pay.ops_per_s - 100.0).abs() < 1e-9);
        assert!((pay.coins_per_s - 200.0).abs() < 1e-9);
        let close = |value: f64, expected: f64| (value - expected).abs() <= expected * 0.01;
        assert!(close(pay.latency_ms.p50, 500.0), "{:?}", pay.latency_ms);
        assert!(close(pay.latency_ms.p90, 900.0), "{:?}", pay.latency_ms);
        assert!(close(pay.latency_ms.p99, 990.0), "{:?}", pay.latency_ms);
        assert!(close(pay.latency_ms.p999, 999.0), "{:?}", pay.latency_ms);
        assert_eq!(summaries[OpKind::Withdraw.index()].ops, 0);
        assert_eq!(summaries[OpKind::Withdraw.index()].latency_ms.p99, 0.0);
    }

    #[test]
    fn operations_fall_into_the_second_they_ended_in() {
        let mut recorder = Recorder::new();
        recorder.record(OpKind::Withdraw, ms(100), ms(5), 8);
        recorder.record(OpKind::Pay, ms(999), ms(7), 2);
        recorder.record(OpKind::Pay, ms(2500), ms(9), 2);
        recorder.record(OpKind::Settle, ms(2600), ms(300), 0);
        recorder.record_error(OpKind::Pay, ms(2700));
        let series = recorder.series();
        assert_eq!(series.len(), 3);
        assert_eq!((series[0].ops, series[0].coins), (2, 10));
        assert_eq!((series[1].ops, series[1].p50_ms), (0, None));
        // The settlement pass is counted by kind but not in the load's ops or latency.
        assert_eq!((series[2].ops, series[2].errors), (1, 1));
        assert!(series[2].p99_ms.unwrap() < 10.0);
        assert_eq!(recorder.counts(), (3, 12, 1));
    }

    #[test]
    fn a_run_longer_than_the_buckets_folds_into_the_last() {
        let mut recorder = Recorder::new();
        recorder.record(
            OpKind::Pay,
            Duration::from_secs(10 * BUCKETS_MAX as u64),
            ms(1),
            1,
        );
        assert_eq!(recorder.series().len(), BUCKETS_MAX);
        recorder.record(OpKind::Pay, ms(1), Duration::from_secs(100_000), 1);
        let max = recorder.summaries(ms(1))[OpKind::Pay.index()]
            .latency_ms
            .max;
        assert!(max >= LATENCY_MAX_US as f64 / 1000.0 * 0.99, "{max}");
    }
}
