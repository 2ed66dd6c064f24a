//! Arbitrary bytes as a cases CSV imported into a small database. The checks are `casewatch::fuzzcheck::import_cases`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = casewatch::fuzzcheck::import_cases(data);
});
