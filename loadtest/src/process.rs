//! A `semper run` child process to load: started with environment overrides, its HTTP address
//! read from what it prints, its memory read from `/proc`, stopped with SIGTERM or killed with
//! SIGKILL. The benchmarks and the crash-kill soak start the server this way.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest a process may take to start or to stop.
pub const PROCESS_WAIT: Duration = Duration::from_secs(60);

/// Why a server process could not be started, read or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Spawning, signalling or waiting failed.
    #[error("{what}: {source}")]
    Io {
        /// The step.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// It did not print what was waited for in time (or exited first).
    #[error("semper never printed {needle:?}; it printed:\n{output}")]
    NeverPrinted {
        /// What was waited for.
        needle: String,
        /// What it printed.
        output: String,
    },
    /// It did not stop in time after SIGTERM.
    #[error("semper did not stop within {0:?} of SIGTERM")]
    DidNotStop(Duration),
    /// The replicated deployment's PostgreSQL cluster did not do what the soak asked of it.
    #[error("the database cluster: {0}")]
    Cluster(String),
    /// A one-shot command (e.g. `semper keys`) exited with a failure.
    #[error("semper {command} failed ({status}):\n{output}")]
    Failed {
        /// The command, and for which node.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// What it printed.
        output: String,
    },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> ProcessError {
    move |source| ProcessError::Io { what, source }
}

/// A running `semper run`.
pub struct ServerProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Everything it printed on stdout so far.
    pub output: Vec<String>,
    /// Where its HTTP API listens.
    pub http: SocketAddr,
}

/// The server's memory, from `/proc/PID/status`, KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss_kib: u64,
    /// The most resident so far (`VmHWM`).
    pub peak_kib: u64,
}

impl ServerProcess {
    /// Starts `binary run` with `args` and the environment overrides `env` in `dir`, and waits
    /// until it prints its HTTP address.
    pub fn start(
        binary: &Path,
        args: &[&str],
        env: &[(String, String)],
        dir: &Path,
    ) -> Result<Self, ProcessError> {
        let mut command = Command::new(binary);
        command
            .arg("run")
            .args(args)
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().map_err(io("start semper"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io("read semper's stdout")(std::io::ErrorKind::BrokenPipe.into()))?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Self {
            child,
            lines,
            output: Vec::new(),
            http: SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        let line = process.wait_for_line("HTTP API:")?;
        // "HTTP API:       http://127.0.0.1:8080  (plain text, no TLS)", or https.
        process.http = line
            .split_whitespace()
            .find_map(|word| word.split_once("://")?.1.parse().ok())
            .ok_or_else(|| ProcessError::NeverPrinted {
                needle: "an HTTP address after \"HTTP API:\"".into(),
                output: line.clone(),
            })?;
        Ok(process)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its memory now; zeros when `/proc` cannot tell.
    pub fn memory(&self) -> Memory {
        memory_of(self.pid())
    }

    /// Waits for a printed line containing `needle`, and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> Result<String, ProcessError> {
        let deadline = Instant::now() + PROCESS_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.output.push(line.clone());
                    if line.contains(needle) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    return Err(ProcessError::NeverPrinted {
                        needle: needle.into(),
                        output: self.output.join("\n"),
                    });
                }
            }
        }
    }

    /// Kills it with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus, ProcessError> {
        self.child.kill().map_err(io("SIGKILL semper"))?;
        self.child.wait().map_err(io("wait for semper"))
    }

    /// Sends SIGTERM and waits for the exit: its status and everything it printed.
    pub fn terminate(mut self) -> Result<(ExitStatus, Vec<String>), ProcessError> {
        let pid = libc::pid_t::try_from(self.child.id())
            .map_err(|_| io("SIGTERM semper")(std::io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(io("SIGTERM semper")(std::io::Error::last_os_error()));
        }
        let deadline = Instant::now() + PROCESS_WAIT;
        loop {
            if let Some(status) = self.child.try_wait().map_err(io("wait for semper"))? {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.output.push(line);
                }
                return Ok((status, std::mem::take(&mut self.output)));
            }
            if Instant::now() >= deadline {
                return Err(ProcessError::DidNotStop(PROCESS_WAIT));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The memory of process `pid` now, from `/proc/PID/status`; zeros when it cannot tell.
pub fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment overrides that run the embedded default in `dir` on ports of its own: data in
/// `dir/data`, HTTP and links on free loopback ports, the operator token `token`, no bound per
/// client address below the server's own, and settlement only when asked for (the load cuts its
/// own cycles).
pub fn embedded_overrides(dir: &Path, token: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        (
            "SEMPER__NODE__DATA_DIR",
            dir.join("data").display().to_string(),
        ),
        ("SEMPER__HTTP__LISTEN", "127.0.0.1:0".into()),
        ("SEMPER__HTTP__OPERATOR_TOKEN", token.into()),
        // The load tester's clients all come from one address: give it the whole server's
        // connections and requests, so that the per-client bounds do not shape the load.
        ("SEMPER__HTTP__CLIENT_CONNECTIONS_MAX", "8192".into()),
        ("SEMPER__HTTP__CLIENT_REQUESTS_IN_FLIGHT_MAX", "8192".into()),
        (
            "SEMPER__BANKS__1__ACQUIRER__SUBMIT_INTERVAL_MS",
            "3600000".into(),
        ),
        ("SEMPER__BANKS__2__CLEARING__CYCLE_MAX_MS", "3600000".into()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    for bank in 0..3 {
        env.push((
            format!("SEMPER__BANKS__{bank}__LINK_LISTEN"),
            "127.0.0.1:0".into(),
        ));
    }
    env
}
