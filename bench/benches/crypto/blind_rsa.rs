//! Blind RSA: the issuer's BlindSign and the coin verification, OpenSSL against pure Rust.

use std::hint::black_box;

use blind_rsa_signatures::SecretKeySha384PSSDeterministic;
use criterion::Criterion;
use semper_bench::fixtures::RsaFixture;
use semper_bench::ids;
use semper_protocol::crypto::blind_rsa::RsaKeySize;

use crate::SLOW_SAMPLES;

pub fn bench_blind_sign(c: &mut Criterion) {
    let rsa_2048 = RsaFixture::generate(RsaKeySize::Bits2048);
    let rsa_3072 = RsaFixture::generate(RsaKeySize::Bits3072);
    let der = rsa_2048.secret.to_der().expect("private key DER");
    let pure_rust = SecretKeySha384PSSDeterministic::from_der(&der).expect("pure-Rust key");
    // RSASP1 has one answer: both implementations must compute the same blind signature.
    let openssl_answer = rsa_2048
        .secret
        .blind_sign(&rsa_2048.blinded)
        .expect("OpenSSL");
    let pure_rust_answer = pure_rust
        .blind_sign(&rsa_2048.blinded.0)
        .expect("pure Rust");
    assert_eq!(openssl_answer.0, pure_rust_answer.0);

    let mut group = c.benchmark_group(ids::BLIND_SIGN);
    group.bench_function(ids::BLIND_SIGN_OPENSSL_2048.function, |b| {
        b.iter(|| rsa_2048.secret.blind_sign(black_box(&rsa_2048.blinded)))
    });
    group.sample_size(SLOW_SAMPLES);
    group.bench_function(ids::BLIND_SIGN_PURE_RUST_2048.function, |b| {
        b.iter(|| pure_rust.blind_sign(black_box(&rsa_2048.blinded.0)))
    });
    group.bench_function(ids::BLIND_SIGN_OPENSSL_3072.function, |b| {
        b.iter(|| rsa_3072.secret.blind_sign(black_box(&rsa_3072.blinded)))
    });
    group.finish();
}

pub fn bench_coin_verify(c: &mut Criterion) {
    let rsa = RsaFixture::generate(RsaKeySize::Bits2048);
    let public = rsa.secret.public_key();
    public
        .verify_pure_rust(&rsa.message, &rsa.signature)
        .expect("the coin verifies on the pure-Rust path too");
    public
        .verify_openssl_evp(&rsa.message, &rsa.signature)
        .expect("the coin verifies with OpenSSL's EVP verifier too");

    let mut group = c.benchmark_group(ids::COIN_VERIFY);
    group.bench_function(ids::COIN_VERIFY_OPENSSL_2048.function, |b| {
        b.iter(|| public.verify(black_box(&rsa.message), black_box(&rsa.signature)))
    });
    group.bench_function(ids::COIN_VERIFY_OPENSSL_EVP_2048.function, |b| {
        b.iter(|| public.verify_openssl_evp(black_box(&rsa.message), black_box(&rsa.signature)))
    });
    group.bench_function(ids::COIN_VERIFY_PURE_RUST_2048.function, |b| {
        b.iter(|| public.verify_pure_rust(black_box(&rsa.message), black_box(&rsa.signature)))
    });
    group.finish();
}
