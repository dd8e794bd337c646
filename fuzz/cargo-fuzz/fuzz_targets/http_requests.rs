//! `semper_fuzz::http_requests` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::http_requests(data));
