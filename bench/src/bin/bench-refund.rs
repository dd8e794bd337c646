//! `bench-refund`: merchants' refunds end to end over HTTP against deposits of the same coins,
//! in one run (`make bench-refund`; see BENCHMARKS.md).
//!
//! It starts `semper run` (the release binary beside this one: the embedded default, durable
//! writes) on free loopback ports with a fresh `data/`, then runs
//! `semper_loadtest::refund_rate::measure`: each worker's wallet withdraws its coins and its
//! merchant signs a deposit of each (one coin a request) before the clock starts; the deposits
//! are sent, timed (the reference); the merchants sign the refund of each coin; the refunds are
//! sent, timed. Every answer and every merchant's final balance are checked. It prints both
//! rates and their ratio.
//!
//! ```sh
//! bench-refund [--workers 8] [--coins 500] [--rounds 2]
//! ```

use std::path::Path;

use anyhow::{Context, bail, ensure};
use semper_loadtest::process::{ServerProcess, embedded_overrides};
use semper_loadtest::refund_rate::{PhaseRate, RefundRateConfig, measure};
use semper_loadtest::target::{Endpoint, Targets};

const TOKEN: &str = "bench-refund-operator-token";
/// Attempts a patient client makes before it gives up (it should never need them all).
const PATIENT_ATTEMPTS: u32 = 10_000;

/// The knobs, with their defaults.
struct Args {
    workers: usize,
    coins: usize,
    rounds: usize,
}

fn parse(mut words: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut args = Args {
        workers: 8,
        coins: 500,
        rounds: 2,
    };
    while let Some(word) = words.next() {
        let slot = match word.as_str() {
            "--workers" => &mut args.workers,
            "--coins" => &mut args.coins,
            "--rounds" => &mut args.rounds,
            other => bail!(
                "unknown argument {other}: bench-refund [--workers N] [--coins N] [--rounds N]"
            ),
        };
        let value = words
            .next()
            .with_context(|| format!("{word} needs a number"))?;
        *slot = value
            .parse()
            .with_context(|| format!("{word} {value}: not a number"))?;
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse(std::env::args().skip(1))?;
    let semper = std::env::current_exe()?.with_file_name("semper");
    ensure!(
        semper.exists(),
        "{} is missing: build it with `cargo build --release -p semper-server --bin semper`",
        semper.display()
    );
    let dir = std::env::temp_dir().join(format!("semper-bench-refund-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = bench(&semper, &dir, &args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(semper: &Path, dir: &Path, args: &Args) -> anyhow::Result<()> {
    let server = ServerProcess::start(semper, &[], &embedded_overrides(dir, TOKEN), dir)?;
    println!("semper run: pid {}, {}", server.pid(), server.http);
    let config = RefundRateConfig {
        targets: Targets::single(Endpoint::new(server.http, Some(TOKEN.into()))),
        workers: args.workers,
        coins_per_worker: args.coins,
        rounds: args.rounds,
        retry_attempts_max: PATIENT_ATTEMPTS,
    };
    println!(
        "{} workers, {} coins each a round, {} rounds: every coin deposited alone, then refunded alone",
        args.workers, args.coins, args.rounds
    );
    let measured = measure(&config);
    let stopped = server.terminate();
    let rate = measured?;
    stopped?;
    println!("\n| measure | requests (one coin each) | seconds | coins/s | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let row = |name: &str, phase: &PhaseRate| {
        println!(
            "| {name} | {} | {:.2} | {:.0} | {:.2} | {:.2} |",
            phase.requests, phase.seconds, phase.per_s, phase.p50_ms, phase.p99_ms
        )
    };
    row("reference: deposits, end to end over HTTP", &rate.deposits);
    row(
        "refunds of the same coins, end to end over HTTP",
        &rate.refunds,
    );
    println!("\nrefunds / deposits of the same coins: {:.2}", rate.ratio);
    Ok(())
}
