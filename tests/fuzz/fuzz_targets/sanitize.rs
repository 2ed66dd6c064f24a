//! Arbitrary text through the terminal sanitiser. The checks are `casewatch::fuzzcheck::sanitize`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casewatch::fuzzcheck::sanitize(data));
