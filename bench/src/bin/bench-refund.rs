//! `bench-refund`: merchants' refunds end to end over HTTP against deposits of the same coins,
//! in one run (`make bench-refund`; see BENCHMARKS.md).
//!
//! It starts `semper run` (the release binary beside this one: the embedded default, durable
//! writes) on loopback ports with a fresh `data/` ([`semper_bench::embedded`]), then runs
//! `semper_loadtest::refund_rate::measure`: each worker's wallet withdraws its coins and its
//! merchant signs a deposit of each (one coin a request) before the clock starts; the deposits
//! are sent, timed (the reference); the merchants sign the refund of each coin; the refunds are
//! sent, timed. Every answer and every merchant's final balance are checked. It prints both
//! rates and their ratio.
//!
//! ```sh
//! bench-refund [--workers 8] [--coins 500] [--rounds 2] [--port-base 0]
//! ```

use semper_bench::embedded::{PATIENT_ATTEMPTS, parse_counts, print_phases, with_embedded};
use semper_loadtest::refund_rate::{RefundRateConfig, measure};

fn main() -> anyhow::Result<()> {
    let (mut workers, mut coins, mut rounds, mut port_base) = (8, 500, 2, 0);
    parse_counts(
        std::env::args().skip(1),
        &mut [
            ("--workers", &mut workers),
            ("--coins", &mut coins),
            ("--rounds", &mut rounds),
            ("--port-base", &mut port_base),
        ],
        "bench-refund [--workers N] [--coins N] [--rounds N] [--port-base PORT]",
    )?;
    let rate = with_embedded("bench-refund", port_base, |targets| {
        println!(
            "{workers} workers, {coins} coins each a round, {rounds} rounds: every coin \
             deposited alone, then refunded alone"
        );
        Ok(measure(&RefundRateConfig {
            targets,
            workers,
            coins_per_worker: coins,
            rounds,
            retry_attempts_max: PATIENT_ATTEMPTS,
        })?)
    })?;
    print_phases(&[
        ("reference: deposits, end to end over HTTP", &rate.deposits),
        (
            "refunds of the same coins, end to end over HTTP",
            &rate.refunds,
        ),
    ]);
    println!("\nrefunds / deposits of the same coins: {:.2}", rate.ratio);
    Ok(())
}
