//! Raw OpenSSL RSA-2048 PKCS#1 v1.5 signing and verification: what the RSA targets are ratios of.

use std::hint::black_box;

use criterion::Criterion;
use semper_bench::fixtures::RsaFixture;
use semper_bench::ids;
use semper_bench::reference::ReferenceKey;
use semper_protocol::crypto::blind_rsa::RsaKeySize;

pub fn bench(c: &mut Criterion) {
    let key = ReferenceKey::generate().expect("RSA key generation");
    // A coin message, so that both sides hash an input of the same size.
    let message = RsaFixture::generate(RsaKeySize::Bits2048).message;
    let signature = key.sign(&message).expect("reference sign");
    assert!(key.verify(&message, &signature).expect("reference verify"));

    let mut group = c.benchmark_group(ids::REFERENCE);
    group.bench_function(ids::REFERENCE_SIGN.function, |b| {
        b.iter(|| key.sign(black_box(&message)))
    });
    group.bench_function(ids::REFERENCE_VERIFY.function, |b| {
        b.iter(|| key.verify(black_box(&message), black_box(&signature)))
    });
    group.finish();
}
