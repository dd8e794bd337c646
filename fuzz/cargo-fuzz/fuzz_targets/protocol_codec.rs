//! `semper_fuzz::protocol_codec` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::protocol_codec(data));
