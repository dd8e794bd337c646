//! Ed25519 (ZIP-215): one signature at a time, and batches of growing size.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use semper_bench::fixtures::Ed25519Fixture;
use semper_bench::ids;
use semper_protocol::crypto::ed25519;

use crate::SLOW_SAMPLES;

/// Batches from this size on take about a millisecond or more.
const SLOW_BATCH: usize = 64;

pub fn bench(c: &mut Criterion) {
    let largest = ids::ED25519_BATCHES
        .iter()
        .map(|(n, _)| *n)
        .max()
        .unwrap_or(1);
    let fixture = Ed25519Fixture::generate(largest);
    let items = fixture.items();
    let single = items[0];
    single
        .key
        .verify(single.message, single.signature)
        .expect("fixture signature verifies");

    let mut group = c.benchmark_group(ids::ED25519);
    group.throughput(Throughput::Elements(1));
    group.bench_function(ids::ED25519_SINGLE.function, |b| {
        b.iter(|| {
            single
                .key
                .verify(black_box(single.message), black_box(single.signature))
        })
    });
    for (n, id) in ids::ED25519_BATCHES {
        let batch = &items[..n];
        assert!(
            ed25519::verify_batch(batch),
            "fixture batch of {n} verifies"
        );
        if n >= SLOW_BATCH {
            group.sample_size(SLOW_SAMPLES);
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(id.function, |b| {
            b.iter(|| ed25519::verify_batch(black_box(batch)))
        });
    }
    group.finish();
}
