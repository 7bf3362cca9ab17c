//! `stackhook render`: the ConfigMap each workload gets (immutable, named
//! `{Name}-{Type}{Stamp}`), as the controller would apply it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use stackhook_core::admit::Verdict;
use stackhook_core::model::{Parsed, Resource};
use stackhook_core::render;

use super::engine::Engine;
use super::stdin_if_empty;
use crate::load::{self, LoadErrors};
use crate::output;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Workloads to render (files or directories; `-` reads stdin). Default: every
    /// workload in the catalog.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Catalogs of Stacks, Depots and workloads (files or directories).
    #[arg(long = "catalog", value_name = "DIR")]
    catalogs: Vec<PathBuf>,
}

impl RenderArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self { paths, catalogs } = self;
        let mut engine = Engine::load(catalogs)?;
        let mut workloads = Vec::new();
        if paths.is_empty() && !catalogs.is_empty() {
            workloads = stackhook_core::Catalog::workloads(&engine.catalog);
        } else {
            let mut errors = Vec::new();
            for input in load::read_inputs(&stdin_if_empty(paths))? {
                for doc in load::documents(&input)? {
                    match load::parse(&doc) {
                        Ok(Parsed::Resource(r)) => match *r {
                            Resource::Workload(w) => workloads.push(w),
                            other => {
                                let _ = engine.catalog.insert(other);
                            }
                        },
                        Ok(Parsed::Skipped { .. }) => {}
                        Err(e) => errors.push(e),
                    }
                }
            }
            if !errors.is_empty() {
                return Err(LoadErrors(errors).into());
            }
        }
        let admission = engine.admission();
        let mut objects = Vec::new();
        let mut failed = false;
        for workload in &workloads {
            for unit in render::units(workload) {
                let mut verdict = Verdict::default();
                let who = format!("{} {}/{}", workload.kind(), workload.namespace(), unit.name);
                match admission.resolve_unit(workload, unit, false, &mut verdict) {
                    Some(resolved) => match admission.config_map(workload, &resolved) {
                        Ok(cm) => objects.push(cm),
                        Err(e) => {
                            eprintln!("{who}: {e}");
                            failed = true;
                        }
                    },
                    None => {
                        for v in verdict.violations {
                            eprintln!("{who}: {v}");
                        }
                        failed = true;
                    }
                }
            }
        }
        output::emit(&output::to_yaml_stream(&objects)?)?;
        Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}
