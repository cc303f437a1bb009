//! The `rlvr` command line: parses arguments and hands them to [`rlvr::cli::run`].

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: judging a math pair allocates and frees many small nodes
/// (tokens, AST, big integers) on rayon worker threads, where glibc's per-arena `free` was a fifth of
/// all instructions.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
