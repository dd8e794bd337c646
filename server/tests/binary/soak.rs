//! The crash-kill soak, short: the embedded default binary under load, killed with SIGKILL at
//! random moments and restarted on its data; nothing acknowledged may be lost and every
//! invariant must hold. `make soak` runs the long one (60 kills).

use std::path::Path;
use std::time::Duration;

use semper_loadtest::soak::{SoakConfig, soak};
use semper_loadtest::target::{Endpoint, Targets};
use semper_loadtest::{LoadConfig, Mode};

use super::TempDir;

const KILLS: usize = 8;

#[test]
fn sigkills_under_load_lose_nothing_acknowledged() {
    let dir = TempDir::new("soak");
    let mut load = LoadConfig::new(Targets::single(Endpoint::new(
        "127.0.0.1:1".parse().unwrap(),
        None,
    )));
    load.mode = Mode::Closed { workers: 2 };
    load.workload.wallets = 4;
    load.duration = Some(Duration::from_secs(30));
    load.settle_interval = Some(Duration::from_secs(2));
    let report = soak(SoakConfig {
        binary: Path::new(env!("CARGO_BIN_EXE_semper")).to_owned(),
        dir: dir.0.clone(),
        kills: KILLS,
        up: (Duration::from_millis(200), Duration::from_millis(1200)),
        restart_allowance: Duration::from_secs(3),
        load,
    })
    .unwrap();
    assert!(report.ok(KILLS), "{}", report.summary());
    assert!(report.load.total.ops > 0, "{}", report.summary());
}
