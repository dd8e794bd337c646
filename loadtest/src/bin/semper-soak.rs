//! `semper-soak`: the crash-kill soak (see `semper_loadtest::soak`). It runs a deployment (the
//! embedded default, or with `--deployment multibank` the five banks of `config/multibank/`) as
//! child processes under semper-load's default mix, kills one of them with SIGKILL at random
//! moments and restarts it on its own data and ports, then checks every invariant. Exit status 2
//! when an invariant broke or fewer kills than asked were made.
//!
//! `make soak` runs it with 60 kills; see BENCHMARKS.md for the figures.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use semper_loadtest::failover;
use semper_loadtest::multibank::Carrier;
use semper_loadtest::soak::{SoakConfig, Topology, soak};
use semper_loadtest::target::{Endpoint, Targets};
use semper_loadtest::{
    DEFAULT_RECOUP_SHARE, DEFAULT_REFUND_SHARE, DEFAULT_SWAP_SHARE, LoadConfig, Mode,
};

/// Crash-kill soak of a deployment under load.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The deployment to kill: one process of it at random each time.
    #[arg(long, value_enum, default_value_t = DeploymentArg::Embedded)]
    deployment: DeploymentArg,
    /// The `semper` binary (default: the one beside this program).
    #[arg(long, value_name = "PATH")]
    semper: Option<PathBuf>,
    /// Working directory for the servers' data (default: a fresh one under the temp dir,
    /// removed at the end).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// SIGKILLs of semper processes to make.
    #[arg(long, default_value_t = 60)]
    kills: usize,
    /// With --deployment replicated: SIGKILLs of the PostgreSQL primary's postmaster to make,
    /// among the others, each failover timed to the first acknowledged write.
    #[arg(long, default_value_t = 0)]
    primary_kills: usize,
    /// Shortest time up before a kill, ms.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    up_min_ms: u64,
    /// Longest time up before a kill, ms.
    #[arg(long, value_name = "MS", default_value_t = 1500)]
    up_max_ms: u64,
    /// Closed-loop workers of the load.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// No fees: by default each issuer charges a withdraw, a deposit and a swap fee on the coin
    /// the load withdraws (not the replicated deployment, whose keys deploy.sh made).
    #[arg(long)]
    no_fees: bool,
    /// Share of refunds in the load's mix.
    #[arg(long, default_value_t = DEFAULT_REFUND_SHARE)]
    refund_share: f64,
    /// Share of swaps in the load's mix (change with the swap fee, refunded coins' allowances).
    #[arg(long, default_value_t = DEFAULT_SWAP_SHARE)]
    swap_share: f64,
    /// Share of recoups in the load's mix: the soak revokes a denomination at each issuer with
    /// its master key before the timed phase (not the replicated deployment, whose keys
    /// deploy.sh made).
    #[arg(long, default_value_t = DEFAULT_RECOUP_SHARE)]
    recoup_share: f64,
    /// With --deployment replicated: the base port it was started on (HA_PORT_BASE).
    #[arg(long, value_name = "PORT", default_value_t = 22000)]
    ha_base: u16,
}

/// The deployments `--deployment` names.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeploymentArg {
    /// The embedded default: one process hosting issuer, acquirer and clearing house.
    Embedded,
    /// The five banks of config/multibank/, each its own process, over QUIC links.
    Multibank,
    /// The same, with the acquirer–clearing links over emulated ATM (config/multibank-atm/).
    MultibankAtm,
    /// The replicated deployment of config/ha/ (config/ha/deploy.sh start must have run, its
    /// semper processes stopped; --dir is the repository root): a process of the clearing
    /// house, an issuer process or an acquirer gateway killed each time, and the PostgreSQL
    /// primary (--primary-kills). `make soak-ha` runs it.
    Replicated,
}

impl DeploymentArg {
    fn topology(self, ha_base: u16) -> Topology {
        match self {
            Self::Embedded => Topology::Embedded,
            Self::Multibank => Topology::MultiBank(Carrier::Quic),
            Self::MultibankAtm => Topology::MultiBank(Carrier::Atm),
            Self::Replicated => Topology::Replicated(ha_base),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.up_min_ms <= args.up_max_ms && args.kills > 0,
        "need --up-min-ms <= --up-max-ms and --kills > 0"
    );
    anyhow::ensure!(
        args.primary_kills == 0 || matches!(args.deployment, DeploymentArg::Replicated),
        "--primary-kills needs --deployment replicated"
    );
    let binary = match args.semper {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("semper"),
    };
    anyhow::ensure!(binary.exists(), "{} is missing", binary.display());
    let (dir, temporary) = match args.dir {
        Some(dir) => (dir, false),
        None => (
            std::env::temp_dir().join(format!("semper-soak-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let mut config = soak_config(
        binary,
        dir.clone(),
        args.deployment.topology(args.ha_base),
        (args.kills, args.primary_kills),
        args.workers,
        (args.up_min_ms, args.up_max_ms),
    );
    config.fees = !args.no_fees;
    config.load.workload.mix.refund = args.refund_share;
    config.load.workload.mix.swap = args.swap_share;
    config.load.workload.mix.recoup = args.recoup_share;
    let result = soak(config);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let report = result?;
    println!("{}", report.summary());
    if !report.ok(args.kills, args.primary_kills) {
        eprintln!(
            "semper-soak: FAILED ({} of {} kills made, {} of {} of the primary)",
            report.kills,
            args.kills,
            report.failovers.len(),
            args.primary_kills
        );
        std::process::exit(2);
    }
    Ok(())
}

fn soak_config(
    binary: PathBuf,
    dir: PathBuf,
    topology: Topology,
    (kills, primary_kills): (usize, usize),
    workers: usize,
    (up_min_ms, up_max_ms): (u64, u64),
) -> SoakConfig {
    let restart_allowance = Duration::from_secs(2);
    let up = (
        Duration::from_millis(up_min_ms),
        Duration::from_millis(up_max_ms),
    );
    // Room for every kill at the longest time up and a slow restart, and a quiet tail.
    let duration = (up.1 + restart_allowance) * u32::try_from(kills).unwrap_or(u32::MAX)
        + (up.1 + failover::KILL_ALLOWANCE) * u32::try_from(primary_kills).unwrap_or(u32::MAX)
        + Duration::from_secs(5);
    let mut load = LoadConfig::new(Targets::single(Endpoint::new(
        "127.0.0.1:1".parse().expect("an address"),
        None,
    )));
    load.mode = Mode::Closed { workers };
    load.duration = Some(duration);
    load.settle_interval = Some(Duration::from_secs(2));
    SoakConfig {
        binary,
        dir,
        topology,
        kills,
        primary_kills,
        up,
        restart_allowance,
        fees: true,
        load,
    }
}
