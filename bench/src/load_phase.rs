//! The load tester's phases as the end-to-end benchmarks run them (`bench-load`,
//! `bench-signer`): a config of patient clients and ready-made stock, a phase that fails loudly
//! when an invariant breaks, and the rate a report gives.

use std::time::Duration;

use anyhow::{Context, bail};
use semper_loadtest::target::Targets;
use semper_loadtest::workload::{Mix, Stock};
use semper_loadtest::{LoadConfig, LoadReport, run};

/// Coins per withdrawal and per payment.
pub const COINS_PER_REQUEST: usize = 64;
/// Attempts a patient client makes before it gives up (it should never need them all).
const PATIENT_ATTEMPTS: u32 = 10_000;
/// Withdrawals, and nothing else.
pub const WITHDRAWALS_ONLY: Mix = Mix {
    withdraw: 1.0,
    double_spend: 0.0,
    replay: 0.0,
    refund: 0.0,
    swap: 0.0,
    recoup: 0.0,
};

/// The config every phase starts from: `wallets` wallets, `mix`, `stock` made before the clock.
pub fn base_config(target: &Targets, wallets: usize, mix: Mix, stock: Stock) -> LoadConfig {
    let mut config = LoadConfig::new(target.clone());
    config.workload.wallets = wallets;
    config.workload.merchants = 8;
    config.workload.coins_per_payment = COINS_PER_REQUEST;
    config.workload.coins_per_withdraw = COINS_PER_REQUEST;
    config.workload.mix = mix;
    config.workload.stock = stock;
    config.settle_interval = None;
    config.settle_wait = Duration::from_millis(500);
    config.duration = Some(Duration::from_secs(300));
    // Patient clients: a request answered 503 (the server's coin bound, say while the stock of
    // a phase of many workers is made) is retried after its Retry-After until it is answered.
    config.retry_attempts_max = PATIENT_ATTEMPTS;
    config
}

/// Withdrawals only, closed loop: `wallets` workers, each with `per_wallet` withdrawals made
/// ready, a little less than the stock sent (so that no wallet runs dry and makes its own).
pub fn withdraw_config(target: &Targets, wallets: usize, per_wallet: usize) -> LoadConfig {
    let stock = Stock {
        payments: 0,
        withdrawals: per_wallet,
        only: false,
    };
    let mut config = base_config(target, wallets, WITHDRAWALS_ONLY, stock);
    config.mode = semper_loadtest::Mode::Closed { workers: wallets };
    config.operations = Some((wallets * per_wallet * 7 / 8) as u64);
    config
}

/// Runs one phase, prints its summary, and fails if an invariant broke.
pub fn phase(name: &str, config: LoadConfig) -> anyhow::Result<LoadReport> {
    println!("\n== {name}");
    let report = run(config)?;
    print!("{}", report.summary());
    if !report.ok() {
        bail!("{name}: an invariant broke (above)");
    }
    Ok(report)
}

/// Coins a second of `operation` in `report`.
pub fn rate_of(report: &LoadReport, operation: &str) -> anyhow::Result<f64> {
    report
        .operations
        .iter()
        .find(|op| op.op == operation)
        .map(|op| op.coins_per_s)
        .with_context(|| format!("no {operation} in the report"))
}
