//! The `semper` binary of this build as a child process ([`ServerProcess`], shared with the
//! benchmarks and the crash-kill soak): started with environment overrides, stopped with a signal.

use std::path::Path;

pub use semper_loadtest::process::ServerProcess as Process;

/// Starts `semper run` with `args` and the environment overrides `env` in `dir`, and waits until
/// it prints its HTTP address.
pub fn start(args: &[&str], env: &[(String, String)], dir: &Path) -> Process {
    Process::start(Path::new(env!("CARGO_BIN_EXE_semper")), args, env, dir)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Sends SIGTERM and waits for the exit: its status and everything it printed.
pub fn terminate(process: Process) -> (std::process::ExitStatus, Vec<String>) {
    process
        .terminate()
        .unwrap_or_else(|error| panic!("{error}"))
}
