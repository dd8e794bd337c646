//! `semper_fuzz::link_messages` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::link_messages(data));
