//! `bench-load --overload`: withdrawals offered at ten times the rate the server sustains, and
//! what it does about it.
//!
//! A withdrawal is the server's dearest request per coin (an RSA-2048 signature each) and the
//! cheapest for the tester once blinded beforehand, so it is the load that can be offered at ten
//! times the sustainable rate from the same two cores. Three phases, back to back:
//! 1. withdrawals in open loop at half the sustainable rate (the calm before);
//! 2. the flood: an open loop scheduled at [`FLOOD_FACTOR`] times the sustainable rate, by
//!    [`FLOOD_CLIENT_MARGIN`] times as many clients as it takes to send that many attempts a
//!    second while each waits the server's `Retry-After` after a 503. The clients are patient: a
//!    request is retried until it is answered, so every operation ends answered and
//!    semper-load's invariants (every acknowledged withdrawal debited, every coin's signature
//!    checked) still decide. Each sends only the [`FLOOD_STOCK`] withdrawals it blinded before
//!    the clock, so that the tester's cryptography does not take the server's cores;
//! 3. the same calm again, at once: recovery means it sees no 503 and the latency of the calm
//!    before.
//!
//! Reported: the flood's attempts (over the phase, in its steady seconds, and in its second of
//! fewest), busy answers (each must carry `Retry-After`) and served rate against the sustainable
//! rate, the cores the server and the tester used and the server's coins per core-second against
//! the closed loop's, the server's RSS before and its peak during the flood, and the two calm
//! phases' latency and busy answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use semper_loadtest::process::{Memory, ServerProcess, memory_of};
use semper_loadtest::target::Targets;
use semper_loadtest::workload::{NO_RETRY_AFTER, Stock};
use semper_loadtest::{LoadConfig, LoadPhase, LoadReport, Mode, WORKERS_MAX};

use crate::{COINS_PER_REQUEST, WITHDRAWALS_ONLY, base_config, phase, rate_of};
use semper_bench::usage::{cpu_seconds, sampled};

/// The flood's scheduled rate, as a multiple of the sustainable rate.
pub const FLOOD_FACTOR: f64 = 10.0;
/// Withdrawal requests each flood client blinds beforehand, and sends before it stops: the
/// flood runs no wallet cryptography on the tester's clock.
const FLOOD_STOCK: usize = 3;
/// Clients beyond those that make the flood's attempts at once, to stand in for those that
/// spend their stock and stop (the clients let in keep getting in, so some do, early).
const FLOOD_CLIENT_MARGIN: f64 = 1.4;
/// How long the flood's schedule runs (its clients then finish what they started).
const FLOOD_TIME: Duration = Duration::from_secs(20);
/// The seconds of the flood read as its steady state: after the clients have all started, before
/// the schedule ends.
const STEADY: std::ops::Range<u64> = 5..20;
/// How long each calm phase runs, and its most requests in flight.
const CALM_TIME: Duration = Duration::from_secs(10);
const CALM_IN_FLIGHT: usize = 32;
/// The server's `Retry-After` in the embedded default, in seconds: how often a refused client
/// tries again.
const RETRY_AFTER_S: f64 = 1.0;
/// The busy code of the server's bounds.
const SERVER_BUSY: &str = "server.busy";

/// The cores (of the machine's two) the server and the tester used over some seconds.
#[derive(Clone, Copy, Debug)]
pub struct Cores {
    pub server: f64,
    pub tester: f64,
}

impl Cores {
    /// `coins_per_s` served on these cores, per server core-second.
    fn per_server_core(&self, coins_per_s: f64) -> f64 {
        coins_per_s / self.server.max(f64::MIN_POSITIVE)
    }
}

/// A phase run while sampling the server's memory and both processes' CPU.
struct SampledPhase {
    report: LoadReport,
    samples: Vec<(Instant, Usage)>,
    /// When the timed phase started.
    started: Instant,
}

/// Runs `config` (a timed phase is set on it) while sampling the server's memory and both
/// processes' CPU.
fn phase_with_usage(
    name: &str,
    server: &ServerProcess,
    mut config: LoadConfig,
) -> anyhow::Result<SampledPhase> {
    let duration = config
        .duration
        .context("a sampled phase needs a duration")?;
    let timed = Arc::new(LoadPhase::default());
    config.phase = Some(timed.clone());
    let pid = server.pid();
    let usage = || Usage {
        memory: memory_of(pid),
        server_cpu_s: cpu_seconds(&pid.to_string()),
        tester_cpu_s: cpu_seconds("self"),
        retries: timed.retries(),
    };
    let (report, samples) = sampled(Duration::from_millis(250), usage, || phase(name, config));
    let started = timed
        .ends()
        .map(|ends| ends - duration)
        .context("the phase never started its clock")?;
    Ok(SampledPhase {
        report: report?,
        samples,
        started,
    })
}

/// Runs the closed-loop withdrawal phase `config` against `server`: the sustainable rate, and
/// the cores the server and the tester used while its clock ran.
pub fn sustainable_withdrawals(
    server: &ServerProcess,
    config: LoadConfig,
) -> anyhow::Result<(LoadReport, Cores)> {
    let SampledPhase {
        report,
        samples,
        started,
    } = phase_with_usage("withdraw, closed loop", server, config)?;
    let clock = Duration::from_secs_f64(report.elapsed_s);
    let cores = cores_between(&samples, started, started + clock)
        .context("no CPU samples over the closed loop")?;
    println!(
        "  CPU while its clock ran (of 2 cores): the server {:.2} cores, the tester {:.2}",
        cores.server, cores.tester
    );
    Ok((report, cores))
}

/// Runs the three phases against `server`, whose closed-loop withdrawal rate is
/// `sustainable_coins_per_s` with the server on `sustainable_cores`, and prints what they show.
pub fn overload_run(
    server: &ServerProcess,
    target: &Targets,
    sustainable_coins_per_s: f64,
    sustainable_cores: Cores,
) -> anyhow::Result<()> {
    let sustainable_ops = sustainable_coins_per_s / COINS_PER_REQUEST as f64;
    let calm = |when: &str| {
        phase(
            &format!("withdraw, open loop at half the sustainable rate ({when} the flood)"),
            withdrawals(
                target,
                sustainable_ops / 2.0,
                CALM_IN_FLIGHT,
                CALM_TIME,
                None,
            ),
        )
    };
    let calm_before = calm("before")?;
    let flood_ops = FLOOD_FACTOR * sustainable_ops;
    // A refused client waits Retry-After before its next attempt: offering `flood_ops` attempts
    // a second while refused takes that many clients per second of Retry-After, and more as
    // clients spend their stock and stop.
    let clients = ((flood_ops * RETRY_AFTER_S * FLOOD_CLIENT_MARGIN).ceil() as usize)
        .clamp(CALM_IN_FLIGHT, WORKERS_MAX);
    let before = server.memory();
    let config = withdrawals(target, flood_ops, clients, FLOOD_TIME, Some(FLOOD_STOCK));
    let SampledPhase {
        report: flood,
        samples,
        started,
    } = phase_with_usage(
        &format!(
            "withdraw flood, open loop scheduled at {flood_ops:.0} requests/s \
             ({FLOOD_FACTOR}× the sustainable rate) by {clients} patient clients"
        ),
        server,
        config,
    )?;
    let (steady_from, steady_to) = (
        started + Duration::from_secs(STEADY.start),
        started + Duration::from_secs(STEADY.end),
    );
    let steady_cpu = cores_between(&samples, steady_from, steady_to)
        .context("no CPU samples over the flood's steady state")?;
    let steady_retries = retries_between(&samples, steady_from, steady_to)
        .context("no samples over the flood's steady state")?;
    let calm_after = calm("after")?;

    for report in [&calm_before, &flood, &calm_after] {
        let unhinted: Vec<_> = report
            .retries_by_code
            .keys()
            .filter(|code| code.ends_with(NO_RETRY_AFTER))
            .collect();
        ensure!(
            unhinted.is_empty(),
            "503s without Retry-After: {unhinted:?}"
        );
    }
    let busy = |report: &LoadReport| {
        report
            .retries_by_code
            .get(SERVER_BUSY)
            .copied()
            .unwrap_or(0)
    };
    let served = rate_of(&flood, "withdraw")?;
    let steady_seconds: Vec<_> = flood
        .series
        .iter()
        .filter(|sample| STEADY.contains(&sample.second))
        .collect();
    let per_steady_second = |total: u64| total as f64 / (STEADY.end - STEADY.start) as f64;
    let steady = per_steady_second(steady_seconds.iter().map(|s| s.coins).sum());
    let steady_attempts =
        per_steady_second(steady_seconds.iter().map(|s| s.ops).sum()) + steady_retries;
    // The second of fewest attempts: its operations ended, and its retries (sampled every
    // 250 ms).
    let fewest_attempts = steady_seconds
        .iter()
        .filter_map(|s| {
            let from = started + Duration::from_secs(s.second);
            let retries = retries_between(&samples, from, from + Duration::from_secs(1))?;
            Some(s.ops as f64 + retries)
        })
        .fold(f64::INFINITY, f64::min);
    let attempts = flood.total.ops + flood.retries;
    let peak_rss_kib = samples
        .iter()
        .map(|(_, usage)| usage.memory.rss_kib)
        .max()
        .unwrap_or(0);
    let latency = |report: &LoadReport| -> anyhow::Result<String> {
        let op = report
            .operations
            .iter()
            .find(|op| op.op == "withdraw")
            .context("no withdrawals in a calm phase")?;
        Ok(format!(
            "p50 {:.1} ms, p99 {:.1} ms, {} busy answers",
            op.latency_ms.p50,
            op.latency_ms.p99,
            busy(report)
        ))
    };
    println!();
    println!("overload (issue 8): withdrawals of {COINS_PER_REQUEST} coins, embedded default");
    println!(
        "  sustainable (closed loop): {sustainable_coins_per_s:.0} coins/s = {sustainable_ops:.1} requests/s"
    );
    println!(
        "  flood: scheduled {:.0} operations, started {} (the rest never offered: the clients were \
         all waiting)",
        flood_ops * FLOOD_TIME.as_secs_f64(),
        flood.total.ops + flood.total.errors
    );
    println!(
        "  flood: {attempts} attempts in {:.1} s = {:.0}/s ({:.1}× the sustainable request rate); \
         {} answered 503 {SERVER_BUSY} with Retry-After ({:.0} %), none without",
        flood.elapsed_s,
        attempts as f64 / flood.elapsed_s,
        attempts as f64 / flood.elapsed_s / sustainable_ops,
        busy(&flood),
        100.0 * busy(&flood) as f64 / attempts.max(1) as f64,
    );
    println!(
        "  flood, seconds {}–{}: {steady_attempts:.0} attempts/s = {:.1}× the sustainable request \
         rate; its second of fewest: {fewest_attempts:.0} = {:.1}×",
        STEADY.start,
        STEADY.end,
        steady_attempts / sustainable_ops,
        fewest_attempts / sustainable_ops
    );
    println!(
        "  served during the flood: {served:.0} coins/s = {:.2} of the sustainable rate over the \
         whole phase; {steady:.0} coins/s = {:.2} in its seconds {}–{} (the schedule running, \
         every client in); operations failed: {}",
        served / sustainable_coins_per_s,
        steady / sustainable_coins_per_s,
        STEADY.start,
        STEADY.end,
        flood.failures.values().sum::<u64>()
    );
    let per_core = steady_cpu.per_server_core(steady);
    let per_core_closed = sustainable_cores.per_server_core(sustainable_coins_per_s);
    println!(
        "  CPU in those seconds (of 2 cores): the server {:.2} cores, the tester {:.2} (its \
         clients on the same machine); coins served per server core-second {per_core:.0}, \
         against {per_core_closed:.0} in the closed loop (server {:.2} cores, tester {:.2}): \
         {:.2} of it",
        steady_cpu.server,
        steady_cpu.tester,
        sustainable_cores.server,
        sustainable_cores.tester,
        per_core / per_core_closed,
    );
    println!(
        "  server RSS: {:.1} MiB before the flood, peak {:.1} MiB during it ({} samples)",
        before.rss_kib as f64 / 1024.0,
        peak_rss_kib as f64 / 1024.0,
        samples.len()
    );
    println!("  calm before: {}", latency(&calm_before)?);
    println!("  calm after:  {}", latency(&calm_after)?);
    Ok(())
}

/// Withdrawals only, in open loop at `rate_per_s` requests a second by at most `clients`, for
/// `time`; every request blinded beforehand. With `only` requests a wallet, a client that has
/// sent them all stops; without, each wallet has enough for the schedule with room to spare,
/// and one that runs out blinds its own.
fn withdrawals(
    target: &Targets,
    rate_per_s: f64,
    clients: usize,
    time: Duration,
    only: Option<usize>,
) -> LoadConfig {
    // Operations are spread over the clients' wallets unevenly: half again as many as the
    // schedule's, and at least two each.
    let spread = (rate_per_s * time.as_secs_f64() * 1.5 / clients as f64).ceil() as usize;
    let stock = Stock {
        payments: 0,
        withdrawals: only.unwrap_or(spread.max(2)),
        only: only.is_some(),
    };
    let mut config = base_config(target, clients, WITHDRAWALS_ONLY, stock);
    config.mode = Mode::Open {
        rate_per_s,
        workers: clients,
    };
    config.duration = Some(time);
    config.operations = None;
    config
}

/// What is sampled during the flood.
struct Usage {
    memory: Memory,
    server_cpu_s: f64,
    tester_cpu_s: f64,
    /// The phase's retries so far.
    retries: u64,
}

/// The first and last samples inside `from..to`, and the seconds between them (more than 0).
fn window(
    samples: &[(Instant, Usage)],
    from: Instant,
    to: Instant,
) -> Option<(&Usage, &Usage, f64)> {
    let first = samples.iter().find(|(at, _)| *at >= from)?;
    let last = samples.iter().rev().find(|(at, _)| *at <= to)?;
    let seconds = (last.0 - first.0).as_secs_f64();
    (seconds > 0.0).then_some((&first.1, &last.1, seconds))
}

/// The cores the server and the tester used between the samples nearest inside `from..to`.
fn cores_between(samples: &[(Instant, Usage)], from: Instant, to: Instant) -> Option<Cores> {
    let (first, last, seconds) = window(samples, from, to)?;
    Some(Cores {
        server: (last.server_cpu_s - first.server_cpu_s) / seconds,
        tester: (last.tester_cpu_s - first.tester_cpu_s) / seconds,
    })
}

/// Retries a second between the samples nearest inside `from..to`.
fn retries_between(samples: &[(Instant, Usage)], from: Instant, to: Instant) -> Option<f64> {
    let (first, last, seconds) = window(samples, from, to)?;
    Some(last.retries.saturating_sub(first.retries) as f64 / seconds)
}
