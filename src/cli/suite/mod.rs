//! `stackhook test`: Stack authors' test suites, like `kyverno test` and
//! helm-unittest. A suite (`stackhook-test.yaml` beside the Stack, [`format`]) names a
//! catalog and cases: workloads with the verdict they must get (the causes of a
//! denial, the warnings), and golden files of what must be rendered (every object, or
//! single config files) and of the Pod patch. Each case runs through the functions the
//! webhook and the controller call ([`run`]); a wrong expectation fails with a unified
//! diff. Exit 0 all passed, 1 some failed, 2 a suite cannot be read.

mod format;
mod report;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::EXIT_UNUSABLE;
use crate::output;
use format::{Suite, SuiteError};
use report::SuiteResult;

/// How results are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `PASS`/`FAIL` a case, a diff under each failure, then a count.
    #[default]
    Text,
    /// One JSON object: suites, their cases and failures (with diffs), counts.
    Json,
    /// JUnit XML: a test suite per suite, a test case per case.
    Junit,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Suite files, or folders searched recursively for `stackhook-test.yaml` and
    /// `*.stackhook-test.yaml`. Default: the current folder.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write the golden files (rendered objects, files, Pod patches) that differ or
    /// are missing, instead of failing on them; verdicts are still checked.
    #[arg(long)]
    update: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    format: Format,
}

impl TestArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            paths,
            update,
            format,
        } = self;
        let paths = if paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            paths.clone()
        };
        // Every suite is read before any runs: a bad suite is exit 2, not a failure
        // among the passes.
        let mut suites: Vec<Suite> = Vec::new();
        let mut errors: Vec<SuiteError> = Vec::new();
        for path in &paths {
            match format::suite_files(path) {
                Ok(files) => {
                    for file in files {
                        match format::read_suites(&file) {
                            Ok(s) => suites.extend(s),
                            Err(e) => errors.push(e),
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            for e in errors {
                eprintln!("{}", describe(e));
            }
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        }
        let results: Vec<SuiteResult<'_>> = suites
            .iter()
            .map(|suite| SuiteResult {
                suite,
                cases: run::run_suite(suite, *update),
            })
            .collect();
        let text = match format {
            Format::Text => report::text(&results),
            Format::Json => report::json(&results)?,
            Format::Junit => report::junit(&results),
        };
        output::emit(&text)?;
        let failed = results.iter().flat_map(|s| &s.cases).any(|c| !c.passed());
        Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// A suite error as one line (a catalog's, a line per problem): a load error with its
/// causes, as every command prints them.
fn describe(e: SuiteError) -> String {
    match e {
        SuiteError::Load(e) => crate::load::LoadErrors(vec![e]).to_string(),
        other => other.to_string(),
    }
}
