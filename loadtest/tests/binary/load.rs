//! `semper-load` against the `semper` binary: a short closed-loop and a short open-loop load on
//! the embedded default, its issuer charging withdraw and deposit fees, through the load
//! tester's library entry point, with double spends, replays and refunds in the mix; every
//! invariant it checks at the end must hold.

use std::time::Duration;

use semper_loadtest::deployment::{EMBEDDED_COIN, fee_override};
use semper_loadtest::target::{Endpoint, Targets};
use semper_loadtest::workload::{Mix, Stock};
use semper_loadtest::{LoadConfig, Mode, run};

use super::process;
use super::{TOKEN, TempDir, overrides};

#[test]
fn a_short_load_on_the_embedded_default_keeps_every_invariant() {
    let dir = TempDir::new("load");
    let mut env = overrides(&dir.0);
    env.extend(fee_override(EMBEDDED_COIN));
    let semper = process::start(&[], &env, &dir.0);
    for (closed, mode) in [true, false].into_iter().zip([
        Mode::Closed { workers: 2 },
        Mode::Open {
            rate_per_s: 20.0,
            workers: 8,
        },
    ]) {
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
        let books = &report.books;
        // The fees were charged, and counted by the invariants that just held.
        assert!(books.accepted.iter().all(|c| c.deposit_fee_minor > 0));
        assert!(books.wallets.iter().any(|w| w.withdraw_fees_minor > 0));
        if closed {
            assert!(!books.refunds.is_empty(), "{}", report.summary());
        }
    }
    let (status, _) = process::terminate(semper);
    assert!(status.success());
}

/// Wallets funded for two withdrawals each, withdrawing half the time: each runs dry again and
/// again and is topped up by the operator. The soak of issue 19 refused every top-up
/// `credit.bad_reference` (its reference was over the API's 64 bytes), and every withdrawal
/// after it failed.
#[test]
fn wallets_that_run_dry_are_topped_up_and_keep_withdrawing() {
    let dir = TempDir::new("load-top-up");
    let semper = process::start(&[], &overrides(&dir.0), &dir.0);
    let mut config = LoadConfig::new(Targets::single(Endpoint::new(
        semper.http,
        Some(TOKEN.into()),
    )));
    config.mode = Mode::Closed { workers: 2 };
    config.workload.wallets = 2;
    config.workload.funding_withdrawals = 2;
    config.workload.mix = Mix {
        withdraw: 0.5,
        double_spend: 0.0,
        replay: 0.1,
        refund: 0.0,
        swap: 0.0,
        recoup: 0.0,
    };
    config.duration = Some(Duration::from_secs(3));
    config.settle_wait = Duration::from_millis(500);
    let per_funding = 2 * config.workload.coins_per_withdraw as u64;
    let report = run(config).unwrap();
    assert!(report.ok(), "{}", report.summary());
    assert!(
        report
            .books
            .wallets
            .iter()
            .any(|w| w.withdrawn_coins > 2 * per_funding),
        "no wallet withdrew past two fundings: {}",
        report.summary()
    );
    let (status, _) = process::terminate(semper);
    assert!(status.success());
}

#[test]
fn a_stock_only_load_sends_its_stock_and_stops() {
    let dir = TempDir::new("load-stock-only");
    let semper = process::start(&[], &overrides(&dir.0), &dir.0);
    let mut config = LoadConfig::new(Targets::single(Endpoint::new(
        semper.http,
        Some(TOKEN.into()),
    )));
    // Scheduled far faster than the stock lasts: the run ends when every worker has sent its
    // wallets' ready withdrawals, long before its duration, having blinded nothing on the clock.
    config.mode = Mode::Open {
        rate_per_s: 1000.0,
        workers: 3,
    };
    config.workload.wallets = 3;
    config.workload.mix = Mix {
        withdraw: 1.0,
        double_spend: 0.0,
        replay: 0.0,
        refund: 0.0,
        swap: 0.0,
        recoup: 0.0,
    };
    config.workload.stock = Stock {
        payments: 0,
        withdrawals: 2,
        only: true,
    };
    config.duration = Some(Duration::from_secs(60));
    config.settle_interval = None;
    config.settle_wait = Duration::from_millis(500);
    let report = run(config).unwrap();
    assert_eq!(report.total.ops, 6, "{}", report.summary());
    assert!(report.elapsed_s < 30.0, "{}", report.summary());
    assert!(report.ok(), "{}", report.summary());
    let (status, _) = process::terminate(semper);
    assert!(status.success());
}
