//! A three-node Patroni cluster of a test's own, in a temp dir: `scripts/ha-cluster.sh` does the
//! work (one way to start one, for people and tests alike); this is its handle, which stops
//! everything on drop, also when the test panics.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How many ports a cluster takes from its base (see `scripts/ha-cluster.sh`).
const PORTS_PER_CLUSTER: u16 = 12;
/// Where a cluster looks for free ports when `SEMPER_HA_PORT_BASE` does not say.
const FREE_PORT_SEARCH: std::ops::Range<u16> = 40_000..60_000;

/// The programs a cluster needs, as Debian installs them (postgresql, etcd-server, patroni).
const PROGRAMS: &[&str] = &[
    "/usr/lib/postgresql/15/bin/postgres",
    "/usr/bin/etcd",
    "/usr/bin/etcdctl",
    "/usr/bin/patroni",
    "/usr/bin/patronictl",
];

/// A running cluster: three etcd members and three PostgreSQL nodes, one the primary and one its
/// synchronous standby. Stopped (every process, by PID) and removed on drop.
pub struct Cluster {
    dir: PathBuf,
    script: PathBuf,
}

/// Why a cluster could not be used.
#[derive(Debug)]
pub struct ClusterError(pub String);

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClusterError {}

impl Cluster {
    /// The programs a cluster needs that are missing here (empty when it can start).
    pub fn missing_programs() -> Vec<&'static str> {
        PROGRAMS
            .iter()
            .copied()
            .filter(|program| !Path::new(program).exists())
            .collect()
    }

    /// Starts a cluster in a fresh temp dir, on the ports from `SEMPER_HA_PORT_BASE` when set,
    /// else on a block of free ones; returns once a Leader has a Sync Standby.
    pub fn start(name: &str) -> Result<Self, ClusterError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "semper-ha-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|error| ClusterError(format!("create {}: {error}", dir.display())))?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ha-cluster.sh");
        // From here on, drop stops whatever the script got to start.
        let cluster = Self { dir, script };
        let base = match std::env::var("SEMPER_HA_PORT_BASE") {
            Ok(text) => text
                .parse::<u16>()
                .map_err(|_| ClusterError(format!("SEMPER_HA_PORT_BASE={text}: not a port")))?,
            Err(_) => free_port_block()?,
        };
        cluster.run(&["start", &path_text(&cluster.dir), &base.to_string()])?;
        Ok(cluster)
    }

    /// The libpq string that reaches whichever node is primary (multi-host,
    /// `target_session_attrs=read-write`).
    pub fn conninfo(&self) -> Result<String, ClusterError> {
        self.read("conninfo")
    }

    /// Node `node`'s (1-3) own libpq string, to read what a standby holds.
    pub fn node_conninfo(&self, node: u8) -> Result<String, ClusterError> {
        self.read(&format!("conninfo-node{node}"))
    }

    /// Kills the primary's postmaster with SIGKILL; returns the node it was on.
    pub fn kill_primary(&self) -> Result<u8, ClusterError> {
        let primary = self.run(&["primary", &path_text(&self.dir)])?;
        let mut fields = primary.split_whitespace();
        let node = fields.next().and_then(|text| text.parse::<u8>().ok());
        let pid = fields.next().and_then(|text| text.parse::<u32>().ok());
        let (Some(node), Some(pid)) = (node, pid) else {
            return Err(ClusterError(format!("no primary postmaster: {primary:?}")));
        };
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .map_err(|error| ClusterError(format!("kill: {error}")))?;
        if !status.success() {
            return Err(ClusterError(format!("kill -KILL {pid} failed")));
        }
        Ok(node)
    }

    /// Waits (at most `timeout`) until all three nodes run again on one timeline, caught up,
    /// one the Leader and one its Sync Standby.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        self.run(&[
            "wait",
            &path_text(&self.dir),
            &timeout.as_secs().max(1).to_string(),
        ])
        .map(drop)
    }

    /// `patronictl list`, for reports.
    pub fn status(&self) -> String {
        self.run(&["status", &path_text(&self.dir)])
            .unwrap_or_else(|error| error.0)
    }

    fn read(&self, file: &str) -> Result<String, ClusterError> {
        std::fs::read_to_string(self.dir.join(file))
            .map(|text| text.trim().to_owned())
            .map_err(|error| ClusterError(format!("read {file}: {error}")))
    }

    /// Runs the script; its standard output, or an error with its standard error.
    fn run(&self, args: &[&str]) -> Result<String, ClusterError> {
        let output = Command::new(&self.script)
            .args(args)
            .output()
            .map_err(|error| ClusterError(format!("{}: {error}", self.script.display())))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(ClusterError(format!(
                "ha-cluster.sh {}: {}\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )))
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(error) = self.run(&["stop", &path_text(&self.dir)]) {
            eprintln!("stopping the cluster in {}: {error}", self.dir.display());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The first base port whose whole block binds on 127.0.0.1 now, from a random start.
fn free_port_block() -> Result<u16, ClusterError> {
    let span = FREE_PORT_SEARCH.end - FREE_PORT_SEARCH.start;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id();
    let blocks = span / PORTS_PER_CLUSTER;
    for attempt in 0..blocks {
        let block = (seed as u16).wrapping_add(attempt) % blocks;
        let base = FREE_PORT_SEARCH.start + block * PORTS_PER_CLUSTER;
        let free = (base..base + PORTS_PER_CLUSTER)
            .all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if free {
            return Ok(base);
        }
    }
    Err(ClusterError("no free block of ports".into()))
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
