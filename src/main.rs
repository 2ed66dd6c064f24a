//! The `casewatch` command: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
