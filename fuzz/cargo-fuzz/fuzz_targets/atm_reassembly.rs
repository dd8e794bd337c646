//! `semper_fuzz::atm_reassembly` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semper_fuzz::atm_reassembly(data));
