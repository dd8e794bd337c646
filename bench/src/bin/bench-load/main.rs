//! `bench-load`: issue 7's targets on the embedded default, each against its reference in the
//! same run.
//!
//! It starts `semper run` (the release binary beside this one) on free loopback ports with a
//! fresh `data/`, then, on the same two cores:
//! 1. the references: `BatchVerifier` on 2 threads (per coin) and raw OpenSSL RSA-2048 signing on
//!    2 threads;
//! 2. withdrawals at full speed: closed loop, every request blinded before the clock starts and
//!    unblinded and checked after it stops (`semper-load --stock-withdrawals`);
//! 3. deposits at full speed: closed loop, every payment's coins withdrawn and signed before the
//!    clock starts (`semper-load --stock-payments`), each deposit a real HTTP request verified by
//!    the acquirer and spend-checked by the issuer over the link, with durable writes;
//! 4. deposits in open loop at half the rate of 3, for the latency target;
//! 5. the references again, and their mean is what the ratios divide by.
//!
//! Every phase checks semper-load's invariants; the run fails loudly if one breaks. Then, when
//! asked:
//! - `--overload`: withdrawals offered at ten times their closed-loop rate, between two calm
//!   phases at half of it (see `overload.rs`): issue 8's overload figures; `--overload-only`
//!   runs only the closed-loop withdrawals and then this;
//! - `--rss-minutes M`: the default mix (withdrawals, payments, double spends, replays) in open
//!   loop at half its own closed-loop rate (or at `--rss-rate R` operations a second) for M
//!   minutes, the server's memory sampled; `--rss-only` skips everything else.
//!
//! `bench-load --help` prints the options (`args.rs`).

mod args;
mod memory;
mod overload;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rayon::prelude::*;
use semper_bench::fixtures::DepositFixture;
use semper_bench::load_phase;
pub use semper_bench::load_phase::{WITHDRAWALS_ONLY, base_config, phase, rate_of};
use semper_bench::reference::ReferenceKey;
use semper_loadtest::process::{ServerProcess, embedded_overrides};
use semper_loadtest::target::{Endpoint, Targets};
use semper_loadtest::workload::{Mix, Stock};
use semper_loadtest::{LoadConfig, Mode};
use semper_protocol::batch_verifier::BatchVerifier;

const THREADS: usize = 2;
const TOKEN: &str = "bench-load-operator-token";
/// Each reference runs this long.
const REFERENCE_TIME: Duration = Duration::from_secs(3);
/// Coins per withdrawal and per payment.
const COINS_PER_REQUEST: usize = load_phase::COINS_PER_REQUEST;
/// Wallets (and closed-loop workers) of the withdrawal phase, and requests each makes ready.
const WITHDRAW_WALLETS: usize = 8;
const WITHDRAWALS_PER_WALLET: usize = 64;
/// Wallets (and closed-loop workers) of the deposit phase, and payments each makes ready.
const DEPOSIT_WALLETS: usize = 16;
const PAYMENTS_PER_WALLET: usize = 80;
/// Payments (each deposited), and nothing else.
const PAYMENTS_ONLY: Mix = Mix {
    withdraw: 0.0,
    double_spend: 0.0,
    replay: 0.0,
    refund: 0.0,
    swap: 0.0,
    recoup: 0.0,
};
/// The open loop's length at half the deposit rate, and its most deposits in flight.
const HALF_LOAD_TIME: Duration = Duration::from_secs(8);
const HALF_LOAD_IN_FLIGHT: usize = 64;

fn main() -> anyhow::Result<()> {
    let options = match args::parse(std::env::args().skip(1)) {
        Ok(args::Command::Help) => {
            print!("{}", args::USAGE);
            return Ok(());
        }
        Ok(args::Command::Run(options)) => options,
        Err(error) => {
            eprintln!("bench-load: {error:#}\n\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    let rss = memory::MemoryRun {
        minutes: options.rss_minutes,
        rate_per_s: options.rss_rate_per_s,
    };
    let semper = sibling("semper")?;
    let dir = std::env::temp_dir().join(format!("semper-bench-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = if options.rss_only {
        memory_only(&semper, &dir, &rss)
    } else if options.overload_only {
        overload_only_run(&semper, &dir)
    } else {
        bench(&semper, &dir, &rss, options.overload)
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The binary `name` beside this one, as `cargo build --release` leaves it.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    ensure!(
        path.exists(),
        "{} is missing: build it with `cargo build --release -p semper-server --bin semper`",
        path.display()
    );
    Ok(path)
}

/// `semper run` (the embedded default) on free ports with its data in `dir`, and its roles.
fn start_server(semper: &Path, dir: &Path) -> anyhow::Result<(ServerProcess, Targets)> {
    let server = ServerProcess::start(semper, &[], &embedded_overrides(dir, TOKEN), dir)?;
    let target = Targets::single(Endpoint::new(server.http, Some(TOKEN.into())));
    println!("semper run: pid {}, {}", server.pid(), server.http);
    Ok((server, target))
}

/// Only the memory run, on a server of its own.
fn memory_only(semper: &Path, dir: &Path, rss: &memory::MemoryRun) -> anyhow::Result<()> {
    let (server, target) = start_server(semper, dir)?;
    memory::memory_run(&server, &target, rss)?;
    server.terminate()?;
    Ok(())
}

/// Only the overload run, after the closed-loop withdrawals that give its sustainable rate, on a
/// server of its own.
fn overload_only_run(semper: &Path, dir: &Path) -> anyhow::Result<()> {
    let (server, target) = start_server(semper, dir)?;
    let (withdraw, cores) = overload::sustainable_withdrawals(&server, withdraw_config(&target))?;
    overload::overload_run(&server, &target, rate_of(&withdraw, "withdraw")?, cores)?;
    server.terminate()?;
    Ok(())
}

fn bench(semper: &Path, dir: &Path, rss: &memory::MemoryRun, overload: bool) -> anyhow::Result<()> {
    let (server, target) = start_server(semper, dir)?;

    let before = References::measure()?;
    println!("references: {before}");
    let (withdraw, withdraw_cores) =
        overload::sustainable_withdrawals(&server, withdraw_config(&target))?;
    let withdraw_rate = rate_of(&withdraw, "withdraw")?;
    let deposit = phase("deposit, closed loop", deposit_config(&target, None))?;
    let deposit_rate = rate_of(&deposit, "pay")?;
    let half_ops = deposit_rate / COINS_PER_REQUEST as f64 / 2.0;
    let half = phase(
        "deposit, open loop at half that rate",
        deposit_config(&target, Some(half_ops)),
    )?;
    let after = References::measure()?;
    println!("references: {after}");
    let memory = server.memory();

    let verifier = (before.verifier + after.verifier) / 2.0;
    let sign = (before.sign + after.sign) / 2.0;
    let half_pay = half
        .operations
        .iter()
        .find(|op| op.op == "pay")
        .context("no deposits in the open loop")?;
    println!();
    println!("issue 7 targets on the embedded default ({THREADS} cores, durable writes)");
    println!(
        "{:<52} {:>12} {:>12} {:>8} {:>8}",
        "measure", "rate (/s)", "reference", "ratio", "target"
    );
    println!(
        "{:<52} {:>12.0} {:>12.0} {:>8.2} {:>8}",
        "deposits end to end / BatchVerifier (2 threads)",
        deposit_rate,
        verifier,
        deposit_rate / verifier,
        "≥ 0.40"
    );
    println!(
        "{:<52} {:>12.0} {:>12.0} {:>8.2} {:>8}",
        "withdrawals end to end / OpenSSL sign (2 threads)",
        withdraw_rate,
        sign,
        withdraw_rate / sign,
        "≥ 0.70"
    );
    println!(
        "deposit latency, open loop at {:.0} coins/s ({:.0} % of the closed loop's rate): p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms (target p99 ≤ 10 ms)",
        half_pay.coins_per_s,
        100.0 * half_pay.coins_per_s / deposit_rate,
        half_pay.latency_ms.p50,
        half_pay.latency_ms.p99,
        half_pay.latency_ms.p999
    );
    println!(
        "server memory after the phases: RSS {} MiB, peak {} MiB",
        memory.rss_kib / 1024,
        memory.peak_kib / 1024
    );
    if overload {
        overload::overload_run(&server, &target, withdraw_rate, withdraw_cores)?;
    }
    if rss.minutes > 0.0 {
        memory::memory_run(&server, &target, rss)?;
    }
    server.terminate()?;
    Ok(())
}

/// `BatchVerifier` on real deposit permissions and OpenSSL signing, each on 2 threads, for
/// [`REFERENCE_TIME`] each: coins a second.
struct References {
    verifier: f64,
    sign: f64,
}

impl References {
    fn measure() -> anyhow::Result<Self> {
        let fixture = DepositFixture::generate(256);
        let verifier = BatchVerifier::new(THREADS)?;
        let started = Instant::now();
        let mut coins = 0usize;
        while started.elapsed() < REFERENCE_TIME {
            let verdicts = verifier.verify(&fixture.permissions, &fixture.denominations);
            ensure!(
                verdicts.iter().all(Result::is_ok),
                "the reference must verify real coins"
            );
            coins += verdicts.len();
        }
        let verifier_rate = coins as f64 / started.elapsed().as_secs_f64();

        let key = ReferenceKey::generate()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .build()?;
        let started = Instant::now();
        let mut signed = 0usize;
        while started.elapsed() < REFERENCE_TIME {
            pool.install(|| {
                (0..256)
                    .into_par_iter()
                    .map(|_| {
                        key.sign(b"reference message of about a coin's size, eighty bytes long....")
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?;
            signed += 256;
        }
        Ok(Self {
            verifier: verifier_rate,
            sign: signed as f64 / started.elapsed().as_secs_f64(),
        })
    }
}

impl std::fmt::Display for References {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BatchVerifier {:.0} coins/s, OpenSSL RSA-2048 sign {:.0} /s ({THREADS} threads each)",
            self.verifier, self.sign
        )
    }
}

fn withdraw_config(target: &Targets) -> LoadConfig {
    load_phase::withdraw_config(target, WITHDRAW_WALLETS, WITHDRAWALS_PER_WALLET)
}

/// Deposits only, closed loop; or open loop at `rate_per_s` payments a second.
fn deposit_config(target: &Targets, rate_per_s: Option<f64>) -> LoadConfig {
    let (payments, workers, operations) = match rate_per_s {
        None => (
            PAYMENTS_PER_WALLET,
            DEPOSIT_WALLETS,
            DEPOSIT_WALLETS * PAYMENTS_PER_WALLET * 7 / 8,
        ),
        Some(rate) => {
            let operations = (rate * HALF_LOAD_TIME.as_secs_f64()).ceil() as usize;
            (
                // semper-load gives each worker a wallet of its own at least, and the open
                // loop spreads the operations over them unevenly.
                (operations * 3 / 2).div_ceil(DEPOSIT_WALLETS.max(HALF_LOAD_IN_FLIGHT)),
                HALF_LOAD_IN_FLIGHT,
                operations,
            )
        }
    };
    let stock = Stock {
        payments,
        withdrawals: 0,
        only: false,
    };
    let mut config = base_config(target, DEPOSIT_WALLETS, PAYMENTS_ONLY, stock);
    config.mode = match rate_per_s {
        None => Mode::Closed { workers },
        Some(rate_per_s) => Mode::Open {
            rate_per_s,
            workers,
        },
    };
    config.operations = Some(operations as u64);
    config
}
