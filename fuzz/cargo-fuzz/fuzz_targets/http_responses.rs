//! `semper_fuzz::http_responses` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::http_responses(data));
