//! A PostgreSQL server of a test: its own cluster in a temp dir (`initdb`, `pg_ctl`), on
//! 127.0.0.1 and a free port, trusting loopback connections, stopped on drop. Only `std`: the
//! server's tests include this file too (`#[path]`), so there is one way to start one.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// PostgreSQL 15's programs, as Debian installs them.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running PostgreSQL server of this test. Stopped (by its PID if need be) on drop.
pub struct PgServer {
    dir: PathBuf,
    port: u16,
    databases: AtomicU64,
}

impl PgServer {
    /// Creates a cluster in a fresh temp dir and starts it.
    pub fn start() -> Self {
        assert!(
            Path::new(PG_BIN).join("initdb").exists(),
            "PostgreSQL 15 is not installed ({PG_BIN}/initdb is missing): \
             run scripts/install-deps.sh postgresql (scripts/test.sh does)"
        );
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "semper-postgres-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if current_uid() == 0 {
            // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown of {dir:?} to postgres failed");
        }
        let server = Self {
            dir,
            port: free_port(),
            databases: AtomicU64::new(0),
        };
        let data = path_text(&server.data());
        let output = server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(output.status.success(), "initdb: {output:?}");
        server.resume();
        server
    }

    /// Starts the server (again), and waits until it takes connections.
    pub fn resume(&self) {
        let options = format!(
            "-k {} -c listen_addresses=127.0.0.1 -p {}",
            path_text(&self.dir),
            self.port
        );
        let log = path_text(&self.dir.join("server.log"));
        let data = path_text(&self.data());
        let output = self.run(
            "pg_ctl",
            &[
                "start", "-w", "-t", "15", "-D", &data, "-l", &log, "-o", &options,
            ],
        );
        assert!(
            output.status.success(),
            "pg_ctl start: {output:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server in `mode` (`fast`: open sessions are ended, a checkpoint written;
    /// `immediate`: a crash, recovered from the WAL at the next start); whether it stopped.
    pub fn stop(&self, mode: &str) -> bool {
        let data = path_text(&self.data());
        self.run(
            "pg_ctl",
            &["stop", "-m", mode, "-w", "-t", "10", "-D", &data],
        )
        .status
        .success()
    }

    /// The connection string of the `postgres` database, as its superuser.
    pub fn base_conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5",
            self.port
        )
    }

    /// Runs `sql` in the `postgres` database (through `psql`, which stops at the first error).
    pub fn execute(&self, sql: &str) {
        let port = self.port.to_string();
        let output = self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        );
        assert!(output.status.success(), "psql {sql}: {output:?}");
    }

    /// A new, empty place for one case's tables: a schema of its own, named by the connection
    /// string's `search_path` (as separate as a database here, and no copy of the template
    /// database for the server's checkpoints to write).
    pub fn new_database(&self) -> String {
        let name = format!("case{}", self.databases.fetch_add(1, Ordering::Relaxed));
        self.execute(&format!("CREATE SCHEMA {name}"));
        format!("{} options='-c search_path={name}'", self.base_conninfo())
    }

    /// A new, empty database (for stores opened by role, each in its own schema there).
    pub fn create_database(&self, name: &str) -> String {
        self.execute(&format!("CREATE DATABASE {name}"));
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={name} connect_timeout=5",
            self.port
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of PostgreSQL's programs, as the postgres user when this test runs as root.
    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let program = Path::new(PG_BIN).join(program);
        let mut command = if current_uid() == 0 {
            let mut command = Command::new("setpriv");
            command.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
            command.arg(program);
            command
        } else {
            Command::new(program)
        };
        command.args(args).output().unwrap()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if !self.stop("fast") {
            // The postmaster's PID is the first line of postmaster.pid.
            let pid = std::fs::read_to_string(self.data().join("postmaster.pid"))
                .ok()
                .and_then(|text| text.lines().next().map(str::to_owned));
            if let Some(pid) = pid {
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// This process's user id, from `id -u` (no libc binding needed for one number).
fn current_uid() -> u32 {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn path_text(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// A port free on 127.0.0.1 now: the first free one of `SEMPER_TEST_PORTS` (`first-last`) when
/// set, so that engineers sharing a machine keep to their own ranges, else the OS's pick.
fn free_port() -> u16 {
    let range = std::env::var("SEMPER_TEST_PORTS").ok().and_then(|text| {
        let (first, last) = text.split_once('-')?;
        Some(first.trim().parse::<u16>().ok()?..=last.trim().parse::<u16>().ok()?)
    });
    let bindable = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    if let Some(ports) = range {
        // Servers started at once in one process (or by two processes) start looking at
        // different places, so that they rarely pick the same port.
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let ports: Vec<u16> = ports.collect();
        let salt = std::process::id() as usize
            + 97 * STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as usize;
        let start = salt % ports.len().max(1);
        let rotated = ports[start..].iter().chain(&ports[..start]);
        if let Some(port) = rotated.copied().find(|port| bindable(*port)) {
            return port;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
