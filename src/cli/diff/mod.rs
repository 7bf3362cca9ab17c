//! `stackhook diff`: what new versions of Stacks, Depots, workloads or
//! `stackhook-config`s would do to the workloads of a catalog (files, or the live
//! cluster read once with `--kube`) before they are applied. For every workload they
//! touch: its verdict before → after with the new causes, its Stamp, and a unified diff
//! of its rendered ConfigMap and objects. Exit 0 no verdict gets worse, 1 some
//! workload would be denied, 2 unusable input.

mod compare;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::catalog::{Catalog as _, Change};
use stackhook_core::model::{self, Parsed, Resource};

use super::EXIT_UNUSABLE;
use super::engine::CatalogArgs;
use crate::load::{self, LoadError, LoadErrors};
use crate::output;
use compare::Changed;

/// How the report is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A block per touched workload (verdict, causes, Stamp, diff), then counts.
    #[default]
    Text,
    /// One JSON object: every touched workload before and after, with its diff.
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Files or folders with the new versions: Stacks, Depots, Workers, Services,
    /// Workflows, `stackhook-config` ConfigMaps (`-` reads stdin).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Read the catalog from the cluster (the kubeconfig's, read-only: one list of
    /// Stacks, Depots, workloads and `stackhook-config`s) instead of `--catalog`.
    #[arg(long, conflicts_with = "catalogs")]
    kube: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    format: Format,
}

impl DiffArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            files,
            catalog,
            kube,
            format,
        } = self;
        // With --kube, FILE's objects are placed as `kubectl apply` would place them.
        let mut cluster_namespace = None;
        let old = if *kube {
            match kube_catalog(&catalog.release_namespace)? {
                Some(snapshot) => {
                    cluster_namespace = Some(snapshot.default_namespace);
                    snapshot.catalog
                }
                None => return Ok(ExitCode::from(EXIT_UNUSABLE)),
            }
        } else {
            if catalog.catalogs.is_empty() {
                eprintln!(
                    "no catalog given: name the workloads' catalog with --catalog DIR, or read the cluster's with --kube"
                );
                return Ok(ExitCode::from(EXIT_UNUSABLE));
            }
            let (catalog, problems) = catalog.load();
            if !problems.is_empty() {
                // A catalog read in part would hide the workloads of what is missing.
                eprintln!("{}", LoadErrors(problems));
                return Ok(ExitCode::from(EXIT_UNUSABLE));
            }
            catalog
        };
        let (changes, changed) = match read_changes(files, &old, cluster_namespace.as_deref()) {
            Ok(c) => c,
            Err(errors) => {
                eprintln!("{errors}");
                return Ok(ExitCode::from(EXIT_UNUSABLE));
            }
        };
        if changed.is_empty() {
            eprintln!(
                "no input: {} holds no Stack, Depot, workload or {}",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                stackhook_core::settings::CONFIG_MAP_NAME
            );
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        }
        let mut new = old.clone();
        let applied = new.apply(changes);
        if !applied.problems.is_empty() {
            for p in &applied.problems {
                eprintln!("{p}");
            }
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        }
        let diffs = compare::compare(&old, &new, &changed);
        let text = match format {
            Format::Text => report::text(&diffs),
            Format::Json => report::json(&diffs)?,
        };
        output::emit(&text)?;
        Ok(if diffs.iter().any(compare::WorkloadDiff::newly_denied) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// The cluster's catalog, listed once; `None` (said on standard error) when it cannot
/// be listed.
fn kube_catalog(
    release_namespace: &str,
) -> anyhow::Result<Option<crate::cluster::snapshot::Snapshot>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listed = runtime.block_on(crate::cluster::snapshot::list_catalog(Some(
        release_namespace.to_owned(),
    )));
    match listed {
        Ok(snapshot) => {
            for p in &snapshot.problems {
                eprintln!("--kube: {p}");
            }
            Ok(Some(snapshot))
        }
        Err(e) => {
            // kube's own message already repeats its causes: one level of each.
            let mut line = format!("--kube: {e}");
            if let Some(source) = std::error::Error::source(&e) {
                line.push_str(&format!(": {source}"));
            }
            eprintln!("{line}");
            Ok(None)
        }
    }
}

/// The catalog changes FILE makes, and what they change; every problem of FILE (a
/// file that cannot be read, a document that is not valid) at its place. With the
/// cluster's default namespace (`--kube`), objects are placed and versioned as the API
/// server would keep them.
fn read_changes(
    files: &[PathBuf],
    old: &MemoryCatalog,
    cluster_namespace: Option<&str>,
) -> Result<(Vec<Change>, Vec<Changed>), LoadErrors> {
    let inputs = load::read_inputs(files).map_err(|e| LoadErrors(vec![e]))?;
    let mut errors: Vec<LoadError> = Vec::new();
    let (mut changes, mut changed) = (Vec::new(), Vec::new());
    for input in &inputs {
        let docs = match load::documents(input) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for doc in docs {
            match load::parse(&doc) {
                Ok(Parsed::Resource(r)) => {
                    let r = if let Some(namespace) = cluster_namespace {
                        with_cluster_identity(old, *r, namespace)
                    } else {
                        let mut r = *r;
                        model::record_content_hash(&mut r);
                        r
                    };
                    changed.push(Changed::Resource(r.clone()));
                    changes.push(Change::Upsert(r));
                }
                Ok(Parsed::Skipped { .. }) if is_settings(&doc.value) => {
                    let namespace = doc
                        .value
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(cluster_namespace.unwrap_or("default"))
                        .to_owned();
                    match stackhook_core::settings::entries(&doc.value) {
                        Ok(entries) => {
                            changed.push(Changed::Settings(namespace.clone()));
                            changes.push(Change::Settings {
                                namespace,
                                entries: Some(entries),
                            });
                        }
                        Err(source) => errors.push(LoadError::Settings {
                            file: Arc::clone(&doc.file),
                            position: doc.start(),
                            source,
                        }),
                    }
                }
                Ok(Parsed::Skipped { what }) => {
                    // Not something the catalog holds: said, not silently dropped.
                    eprintln!(
                        "{}:{}: skipped: {what} is not a Stack, Depot, workload or {}",
                        doc.file,
                        doc.start(),
                        stackhook_core::settings::CONFIG_MAP_NAME
                    );
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok((changes, changed))
    } else {
        Err(LoadErrors(errors))
    }
}

/// Whether a document is the `v1` ConfigMap `stackhook-config`.
fn is_settings(doc: &Value) -> bool {
    doc.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && doc.get("kind").and_then(Value::as_str) == Some("ConfigMap")
        && doc.pointer("/metadata/name").and_then(Value::as_str)
            == Some(stackhook_core::settings::CONFIG_MAP_NAME)
}

/// A FILE object as the API server would keep it when applied over the cluster's: in
/// `default_namespace` when it names none (a Stack has none), with the same uid, and
/// the generation one up when the spec differs. Stamps are made from them, so the diff
/// shows the Stamp the workloads would really get. An object the cluster does not have
/// gets its content hash, as from files.
fn with_cluster_identity(
    old: &MemoryCatalog,
    mut r: Resource,
    default_namespace: &str,
) -> Resource {
    let placed =
        !matches!(r, Resource::Stack(_)) && r.meta().namespace.as_deref().is_none_or(str::is_empty);
    if placed {
        let mut doc = r.to_json();
        doc["metadata"]["namespace"] = json!(default_namespace);
        if let Ok(Parsed::Resource(with)) = model::parse_document(doc) {
            r = *with;
        }
    }
    let name = r.meta().name.clone().unwrap_or_default();
    let namespace = r.meta().namespace.clone().unwrap_or_default();
    let existing = match &r {
        Resource::Stack(_) => old
            .stacks()
            .find(|s| s.metadata.name.as_deref() == Some(name.as_str()))
            .map(|s| Resource::Stack(Arc::clone(s))),
        Resource::Depot(_) => old.depot(&namespace, &name).map(Resource::Depot),
        Resource::Workload(w) => old
            .workload(&namespace, w.kind(), &name)
            .map(Resource::Workload),
    };
    let identity = existing.and_then(|e| {
        let meta = e.meta();
        let uid = meta.uid.clone()?;
        let generation = meta.generation?;
        let bump = i64::from(e.to_json().get("spec") != r.to_json().get("spec"));
        Some((uid, generation + bump))
    });
    let Some((uid, generation)) = identity else {
        model::record_content_hash(&mut r);
        return r;
    };
    let mut doc = r.to_json();
    doc["metadata"]["uid"] = json!(uid);
    doc["metadata"]["generation"] = json!(generation);
    match model::parse_document(doc) {
        Ok(Parsed::Resource(with)) => *with,
        // It parsed a moment ago; with two more metadata fields it parses again.
        _ => {
            model::record_content_hash(&mut r);
            r
        }
    }
}
