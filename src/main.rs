//! `stackhook`: admission webhook, controller and CLI for DataOS-style Stacks.

use std::process::ExitCode;

use clap::Parser as _;
use stackhook::cli;

// Admission allocates many small JSON values per request; mimalloc handles that
// pattern far better than glibc's allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // ring is the one crypto provider; installing it explicitly keeps rustls from
    // guessing (and from panicking should a second provider ever be linked).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_UNUSABLE)
        }
    }
}
