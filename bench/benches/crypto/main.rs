//! Criterion benchmarks of semper's crypto hot paths.
//!
//! Every id is in `semper_bench::ids`; `bench-ratios` turns the results into the target ratios.
//! Each pair a ratio compares runs back to back, so that both halves see the same machine load.

mod batch_verifier;
mod blind_rsa;
mod ed25519;
mod reference;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

/// Samples for benchmarks that take a millisecond or more per iteration.
const SLOW_SAMPLES: usize = 20;

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = crypto;
    config = config();
    targets = reference::bench, blind_rsa::bench_blind_sign, blind_rsa::bench_coin_verify,
        ed25519::bench, batch_verifier::bench
}
criterion_main!(crypto);
