//! What the server's test binaries share: a temporary directory, the time now, and what an honest
//! deposit's answer must be. Each includes
//! this file with `#[path = "../support/mod.rs"] mod support;`, and so do the load tester's
//! `tests/binary` (with the path from there).

use std::path::PathBuf;

use semper_actors::clock::{Clock, SystemClock};
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::time::Timestamp;

/// A new, empty directory of its own, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty directory of its own under the system's temporary directory.
    pub fn new(name: &str) -> Self {
        let dir = Self(std::env::temp_dir().join(format!(
            "semper-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        )));
        std::fs::create_dir_all(&dir.0).unwrap();
        dir
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The time now, as the banks read it.
pub fn now() -> Timestamp {
    SystemClock.now()
}

/// Whether every coin of a deposit was accepted, as every coin of an honest one must be.
pub fn all_accepted(results: &[DepositResult]) -> bool {
    results
        .iter()
        .all(|result| matches!(result, DepositResult::Accepted))
}
