//! `semper_fuzz::storage_values` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::storage_values(data));
