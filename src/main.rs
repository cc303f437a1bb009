//! The `rlvr` command line: parses arguments and hands them to [`rlvr::cli::run`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = rlvr::cli::Args::parse();
    match rlvr::cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            if rlvr::cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rlvr: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
