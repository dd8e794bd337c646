//! `bench-ha`: the replicated deployment (`config/ha/deploy.sh`) against the embedded RocksDB
//! default, over HTTP, in one run (`make bench-ha` starts the deployment, runs this, stops it).
//!
//! 1. The embedded default (`semper run`, the release binary beside this one, RocksDB with
//!    durable writes) on ports from `--embedded-base`: withdrawals, then deposits, each in a
//!    closed loop whose requests were made ready before the clock started (`semper-load`'s stock).
//! 2. The same two phases on the replicated deployment: issuer process `issuer-1a`, gateway
//!    `acquirer-1a`, the clearing house (two processes, cuts asked of either), every store on
//!    the three-node Patroni cluster with synchronous replication.
//! 3. Deposits on the replicated deployment through one gateway, then through two (`acquirer-1a`
//!    and `acquirer-1b`, merchants spread over them), each with the CPU time of every semper
//!    process of the deployment sampled: coins per server core-second. The PostgreSQL nodes'
//!    CPU (each postmaster and its backends) is sampled too, and shown apart.
//!
//! Every phase checks semper-load's invariants, and the run fails loudly if one breaks.
//!
//! Usage: `bench-ha --ha-dir data/ha --ha-base 22000 --embedded-base 22040 [--stock-rounds N]`:
//! each wallet makes N times the default stock ready (default 1), for longer timed phases.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use semper_bench::embedded::port_overrides;
use semper_bench::usage::{cpu_seconds, sampled};
use semper_loadtest::process::{ServerProcess, embedded_overrides};
use semper_loadtest::target::{Endpoint, Targets, parse_bank_id, read_token_file};
use semper_loadtest::workload::{Mix, Stock};
use semper_loadtest::{LoadConfig, LoadPhase, LoadReport, Mode, run};

const TOKEN: &str = "bench-ha-operator-token";
/// Coins per withdrawal and per payment.
const COINS_PER_REQUEST: usize = 64;
/// Wallets (and closed-loop workers) of a withdrawal phase, and requests each makes ready.
const WITHDRAW_WALLETS: usize = 8;
const WITHDRAWALS_PER_WALLET: usize = 24;
/// Wallets (and closed-loop workers) of a deposit phase, and payments each makes ready.
const DEPOSIT_WALLETS: usize = 16;
const PAYMENTS_PER_WALLET: usize = 32;
/// The longest a timed phase may run (it ends when its stock is spent, long before).
const PHASE_TIME_MAX: Duration = Duration::from_secs(300);
/// Attempts a patient client makes before it gives up (it should never need them all).
const PATIENT_ATTEMPTS: u32 = 10_000;
/// How often the semper processes' CPU time is read.
const CPU_SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// The acquirer bank of the replicated deployment (`config/ha/acquirer-1a.toml`).
const HA_ACQUIRER_ID: &str = "02000000000000000000000000000001";
/// The semper processes of the replicated deployment, with the offset of each one's HTTP port
/// from the deployment's base port (`config/ha/deploy.sh`).
const HA_PROCESSES: [(&str, u16); 6] = [
    ("clearing", 20),
    ("clearing-b", 25),
    ("issuer-1a", 21),
    ("issuer-1b", 22),
    ("acquirer-1a", 23),
    ("acquirer-1b", 24),
];

/// Withdrawals, and nothing else.
const WITHDRAWALS_ONLY: Mix = Mix {
    withdraw: 1.0,
    double_spend: 0.0,
    replay: 0.0,
    refund: 0.0,
    swap: 0.0,
    recoup: 0.0,
};
/// Payments (each deposited), and nothing else.
const PAYMENTS_ONLY: Mix = Mix {
    withdraw: 0.0,
    double_spend: 0.0,
    replay: 0.0,
    refund: 0.0,
    swap: 0.0,
    recoup: 0.0,
};

struct Args {
    ha_dir: PathBuf,
    ha_base: u16,
    embedded_base: u16,
    /// How many times the default stock each wallet makes ready.
    stock_rounds: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        ha_dir: PathBuf::from("data/ha"),
        ha_base: 22000,
        embedded_base: 22040,
        stock_rounds: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--ha-dir" => parsed.ha_dir = PathBuf::from(value),
            "--ha-base" => parsed.ha_base = value.parse().context("--ha-base")?,
            "--embedded-base" => parsed.embedded_base = value.parse().context("--embedded-base")?,
            "--stock-rounds" => parsed.stock_rounds = value.parse().context("--stock-rounds")?,
            other => bail!(
                "unknown argument {other:?}: --ha-dir, --ha-base, --embedded-base, --stock-rounds"
            ),
        }
    }
    ensure!(
        (1..=100).contains(&parsed.stock_rounds),
        "--stock-rounds must be 1 to 100"
    );
    Ok(parsed)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let semper = std::env::current_exe()?.with_file_name("semper");
    ensure!(
        semper.exists(),
        "{} is missing: cargo build --release -p semper-server --bin semper",
        semper.display()
    );
    let dir = std::env::temp_dir().join(format!("semper-bench-ha-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let rounds = args.stock_rounds;
    let embedded = embedded_phases(&semper, &dir, args.embedded_base, rounds);
    let _ = std::fs::remove_dir_all(&dir);
    let embedded = embedded?;
    let ha = Deployment::read(&args.ha_dir, args.ha_base)?;
    let replicated = BackendRates::measure(
        "replicated PostgreSQL",
        &ha.targets(1)?,
        &ha.watched(),
        rounds,
    )?;
    let one = phase_on_cpu(
        "deposits, 1 gateway",
        deposit_config(&ha.targets(1)?, rounds),
        &ha.watched(),
    )?;
    let two = phase_on_cpu(
        "deposits, 2 gateways",
        deposit_config(&ha.targets(2)?, rounds),
        &ha.watched(),
    )?;

    println!();
    println!("HTTP end to end, coins/s ({COINS_PER_REQUEST} coins a request, closed loop)");
    println!(
        "{:<36} {:>12} {:>14} {:>8}",
        "measure", "RocksDB", "PostgreSQL HA", "ratio"
    );
    for (name, rocks, pg) in [
        ("withdrawals", embedded.withdraw, replicated.withdraw),
        ("deposits", embedded.deposit, replicated.deposit),
    ] {
        println!(
            "{name:<36} {:>12.0} {:>14.0} {:>8.2}",
            rocks.coins_per_s,
            pg.coins_per_s,
            pg.coins_per_s / rocks.coins_per_s
        );
    }
    println!(
        "{:<36} {:>12.0} {:>14.0} {:>8.2}",
        "deposits per server core-second",
        embedded.deposit.per_core(),
        replicated.deposit.per_core(),
        replicated.deposit.per_core() / embedded.deposit.per_core()
    );
    println!();
    println!("deposits on the replicated deployment, by acquirer gateways");
    println!(
        "{:<12} {:>10} {:>14} {:>22} {:>18}",
        "gateways", "coins/s", "semper cores", "coins/semper core-s", "PostgreSQL cores"
    );
    for (gateways, rate) in [(1, one), (2, two)] {
        println!(
            "{gateways:<12} {:>10.0} {:>14.2} {:>22.0} {:>18.2}",
            rate.coins_per_s,
            rate.server_cores,
            rate.per_core(),
            rate.postgres_cores
        );
    }
    println!(
        "per-core ratio, 2 gateways / 1: {:.2} (issue 19: not below 0.90)",
        two.per_core() / one.per_core()
    );
    Ok(())
}

/// A phase's rate and the cores the server's processes used while its clock ran.
#[derive(Clone, Copy, Debug)]
struct Rate {
    coins_per_s: f64,
    /// The semper processes' cores.
    server_cores: f64,
    /// The PostgreSQL nodes' cores (0 on the embedded backend).
    postgres_cores: f64,
}

impl Rate {
    fn per_core(&self) -> f64 {
        self.coins_per_s / self.server_cores.max(f64::MIN_POSITIVE)
    }
}

/// Withdrawals and deposits on one backend.
struct BackendRates {
    withdraw: Rate,
    deposit: Rate,
}

impl BackendRates {
    fn measure(
        backend: &str,
        targets: &Targets,
        pids: &Watched,
        rounds: usize,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            withdraw: phase_on_cpu(
                &format!("withdrawals, {backend}"),
                withdraw_config(targets, rounds),
                pids,
            )?,
            deposit: phase_on_cpu(
                &format!("deposits, {backend}"),
                deposit_config(targets, rounds),
                pids,
            )?,
        })
    }
}

/// The embedded default's two phases, on a `semper run` of its own on ports from `base`.
fn embedded_phases(
    semper: &Path,
    dir: &Path,
    base: u16,
    rounds: usize,
) -> anyhow::Result<BackendRates> {
    let mut env = embedded_overrides(dir, TOKEN);
    // Ports of this run's range, not the kernel's free ones.
    env.extend(port_overrides(base));
    let server = ServerProcess::start(semper, &[], &env, dir)?;
    println!("embedded semper run: pid {}, {}", server.pid(), server.http);
    let targets = Targets::single(Endpoint::new(server.http, Some(TOKEN.into())));
    let watched = Watched {
        semper: vec![("semper".to_owned(), server.pid())],
        postmaster_files: Vec::new(),
    };
    let rates = BackendRates::measure("embedded RocksDB", &targets, &watched, rounds);
    server.terminate()?;
    rates
}

/// The replicated deployment as `config/ha/deploy.sh` runs it.
struct Deployment {
    dir: PathBuf,
    base: u16,
    /// Every semper process of it (the signer too).
    pids: Vec<(String, u32)>,
}

impl Deployment {
    fn read(dir: &Path, base: u16) -> anyhow::Result<Self> {
        let mut pids = Vec::new();
        for entry in std::fs::read_dir(dir.join("pids")).context("the deployment's pid files")? {
            let path = entry?.path();
            let text = std::fs::read_to_string(&path)?;
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            pids.push((
                name.into_owned(),
                text.trim().parse().context("a pid file")?,
            ));
        }
        pids.sort();
        ensure!(
            pids.len() == HA_PROCESSES.len() + 1,
            "expected {} semper processes and a signer in {}: is config/ha/deploy.sh running?",
            HA_PROCESSES.len(),
            dir.display()
        );
        Ok(Self {
            dir: dir.to_owned(),
            base,
            pids,
        })
    }

    /// Its semper processes, and the PostgreSQL nodes' postmaster PID files.
    fn watched(&self) -> Watched {
        Watched {
            semper: self.pids.clone(),
            postmaster_files: (1..=3)
                .map(|node| {
                    self.dir
                        .join(format!("cluster/node{node}/data/postmaster.pid"))
                })
                .collect(),
        }
    }

    fn endpoint(&self, process: &str) -> anyhow::Result<Endpoint> {
        let offset = HA_PROCESSES
            .iter()
            .find(|(name, _)| *name == process)
            .map(|(_, offset)| *offset)
            .context("no such process")?;
        let token = read_token_file(
            &self
                .dir
                .join("banks")
                .join(format!("{process}.operator-token")),
        )?;
        let addr = ([127, 0, 0, 1], self.base + offset).into();
        Ok(Endpoint::new(addr, Some(token)))
    }

    /// Issuer process `issuer-1a`, the clearing house, and `gateways` acquirer gateways.
    fn targets(&self, gateways: usize) -> anyhow::Result<Targets> {
        let bank = parse_bank_id(HA_ACQUIRER_ID).map_err(anyhow::Error::msg)?;
        let acquirers = ["acquirer-1a", "acquirer-1b"][..gateways]
            .iter()
            .map(|process| {
                let mut endpoint = self.endpoint(process)?;
                endpoint.bank = Some(bank);
                Ok(endpoint)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Targets {
            issuers: vec![self.endpoint("issuer-1a")?],
            acquirers,
            clearing: self.endpoint("clearing")?,
            clearing_others: vec![self.endpoint("clearing-b")?],
        })
    }
}

fn base_config(targets: &Targets, wallets: usize, mix: Mix, stock: Stock) -> LoadConfig {
    let mut config = LoadConfig::new(targets.clone());
    config.workload.wallets = wallets;
    config.workload.merchants = 8;
    config.workload.coins_per_payment = COINS_PER_REQUEST;
    config.workload.coins_per_withdraw = COINS_PER_REQUEST;
    config.workload.mix = mix;
    config.workload.stock = stock;
    config.mode = Mode::Closed { workers: wallets };
    config.settle_interval = None;
    config.settle_wait = Duration::from_millis(2000);
    config.duration = Some(PHASE_TIME_MAX);
    config.retry_attempts_max = PATIENT_ATTEMPTS;
    config.progress = false;
    config
}

fn withdraw_config(targets: &Targets, rounds: usize) -> LoadConfig {
    let withdrawals = WITHDRAWALS_PER_WALLET * rounds;
    let stock = Stock {
        payments: 0,
        withdrawals,
        only: true,
    };
    let mut config = base_config(targets, WITHDRAW_WALLETS, WITHDRAWALS_ONLY, stock);
    // A little less than the stock, so that no wallet runs dry.
    config.operations = Some((WITHDRAW_WALLETS * withdrawals * 7 / 8) as u64);
    config
}

fn deposit_config(targets: &Targets, rounds: usize) -> LoadConfig {
    let payments = PAYMENTS_PER_WALLET * rounds;
    let stock = Stock {
        payments,
        withdrawals: 0,
        only: true,
    };
    let mut config = base_config(targets, DEPOSIT_WALLETS, PAYMENTS_ONLY, stock);
    config.operations = Some((DEPOSIT_WALLETS * payments * 7 / 8) as u64);
    config
}

/// Runs one phase while the CPU time of `pids` is sampled; prints its summary, fails if an
/// invariant broke, and gives its rate (withdrawn or deposited coins a second) with the cores
/// the processes used while its clock ran.
fn phase_on_cpu(name: &str, mut config: LoadConfig, watched: &Watched) -> anyhow::Result<Rate> {
    println!("\n== {name}");
    let duration = config.duration.context("a phase needs a duration")?;
    let timed = Arc::new(LoadPhase::default());
    config.phase = Some(timed.clone());
    let operation = if config.workload.mix.withdraw > 0.0 {
        "withdraw"
    } else {
        "pay"
    };
    let (report, samples) = sampled(CPU_SAMPLE_EVERY, || watched.cpu(), || run(config));
    let report: LoadReport = report?;
    print!("{}", report.summary());
    if !report.ok() {
        bail!("{name}: an invariant broke (above)");
    }
    let started = timed
        .ends()
        .map(|ends| ends - duration)
        .context("the phase never started its clock")?;
    let ended = started + Duration::from_secs_f64(report.elapsed_s);
    let (by_process, postgres_cores) =
        cores_between(&samples, started, ended).context("no CPU samples while the clock ran")?;
    let server_cores: f64 = by_process.iter().sum();
    let coins_per_s = report
        .operations
        .iter()
        .find(|op| op.op == operation)
        .map(|op| op.coins_per_s)
        .with_context(|| format!("no {operation} in the report"))?;
    println!(
        "  CPU while the clock ran: semper processes {server_cores:.2} cores, PostgreSQL {postgres_cores:.2}"
    );
    if by_process.len() > 1 {
        let each: Vec<String> = (watched.semper.iter())
            .zip(&by_process)
            .map(|((name, _), cores)| format!("{name} {cores:.3}"))
            .collect();
        println!("  semper cores by process: {}", each.join(", "));
    }
    Ok(Rate {
        coins_per_s,
        server_cores,
        postgres_cores,
    })
}

/// The processes whose CPU time a phase samples.
struct Watched {
    /// The semper processes, each by its name.
    semper: Vec<(String, u32)>,
    /// The PostgreSQL nodes' `postmaster.pid` files: each postmaster and its children count.
    postmaster_files: Vec<PathBuf>,
}

impl Watched {
    /// CPU seconds so far of each semper process (in [`Watched::semper`]'s order), and of the
    /// PostgreSQL processes now alive (a backend that exited takes its time with it: the
    /// connections here are long-lived).
    fn cpu(&self) -> (Vec<f64>, f64) {
        let semper = self
            .semper
            .iter()
            .map(|(_, pid)| cpu_seconds(&pid.to_string()))
            .collect();
        let postmasters: Vec<u32> = self
            .postmaster_files
            .iter()
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .filter_map(|text| text.lines().next()?.trim().parse().ok())
            .collect();
        if postmasters.is_empty() {
            return (semper, 0.0);
        }
        let mut postgres: f64 = postmasters
            .iter()
            .map(|pid| cpu_seconds(&pid.to_string()))
            .sum();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if parent_of(pid).is_some_and(|parent| postmasters.contains(&parent)) {
                postgres += cpu_seconds(pid);
            }
        }
        (semper, postgres)
    }
}

/// The parent PID of process `pid`, from `/proc/<pid>/stat` (field 1 after the name).
fn parent_of(pid: &str) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The cores used (by each semper process, by PostgreSQL) between the samples nearest inside
/// `from..to`.
fn cores_between(
    samples: &[(Instant, (Vec<f64>, f64))],
    from: Instant,
    to: Instant,
) -> Option<(Vec<f64>, f64)> {
    let (first_at, (first_semper, first_postgres)) = samples.iter().find(|(at, _)| *at >= from)?;
    let (last_at, (last_semper, last_postgres)) = samples.iter().rev().find(|(at, _)| *at <= to)?;
    let seconds = (*last_at - *first_at).as_secs_f64();
    (seconds > 0.0).then(|| {
        let by_process = (last_semper.iter())
            .zip(first_semper)
            .map(|(last, first)| (last - first) / seconds)
            .collect();
        (by_process, (last_postgres - first_postgres) / seconds)
    })
}
