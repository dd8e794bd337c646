//! `semper_fuzz::rsa_pss` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::rsa_pss(data));
