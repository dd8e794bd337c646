//! `semper_fuzz::ed25519_batch` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::ed25519_batch(data));
