//! The `casewatch` command: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    return_large_frees_to_the_system();
    let cli = casewatch::cli::Cli::parse();
    match casewatch::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // One line, with every level of context ("what: where: why").
            eprintln!(
                "casewatch: error: {}",
                casewatch::text::sanitize(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

/// glibc raises its threshold for serving an allocation from its own heap each time a large
/// one is freed (up to 32 MiB), and memory freed inside its heap is not given back. A nightly
/// run frees lists of several megabytes as it goes (the cases read, each part's subjects,
/// last night's alerts): with the threshold held at 4 MiB, those are mapped apart and given
/// back as they are freed. A night at 1,000,000 cases peaked at 141-150 MB, and now at
/// 127-137 MB, 2% slower (BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_frees_to_the_system() {
    // SAFETY: `mallopt` only sets a tuning parameter of the C allocator, before any thread
    // is started; it takes two integers and touches no memory of ours.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_frees_to_the_system() {}
