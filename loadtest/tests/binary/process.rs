//! The `semper` binary of this build as a child process ([`ServerProcess`], shared with the
//! benchmarks and the crash-kill soak): started with environment overrides, stopped with a signal.

use std::path::{Path, PathBuf};

pub use semper_loadtest::process::ServerProcess as Process;

/// The `semper` binary to test: `$SEMPER_BIN`, or `semper` in the target directory this test
/// runs from, which `cargo test --workspace` builds (with `-p semper-loadtest` alone, build it
/// first: `cargo build -p semper-server --bin semper`).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SEMPER_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/binary-<hash> → target/<profile>/semper
    let exe = std::env::current_exe().unwrap_or_else(|error| panic!("current_exe: {error}"));
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|profile| profile.join("semper"))
        .unwrap_or_else(|| panic!("no target directory above {}", exe.display()));
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p semper-server --bin semper`, or set SEMPER_BIN",
        path.display()
    );
    path
}

/// Starts `semper run` with `args` and the environment overrides `env` in `dir`, and waits until
/// it prints its HTTP address.
pub fn start(args: &[&str], env: &[(String, String)], dir: &Path) -> Process {
    Process::start(&binary(), args, env, dir).unwrap_or_else(|error| panic!("{error}"))
}

/// Sends SIGTERM and waits for the exit: its status and everything it printed.
pub fn terminate(process: Process) -> (std::process::ExitStatus, Vec<String>) {
    process
        .terminate()
        .unwrap_or_else(|error| panic!("{error}"))
}
