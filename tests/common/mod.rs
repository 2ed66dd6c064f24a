//! What the end-to-end tests share: running the real binary in a private home.

#![allow(dead_code)] // each test file uses a different part

use std::path::Path;
use std::process::{Command, Output};

/// The real binary, with the user's own data and config dirs kept out of it.
pub fn cmd(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_casewatch"));
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("CASEWATCH_DB");
    c
}

/// Runs casewatch with `args` and waits for it.
pub fn casewatch(args: &[&str], home: &Path) -> Output {
    cmd(home).args(args).output().expect("run casewatch")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
