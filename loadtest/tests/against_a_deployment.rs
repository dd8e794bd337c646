//! A short load against a running deployment, through the library entry point. It runs only when
//! `SEMPER_LOAD_URL` names one (all roles at that URL, e.g. the embedded default), with its
//! operator token in `SEMPER_LOAD_TOKEN`; otherwise it passes without doing anything.

use std::net::ToSocketAddrs;
use std::time::Duration;

use semper_loadtest::target::{Endpoint, Targets};
use semper_loadtest::{LoadConfig, Mode, run};

#[test]
fn a_short_load_keeps_every_invariant() {
    let Ok(url) = std::env::var("SEMPER_LOAD_URL") else {
        eprintln!("SEMPER_LOAD_URL not set: nothing to load");
        return;
    };
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let addr = authority.to_socket_addrs().unwrap().next().unwrap();
    let token = std::env::var("SEMPER_LOAD_TOKEN").ok();
    let mut config = LoadConfig::new(Targets::single(Endpoint::new(addr, token)));
    config.mode = Mode::Closed { workers: 2 };
    config.duration = Some(Duration::from_secs(3));
    config.settle_interval = Some(Duration::from_secs(1));
    config.settle_wait = Duration::from_millis(500);
    let report = run(config).unwrap();
    print!("{}", report.summary());
    assert!(report.total.ops > 0);
    assert!(report.ok(), "{}", report.summary());
}
