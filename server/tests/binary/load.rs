//! `semper-load` against the `semper` binary: a short closed-loop and a short open-loop load on
//! the embedded default, through the load tester's library entry point, with double spends and
//! replays in the mix; every invariant it checks at the end must hold.

use std::time::Duration;

use semper_loadtest::target::{Endpoint, Targets};
use semper_loadtest::{LoadConfig, Mode, run};

use super::process;
use super::{TOKEN, TempDir, overrides};

#[test]
fn a_short_load_on_the_embedded_default_keeps_every_invariant() {
    let dir = TempDir::new("load");
    let semper = process::start(&[], &overrides(&dir.0), &dir.0);
    for mode in [
        Mode::Closed { workers: 2 },
        Mode::Open {
            rate_per_s: 20.0,
            workers: 8,
        },
    ] {
        let mut config = LoadConfig::new(Targets::single(Endpoint::new(
            semper.http,
            Some(TOKEN.into()),
        )));
        config.mode = mode;
        config.duration = Some(Duration::from_secs(3));
        config.settle_interval = Some(Duration::from_secs(1));
        config.settle_wait = Duration::from_millis(500);
        let report = run(config).unwrap();
        assert!(report.total.ops > 0, "{}", report.summary());
        assert!(report.ok(), "{}", report.summary());
    }
    let (status, _) = process::terminate(semper);
    assert!(status.success());
}
