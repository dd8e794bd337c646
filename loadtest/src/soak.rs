//! The crash-kill soak: a deployment's processes (the embedded default, or the five banks of the
//! multi-bank example) as child processes under load from semper-load, one of them picked at
//! random and killed with SIGKILL at random moments, and started again on its own data and ports
//! each time.
//!
//! Kills happen only while operations run (never during the load's setup or its final checks),
//! each after a random time up, and the process comes back on the same ports. The load
//! retries what the outage refused with the same request (every request is idempotent) and asks
//! again at the end for every answer it lost. Then semper-load's invariants decide: every
//! acknowledged withdrawal is debited and every acknowledged deposit is credited and in a
//! settlement report (nothing acknowledged was lost), no coin was accepted twice, value is
//! conserved, every report nets to zero and owes exactly what was accepted (settlement exactly
//! once), replays got their first answer, and reconciliation is clean. Operations that failed
//! only because a process was down are counted and shown, and break nothing.
//!
//! The replicated deployment's soak also kills its PostgreSQL primary (see [`crate::failover`]),
//! between the kills of semper processes, and times each failover to the first write
//! acknowledged after it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngExt;

use crate::deployment::Deployment;
use crate::failover::{self, Cluster};
use crate::multibank::{self, Carrier};
use crate::process::{ProcessError, ServerProcess};
use crate::replicated;
use crate::{LoadConfig, LoadError, LoadPhase, LoadReport, run};

/// Which deployment a soak runs and kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// The embedded default: one process, killed every time.
    Embedded,
    /// The multi-bank example over `Carrier`: five processes, one picked at random each time.
    MultiBank(Carrier),
    /// The replicated deployment `config/ha/deploy.sh` made under `dir/data/ha`, on ports from
    /// this base: an issuer process or an acquirer gateway picked at random each time, while
    /// its twin serves on.
    Replicated(u16),
}

impl Topology {
    /// The deployment in `dir`, with the operator token `token`.
    pub fn deployment(self, dir: &Path, token: &str) -> Result<Deployment, ProcessError> {
        match self {
            Self::Embedded => Deployment::embedded(dir, token),
            Self::MultiBank(carrier) => multibank::deployment(dir, carrier, token),
            Self::Replicated(base) => replicated::deployment(dir, base, token),
        }
    }
}

/// A soak run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// The `semper` binary.
    pub binary: PathBuf,
    /// The processes' working directory; their data goes in `dir/data`.
    pub dir: PathBuf,
    /// The deployment to kill.
    pub topology: Topology,
    /// Kills of semper processes to make.
    pub kills: usize,
    /// Kills of the PostgreSQL primary to make (the replicated deployment only).
    pub primary_kills: usize,
    /// The shortest and longest time up before a kill.
    pub up: (Duration, Duration),
    /// How long a restart may take before the soak counts it in its schedule.
    pub restart_allowance: Duration,
    /// Whether the issuers charge withdraw and deposit fees on the coins the load withdraws
    /// ([`Deployment::charge_fees`]), so that the invariants count them.
    pub fees: bool,
    /// The load: its targets and phase are set by the soak.
    pub load: LoadConfig,
}

/// What a soak run did and found.
#[derive(Debug)]
pub struct SoakReport {
    /// Kills of semper processes made, each followed by a restart.
    pub kills: usize,
    /// Each kill of the PostgreSQL primary: the node it was on, and the time from the kill to
    /// the first write acknowledged after it.
    pub failovers: Vec<(u8, Duration)>,
    /// The kills of each process, by its name, in the deployment's order.
    pub kills_by_node: Vec<(String, usize)>,
    /// The longest restart, from the kill to the HTTP API answering.
    pub restart_max: Duration,
    /// The load's report, with its invariants.
    pub load: LoadReport,
}

impl SoakReport {
    /// Whether the soak made its kills (of semper processes, and of the primary) and every
    /// invariant held.
    pub fn ok(&self, kills_wanted: usize, primary_kills_wanted: usize) -> bool {
        self.kills >= kills_wanted && self.failovers.len() >= primary_kills_wanted && self.load.ok()
    }

    /// The primary's kills and their failover times, in a line; empty when there were none.
    fn failover_summary(&self) -> String {
        if self.failovers.is_empty() {
            return String::new();
        }
        let mut times: Vec<f64> = self
            .failovers
            .iter()
            .map(|(_, t)| t.as_secs_f64())
            .collect();
        let each: Vec<String> = self
            .failovers
            .iter()
            .map(|(node, took)| format!("node{node} {:.2}", took.as_secs_f64()))
            .collect();
        times.sort_by(f64::total_cmp);
        format!(
            "semper-soak: {} SIGKILLs of the PostgreSQL primary survived; failover to the first acknowledged write min {:.2} s, median {:.2} s, max {:.2} s (each, s: {})\n",
            times.len(),
            times[0],
            times[times.len() / 2],
            times[times.len() - 1],
            each.join(", ")
        )
    }

    /// The outcome in a few lines.
    pub fn summary(&self) -> String {
        let by_node = if self.kills_by_node.len() > 1 {
            let each: Vec<String> = self
                .kills_by_node
                .iter()
                .map(|(name, kills)| format!("{name} {kills}"))
                .collect();
            format!(": {}", each.join(", "))
        } else {
            String::new()
        };
        format!(
            "{}semper-soak: {} SIGKILLs survived{by_node} (longest restart {:.2} s); {} operations checked, {} coins; {} retries; failures while down: {}\n{}",
            self.failover_summary(),
            self.kills,
            self.restart_max.as_secs_f64(),
            self.load.total.ops,
            self.load.total.coins,
            self.load.retries,
            self.load
                .failures
                .iter()
                .map(|(code, count)| format!("{count} x {code}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.load.summary()
        )
    }
}

/// Why a soak could not run to a verdict.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// Setting up, starting, killing or restarting a process failed.
    #[error("server: {0}")]
    Process(#[from] ProcessError),
    /// The load could not run.
    #[error("load: {0}")]
    Load(#[from] LoadError),
    /// The load's thread panicked.
    #[error("the load's thread panicked")]
    LoadPanicked,
}

/// Runs the soak described by `config`.
pub fn soak(config: SoakConfig) -> Result<SoakReport, SoakError> {
    let token = format!("soak-{:016x}", rand::random::<u64>());
    let mut deployment = config.topology.deployment(&config.dir, &token)?;
    if config.fees {
        deployment.charge_fees();
    }
    let mut processes = deployment.start(&config.binary, &config.dir)?;

    let phase = Arc::new(LoadPhase::default());
    let mut load = config.load.clone();
    load.targets = deployment.targets.clone();
    load.tolerate_outages = true;
    load.phase = Some(phase.clone());
    // The issuers' master keys are the soak's own (see `Deployment::master_keys`): it revokes.
    load.offline_tool = Some(config.binary.clone());
    let mut kills_by_node = vec![0; processes.len()];
    let mut restart_max = Duration::ZERO;
    let cluster = match config.topology {
        Topology::Replicated(_) => Some(Cluster::of_deployment(&config.dir)),
        _ => None,
    };
    let mut failovers = Vec::new();
    let report = std::thread::scope(|scope| -> Result<LoadReport, SoakError> {
        let load = scope.spawn(move || run(load));
        let ends = loop {
            if let Some(ends) = phase.ends() {
                break Some(ends);
            }
            if load.is_finished() {
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut rng = rand::rng();
        while let Some(ends) = ends {
            let kills = kills_by_node.iter().sum::<usize>();
            let primary_left = match cluster {
                Some(_) => config.primary_kills.saturating_sub(failovers.len()),
                None => 0,
            };
            if kills >= config.kills && primary_left == 0 {
                break;
            }
            // The primary's kills spread among the processes' kills, one at a time.
            let primary = primary_left > 0 && (kills >= config.kills || rng.random_bool(0.5));
            let allowance = if primary {
                failover::KILL_ALLOWANCE
            } else {
                config.restart_allowance
            };
            let up = rng.random_range(config.up.0..=config.up.1);
            if Instant::now() + up + allowance >= ends {
                break;
            }
            std::thread::sleep(up);
            if let (true, Some(cluster)) = (primary, &cluster) {
                let node = cluster.kill_primary()?;
                let killed = Instant::now();
                let took = failover::first_write(
                    &deployment.targets.issuers,
                    killed,
                    failover::FIRST_WRITE_MAX,
                )?;
                eprintln!(
                    "semper-soak: primary node{node} killed; first write acknowledged {:.2} s after",
                    took.as_secs_f64()
                );
                failovers.push((node, took));
                cluster.wait_ready(failover::REJOIN_MAX)?;
                continue;
            }
            let Some(&victim) = deployment
                .victims
                .get(rng.random_range(0..deployment.victims.len().max(1)))
            else {
                break;
            };
            let killed = Instant::now();
            restart(&deployment, &config, &mut processes[victim], victim)?;
            restart_max = restart_max.max(killed.elapsed());
            kills_by_node[victim] += 1;
        }
        load.join()
            .map_err(|_| SoakError::LoadPanicked)?
            .map_err(SoakError::from)
    });
    let stopped = stop(processes);
    let report = report?;
    stopped?;
    Ok(SoakReport {
        kills: kills_by_node.iter().sum(),
        failovers,
        kills_by_node: deployment
            .nodes
            .iter()
            .map(|node| node.name.clone())
            .zip(kills_by_node)
            .collect(),
        restart_max,
        load: report,
    })
}

/// Kills `process`, node `index` of `deployment`, with SIGKILL and starts it again in its place.
fn restart(
    deployment: &Deployment,
    config: &SoakConfig,
    process: &mut ServerProcess,
    index: usize,
) -> Result<(), ProcessError> {
    process.kill()?;
    *process = deployment.nodes[index].start(&config.binary, &config.dir)?;
    Ok(())
}

/// Stops every process with SIGTERM, all of them even when one fails: the first failure.
fn stop(processes: Vec<ServerProcess>) -> Result<(), ProcessError> {
    let mut outcome = Ok(());
    for process in processes {
        if let Err(error) = process.terminate()
            && outcome.is_ok()
        {
            outcome = Err(error);
        }
    }
    outcome
}
