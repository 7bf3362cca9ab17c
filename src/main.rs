//! `stackhook`: admission webhook, controller and CLI for DataOS-style Stacks.

use std::process::ExitCode;

use clap::Parser as _;
use stackhook::cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_UNUSABLE)
        }
    }
}
