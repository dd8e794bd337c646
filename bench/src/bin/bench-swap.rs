//! `bench-swap`: swaps (change at the issuer) end to end over HTTP against withdrawals plus
//! deposits of the same coins, in one run (`make bench-swap`; see BENCHMARKS.md).
//!
//! It starts `semper run` (the release binary beside this one: the embedded default, durable
//! writes) on loopback ports with a fresh `data/` ([`semper_bench::embedded`]), then runs
//! `semper_loadtest::swap_rate::measure`: in each round every worker withdraws N coins then
//! deposits the same N coins (the reference, two timed phases), and swaps N coins it holds for N
//! fresh ones (timed), each request of `--per-request` coins, signed and blinded before its
//! clock starts. Every answer is checked (fresh coins verify under their denomination's key,
//! deposits accepted and credited), and every coin swapped in is then refused as spent, with the
//! swap as proof. It prints the rates and the ratio.
//!
//! ```sh
//! bench-swap [--workers 8] [--coins 250] [--per-request 1] [--rounds 2] [--port-base 0]
//! ```

use semper_bench::embedded::{PATIENT_ATTEMPTS, parse_counts, print_phases, with_embedded};
use semper_loadtest::swap_rate::{SwapRateConfig, measure};

fn main() -> anyhow::Result<()> {
    let (mut workers, mut coins, mut per_request, mut rounds, mut port_base) = (8, 250, 1, 2, 0);
    parse_counts(
        std::env::args().skip(1),
        &mut [
            ("--workers", &mut workers),
            ("--coins", &mut coins),
            ("--per-request", &mut per_request),
            ("--rounds", &mut rounds),
            ("--port-base", &mut port_base),
        ],
        "bench-swap [--workers N] [--coins N] [--per-request N] [--rounds N] [--port-base PORT]",
    )?;
    let rate = with_embedded("bench-swap", port_base, |targets| {
        println!(
            "{workers} workers, {coins} coins each a round, {per_request} a request, {rounds} \
             rounds: withdrawn then deposited (the reference), and swapped"
        );
        Ok(measure(&SwapRateConfig {
            targets,
            workers,
            coins_per_worker: coins,
            coins_per_request: per_request,
            rounds,
            retry_attempts_max: PATIENT_ATTEMPTS,
        })?)
    })?;
    print_phases(&[
        ("reference, 1/2: withdrawals", &rate.withdrawals),
        ("reference, 2/2: deposits of the same coins", &rate.deposits),
        (
            "swaps of as many coins, for as many fresh ones",
            &rate.swaps,
        ),
    ]);
    println!(
        "\nreference (withdraw + deposit): {:.0} coins/s; swaps: {:.0} coins/s",
        rate.reference_coins_per_s, rate.swaps.coins_per_s
    );
    println!(
        "swaps / (withdrawals + deposits) of the same coins: {:.2}",
        rate.ratio
    );
    println!(
        "{} coins swapped in, each then refused as spent with the swap as proof",
        rate.refused_again
    );
    Ok(())
}
