//! The PostgreSQL primary killed under the soak of the replicated deployment, and each
//! failover timed to the first write acknowledged after it (issue 19, "failover without loss").
//!
//! The cluster is the one `config/ha/deploy.sh` started in `data/ha/cluster`, driven through
//! `scripts/ha-cluster.sh` (one way to find its primary and to wait for it, for people, tests and
//! this soak alike). A failover's time runs from the SIGKILL of the primary's postmaster to the
//! first write that a semper process acknowledges: a fresh account opened at an issuer process,
//! each in turn (either may be down for its own kill), which commits through the PostgreSQL
//! backend with synchronous replication like every other write. The soak then waits until the
//! killed node is back as a replica, caught up, before it kills anything again, so that every
//! kill finds a synchronous standby to promote.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use semper_client::Api;
use semper_protocol::amount::Currency;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::AccountId;
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::signed::Signed;

use crate::process::ProcessError;
use crate::target::Endpoint;

/// The longest a failover may take to its first acknowledged write before the soak fails.
pub const FIRST_WRITE_MAX: Duration = Duration::from_secs(60);
/// The longest the killed node may take to rejoin as a caught-up replica.
pub const REJOIN_MAX: Duration = Duration::from_secs(120);
/// How long the soak allows for one primary kill in its schedule: the failover, the rejoin and
/// some load between kills (measured failovers take 7-9 s, rejoins about as long).
pub const KILL_ALLOWANCE: Duration = Duration::from_secs(30);
/// Reads of the primary a kill may take when its postmaster is gone before the kill reaches it.
const KILL_ATTEMPTS: usize = 10;
/// The wait before the primary is read again after such a miss.
const KILL_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The wait between two write attempts while the cluster fails over.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// The deployment's PostgreSQL cluster, as `scripts/ha-cluster.sh` runs it.
#[derive(Clone, Debug)]
pub struct Cluster {
    script: PathBuf,
    dir: PathBuf,
}

impl Cluster {
    /// The cluster of the replicated deployment under `repo` (its `data/ha/cluster`).
    pub fn of_deployment(repo: &Path) -> Self {
        Self {
            script: repo.join("scripts/ha-cluster.sh"),
            dir: repo.join("data/ha/cluster"),
        }
    }

    /// Kills the primary's postmaster with SIGKILL; returns the node it was on. A postmaster
    /// gone between the read of its PID and the kill (Patroni restarting it after a crash, or
    /// demoting it) is not a kill: the primary is read again, up to [`KILL_ATTEMPTS`] times.
    pub fn kill_primary(&self) -> Result<u8, ProcessError> {
        let mut gone = None;
        for _ in 0..KILL_ATTEMPTS {
            let (node, pid) = self.primary()?;
            // SAFETY: kill(2) with a PID the cluster's script read from the primary's
            // postmaster.pid.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                return Ok(node);
            }
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::ESRCH) {
                return Err(ProcessError::Io {
                    what: "kill the primary's postmaster",
                    source: error,
                });
            }
            gone = Some(error);
            std::thread::sleep(KILL_RETRY_AFTER);
        }
        Err(ProcessError::Io {
            what: "kill the primary's postmaster (gone at every attempt)",
            source: gone.unwrap_or_else(|| std::io::Error::other("no attempt")),
        })
    }

    /// The primary's node and its postmaster's PID.
    fn primary(&self) -> Result<(u8, i32), ProcessError> {
        let primary = self.run("primary", &[])?;
        let mut fields = primary.split_whitespace();
        let node = fields.next().and_then(|text| text.parse::<u8>().ok());
        let pid = fields.next().and_then(|text| text.parse::<i32>().ok());
        match (node, pid) {
            (Some(node), Some(pid)) => Ok((node, pid)),
            _ => Err(ProcessError::Cluster(format!(
                "no primary postmaster: {primary:?}"
            ))),
        }
    }

    /// Waits (at most `timeout`) until all three nodes run again on one timeline, caught up,
    /// one the leader and one its synchronous standby.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), ProcessError> {
        self.run("wait", &[&timeout.as_secs().max(1).to_string()])
            .map(drop)
    }

    /// Runs the script's `command` on this cluster, with `rest` after it; its standard output.
    fn run(&self, command: &str, rest: &[&str]) -> Result<String, ProcessError> {
        let output = Command::new(&self.script)
            .arg(command)
            .arg(&self.dir)
            .args(rest)
            .output()
            .map_err(|source| ProcessError::Io {
                what: "run scripts/ha-cluster.sh",
                source,
            })?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        Err(ProcessError::Cluster(format!(
            "ha-cluster.sh {command} {}: {}\n{}",
            rest.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// Opens fresh accounts at `issuers`, each in turn, until one is acknowledged or `timeout`
/// passes: the time from `since` to that first acknowledged write.
pub fn first_write(
    issuers: &[Endpoint],
    since: Instant,
    timeout: Duration,
) -> Result<Duration, ProcessError> {
    let mut apis: Vec<Api> = issuers.iter().map(Endpoint::api).collect();
    let currency = Currency::new("EUR")
        .map_err(|error| ProcessError::Cluster(format!("the probe's currency: {error}")))?;
    let mut last = String::from("no issuer to write to");
    for attempt in 0.. {
        if since.elapsed() >= timeout || apis.is_empty() {
            break;
        }
        let count = apis.len();
        let api = &mut apis[attempt % count];
        let key = SigningKey::generate(&mut rand::rng());
        let opening = Signed::sign(
            OpenAccountRequest {
                account: AccountId(rand::random()),
                public_key: *key.verifying_key(),
                currency,
            },
            &key,
        );
        match api.open_account(&opening) {
            Ok(_) => return Ok(since.elapsed()),
            Err(error) => last = error.to_string(),
        }
        std::thread::sleep(PROBE_EVERY);
    }
    Err(ProcessError::Cluster(format!(
        "no write acknowledged within {timeout:?} of the primary's kill; the last answer: {last}"
    )))
}
