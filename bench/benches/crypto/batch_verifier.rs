//! The deposit hot path: `BatchVerifier` on valid deposit permissions, with one and two workers.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use semper_bench::fixtures::DepositFixture;
use semper_bench::ids;
use semper_protocol::batch_verifier::BatchVerifier;

use crate::SLOW_SAMPLES;

pub fn bench(c: &mut Criterion) {
    let fixture = DepositFixture::generate(ids::BATCH_VERIFIER_COINS);

    let mut group = c.benchmark_group(ids::BATCH_VERIFIER);
    group.sample_size(SLOW_SAMPLES);
    group.throughput(Throughput::Elements(ids::BATCH_VERIFIER_COINS as u64));
    for (threads, id) in ids::BATCH_VERIFIER_RUNS {
        let verifier = BatchVerifier::new(threads).expect("verification pool");
        let verdicts = verifier.verify(&fixture.permissions, &fixture.denominations);
        assert_eq!(verdicts.len(), ids::BATCH_VERIFIER_COINS);
        for (index, verdict) in verdicts.iter().enumerate() {
            if let Err(error) = verdict {
                panic!("fixture permission {index} refused: {error}");
            }
        }
        group.bench_function(id.function, |b| {
            b.iter(|| verifier.verify(black_box(&fixture.permissions), &fixture.denominations))
        });
    }
    group.finish();
}
