//! A test that crashes on purpose runs in a child process: this test binary again, running only
//! one `#[ignore]`d test (the child's side), which dies where the test wants it to. Shared by the
//! storage and the actors tests (the latter include this file by path).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Starts the ignored test `name` of this binary as a child, with `envs` in its environment;
/// gives the child and a thread gathering the lines it prints, until it ends.
pub fn spawn_ignored_test(name: &str, envs: &[(&str, &OsStr)]) -> (Child, JoinHandle<Vec<String>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    (child, reader)
}

/// Runs the ignored test `name` of this binary as a child, with `dir` in the environment
/// variable `dir_var`, until it dies (it is killed, and the test fails, after `max`); returns how
/// it ended and the lines it printed.
pub fn run_until_it_dies(
    name: &str,
    dir_var: &str,
    dir: &Path,
    max: Duration,
) -> (ExitStatus, Vec<String>) {
    let (mut child, reader) = spawn_ignored_test(name, &[(dir_var, dir.as_os_str())]);
    let deadline = Instant::now() + max;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the child did not die within {max:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, reader.join().unwrap())
}

/// Holds a committer's thread for a while: what a slow shard group looks like.
#[derive(Clone)]
struct Stall(Duration);

impl semper_storage::commit::Transaction for Stall {
    type Output = ();

    fn apply(
        self,
        _: &semper_storage::commit::GroupReader<'_>,
    ) -> Result<((), semper_storage::commit::WriteSet), semper_storage::StorageError> {
        std::thread::sleep(self.0);
        Ok(((), semper_storage::commit::WriteSet::new()))
    }
}

/// In the child: holds up group 1 for `stall`, and dies (abort, no cleanup) as soon as group 0
/// has committed its part of a batch, after printing `COMMITTED <group>` for each group.
pub fn die_between_two_groups(shards: &semper_storage::spent_shards::SpentShards, stall: Duration) {
    use std::io::Write;
    shards
        .committer(1)
        .unwrap()
        .submit(Stall(stall), |_| {})
        .unwrap();
    shards.set_after_group_commit(std::sync::Arc::new(|group| {
        println!("COMMITTED {group}");
        std::io::stdout().flush().unwrap();
        if group == 0 {
            std::process::abort();
        }
    }));
}
