//! `stackhook review`: one AdmissionReview through the exact webhook code; prints the
//! response AdmissionReview (like `kwctl run`). Exit 0 allowed, 1 denied, 2 when the
//! review cannot be read or decoded.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::engine::CatalogArgs;

use super::EXIT_UNUSABLE;
use super::engine::Loaded;
use crate::output;

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The AdmissionReview (JSON); `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
}

pub(crate) fn read_input(file: Option<&PathBuf>) -> anyhow::Result<(String, Vec<u8>)> {
    match file.filter(|f| f.as_os_str() != "-") {
        Some(path) => Ok((
            path.display().to_string(),
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            Ok(("<stdin>".into(), bytes))
        }
    }
}

impl ReviewArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self { file, catalog } = self;
        let engine = Loaded::load(catalog)?;
        let (name, body) = read_input(file.as_ref())?;
        let (response, summary) = match engine.reviewer().review(&body) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{name}: {e}");
                return Ok(ExitCode::from(EXIT_UNUSABLE));
            }
        };
        let value: serde_json::Value = serde_json::from_slice(&response)?;
        output::emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
        Ok(if summary.allowed {
            engine.exit_code()
        } else {
            engine.hint_for_denial();
            ExitCode::from(1)
        })
    }
}
