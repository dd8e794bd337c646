//! A `semper` process under test: started with environment overrides, its HTTP address read from
//! what it prints, stopped with a signal.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest a process may take to start or to stop.
pub const PROCESS_WAIT: Duration = Duration::from_secs(60);

/// A running `semper run`.
pub struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Everything it printed so far.
    pub output: Vec<String>,
    /// Where its HTTP API listens.
    pub http: SocketAddr,
}

impl Process {
    /// Starts `semper run` with `args` and the environment overrides `env`, and waits until it
    /// prints its HTTP address.
    pub fn start(args: &[&str], env: &[(String, String)], dir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_semper"));
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
        let mut child = command.spawn().expect("semper starts");
        let stdout = child.stdout.take().expect("piped stdout");
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
        let line = process.wait_for_line("HTTP API:");
        let addr = line
            .rsplit("http://")
            .next()
            .and_then(|addr| addr.trim().parse().ok())
            .unwrap_or_else(|| panic!("no HTTP address in {line:?}"));
        process.http = addr;
        process
    }

    /// Waits for a printed line containing `needle`, and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PROCESS_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.output.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "semper never printed {needle:?}; it printed:\n{}",
                    self.output.join("\n")
                ),
            }
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill has no memory effects; the pid is our own child's.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM could not be sent");
        let deadline = Instant::now() + PROCESS_WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.output.push(line);
                }
                return (status, std::mem::take(&mut self.output));
            }
            assert!(
                Instant::now() < deadline,
                "semper did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
