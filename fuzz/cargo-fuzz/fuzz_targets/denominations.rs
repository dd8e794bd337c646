//! `semper_fuzz::denominations` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::denominations(data));
