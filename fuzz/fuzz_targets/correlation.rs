#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vectune_fuzz::correlation(data));
