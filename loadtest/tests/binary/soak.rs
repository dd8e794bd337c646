//! The crash-kill soak, short: the embedded default binary, then the five banks of the
//! multi-bank example, under load (the default mix, refunds, swaps and recoups in it, issuers
//! charging fees and revoking a denomination for the recoups), one
//! process killed with SIGKILL at random moments and restarted on its data; nothing
//! acknowledged may be lost and every invariant must hold. `make soak` runs the long one (60
//! kills).

use std::time::Duration;

use semper_loadtest::multibank::Carrier;
use semper_loadtest::soak::{SoakConfig, SoakReport, Topology, soak};
use semper_loadtest::target::{Endpoint, Targets};
use semper_loadtest::{LoadConfig, Mode};

use super::TempDir;

#[test]
fn sigkills_under_load_lose_nothing_acknowledged() {
    let kills = 8;
    let report = short_soak(Topology::Embedded, kills, Duration::from_secs(30));
    assert!(report.ok(kills, 0), "{}", report.summary());
    assert!(report.load.total.ops > 0, "{}", report.summary());
    assert_refunds_ran(&report);
    assert_swaps_and_recoups_ran(&report);
}

#[test]
fn sigkills_of_any_of_five_banks_under_load_lose_nothing_acknowledged() {
    let kills = 5;
    let report = short_soak(
        Topology::MultiBank(Carrier::Quic),
        kills,
        Duration::from_secs(25),
    );
    assert!(report.ok(kills, 0), "{}", report.summary());
    assert!(report.load.total.ops > 0, "{}", report.summary());
    assert_refunds_ran(&report);
    assert_swaps_and_recoups_ran(&report);
}

/// The mix's swaps were signed with their swap fees, and its recoups credited.
fn assert_swaps_and_recoups_ran(report: &SoakReport) {
    let books = &report.load.books;
    assert!(!books.swaps.is_empty(), "{}", report.summary());
    assert!(
        books
            .swaps
            .iter()
            .all(|swap| swap.inputs.iter().all(|coin| coin.fee_minor > 0)),
        "{}",
        report.summary()
    );
    assert!(!books.revoked.is_empty(), "{}", report.summary());
    assert!(!books.recoups.is_empty(), "{}", report.summary());
}

/// The mix's refunds ran and were debited, and the fees were charged and counted.
fn assert_refunds_ran(report: &SoakReport) {
    let books = &report.load.books;
    assert!(!books.refunds.is_empty(), "{}", report.summary());
    assert!(books.refunds_refused_over_paid > 0, "{}", report.summary());
    assert!(books.refunds_refused_late > 0, "{}", report.summary());
    assert!(
        books.accepted.iter().all(|coin| coin.deposit_fee_minor > 0),
        "{}",
        report.summary()
    );
    assert!(
        books
            .wallets
            .iter()
            .all(|w| w.withdrawn_coins == 0 || w.withdraw_fees_minor > 0),
        "{}",
        report.summary()
    );
}

/// A soak of `topology` with `kills` kills in a load of `duration`: 2 workers, 4 wallets.
fn short_soak(topology: Topology, kills: usize, duration: Duration) -> SoakReport {
    let dir = TempDir::new("soak");
    let mut load = LoadConfig::new(Targets::single(Endpoint::new(
        "127.0.0.1:1".parse().unwrap(),
        None,
    )));
    load.mode = Mode::Closed { workers: 2 };
    load.workload.wallets = 4;
    load.duration = Some(duration);
    load.settle_interval = Some(Duration::from_secs(2));
    soak(SoakConfig {
        binary: super::process::binary(),
        dir: dir.0.clone(),
        topology,
        kills,
        primary_kills: 0,
        up: (Duration::from_millis(200), Duration::from_millis(1200)),
        restart_allowance: Duration::from_secs(3),
        fees: true,
        load,
    })
    .unwrap()
}
