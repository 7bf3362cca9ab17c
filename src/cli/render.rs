//! `stackhook render`: every object the controller applies for each workload — its
//! immutable ConfigMap `{Name}-{Type}{Stamp}` and its Deployment / Service / Ingress /
//! Job / CronJob (every DAG step) or `resourceTemplate` object.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::engine::CatalogArgs;
use stackhook_core::model::{Parsed, Resource};
use stackhook_core::orchestrate::{self, OrchestrateSettings};

use super::engine::Loaded;
use super::stdin_if_empty;
use crate::load::{self, LoadErrors};
use crate::output;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Workloads to render (files or directories; `-` reads stdin). Default: every
    /// workload in the catalog.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Domain suffix of Ingress hosts (`<name>.<namespace>.<suffix>`).
    #[arg(long, default_value = "example.com")]
    ingress_domain_suffix: String,
    /// Check `resourceTemplate` kinds against the controller's allow-list
    /// (`Kind.group`, as `--resource-template-kinds` of `serve`/`controller`);
    /// default: not checked.
    #[arg(long, value_delimiter = ',', value_name = "KIND")]
    resource_template_kinds: Option<Vec<String>>,
}

impl RenderArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            paths,
            catalog,
            ingress_domain_suffix,
            resource_template_kinds,
        } = self;
        let defaults = &OrchestrateSettings {
            ingress_domain_suffix: ingress_domain_suffix.clone(),
            resource_kinds: resource_template_kinds.clone(),
        };
        let mut engine = Loaded::load(catalog)?;
        let mut workloads = Vec::new();
        if paths.is_empty() && !catalog.catalogs.is_empty() {
            workloads = stackhook_core::catalog::Catalog::workloads(&engine.catalog);
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
        let admission = engine.engine();
        let mut objects = Vec::new();
        let mut failed = false;
        for workload in &workloads {
            let who = format!(
                "{} {}/{}",
                workload.kind(),
                workload.namespace(),
                workload.name()
            );
            match orchestrate::plan(&admission, workload, defaults, &orchestrate::Dag::All) {
                Ok(planned) => {
                    // Rendered all the same, as the controller does; said, not silent.
                    for p in &planned.relaxed {
                        eprintln!(
                            "{who}: warning: admitted under {}, would be denied under Enforce: {}",
                            planned.enforcement,
                            p.at()
                        );
                    }
                    objects.extend(planned.objects);
                }
                Err(e) => {
                    // The problems `validate` reports, one a line.
                    match e {
                        orchestrate::OrchestrateError::Invalid(problems) => {
                            for p in problems {
                                eprintln!("{who}: {}", p.at());
                            }
                        }
                        e => eprintln!("{who}: {e}"),
                    }
                    failed = true;
                }
            }
        }
        output::emit(&output::to_yaml_stream(&objects)?)?;
        // A broken catalog file was reported when loading; the rest is rendered.
        Ok(if failed || engine.catalog_problems > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}
