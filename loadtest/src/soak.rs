//! The crash-kill soak: the embedded default as a child process under load from semper-load,
//! killed with SIGKILL at random moments and started again on the same data each time.
//!
//! Kills happen only while operations run (never during the load's setup or its final checks),
//! each after a random time up, and the server comes back on the same HTTP port. The load
//! retries what the outage refused with the same request (every request is idempotent) and asks
//! again at the end for every answer it lost. Then semper-load's invariants decide: every
//! acknowledged withdrawal is debited and every acknowledged deposit is credited and in a
//! settlement report (nothing acknowledged was lost), no coin was accepted twice, value is
//! conserved, every report nets to zero and owes exactly what was accepted (settlement exactly
//! once), replays got their first answer, and reconciliation is clean. Operations that failed
//! only because the server was down are counted and shown, and break nothing.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngExt;

use crate::process::{ProcessError, ServerProcess, embedded_overrides};
use crate::target::{Endpoint, Targets};
use crate::{LoadConfig, LoadError, LoadPhase, LoadReport, run};

/// A soak run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// The `semper` binary.
    pub binary: PathBuf,
    /// Its working directory; its data goes in `dir/data`.
    pub dir: PathBuf,
    /// Kills to make.
    pub kills: usize,
    /// The shortest and longest time up before a kill.
    pub up: (Duration, Duration),
    /// How long a restart may take before the soak counts it in its schedule.
    pub restart_allowance: Duration,
    /// The load: its targets and phase are set by the soak.
    pub load: LoadConfig,
}

/// What a soak run did and found.
#[derive(Debug)]
pub struct SoakReport {
    /// Kills made, each followed by a restart.
    pub kills: usize,
    /// The longest restart, from the kill to the HTTP API answering.
    pub restart_max: Duration,
    /// The load's report, with its invariants.
    pub load: LoadReport,
}

impl SoakReport {
    /// Whether the soak made its kills and every invariant held.
    pub fn ok(&self, kills_wanted: usize) -> bool {
        self.kills >= kills_wanted && self.load.ok()
    }

    /// The outcome in a few lines.
    pub fn summary(&self) -> String {
        format!(
            "semper-soak: {} SIGKILLs survived (longest restart {:.2} s); {} operations checked, {} coins; {} retries; failures while down: {}\n{}",
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
    /// Starting, killing or restarting the server failed.
    #[error("server: {0}")]
    Process(#[from] ProcessError),
    /// The load could not run.
    #[error("load: {0}")]
    Load(#[from] LoadError),
    /// No free port on loopback.
    #[error("no free loopback port: {0}")]
    Port(std::io::Error),
    /// The load's thread panicked.
    #[error("the load's thread panicked")]
    LoadPanicked,
}

/// Runs the soak described by `config`.
pub fn soak(config: SoakConfig) -> Result<SoakReport, SoakError> {
    let token = format!("soak-{:016x}", rand::random::<u64>());
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(SoakError::Port)?
        .port();
    let mut env = embedded_overrides(&config.dir, &token);
    for (name, value) in &mut env {
        if name == "SEMPER__HTTP__LISTEN" {
            *value = format!("127.0.0.1:{port}");
        }
    }
    let start = || ServerProcess::start(&config.binary, &[], &env, &config.dir);
    let mut server = start()?;

    let phase = Arc::new(LoadPhase::default());
    let mut load = config.load.clone();
    load.targets = Targets::single(Endpoint::new(server.http, Some(token.clone())));
    load.tolerate_outages = true;
    load.phase = Some(phase.clone());
    let mut kills = 0;
    let mut restart_max = Duration::ZERO;
    let server_slot = &mut server;
    let report = std::thread::scope(|scope| -> Result<LoadReport, SoakError> {
        let server = server_slot;
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
            if kills >= config.kills {
                break;
            }
            let up = rng.random_range(config.up.0..=config.up.1);
            if Instant::now() + up + config.restart_allowance >= ends {
                break;
            }
            std::thread::sleep(up);
            let killed = Instant::now();
            server.kill()?;
            *server = start()?;
            restart_max = restart_max.max(killed.elapsed());
            kills += 1;
        }
        load.join()
            .map_err(|_| SoakError::LoadPanicked)?
            .map_err(SoakError::from)
    })?;
    server.terminate()?;
    Ok(SoakReport {
        kills,
        restart_max,
        load: report,
    })
}
