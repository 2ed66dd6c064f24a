//! Arbitrary bytes as a user's rules file. The checks are `casewatch::fuzzcheck::rules_parser`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casewatch::fuzzcheck::rules_parser(data));
