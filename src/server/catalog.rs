//! The catalog the server answers from: loaded from files (or the embedded example
//! catalog), swapped atomically when the files change, never half-updated. A broken
//! file keeps the last good catalog. A reload keeps every entry that did not change
//! (and the webhook's plans and patches for the workloads no change touched).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use stackhook_core::MemoryCatalog;
use stackhook_core::catalog::{CatalogCounts, Dependents};
use stackhook_core::compiled::StackCache;
use stackhook_core::inject::InjectMemo;

use super::metrics::{KindLabels, Metrics, ResultLabels};
use crate::load::{self, LoadErrors};

/// The example catalog compiled into the binary: what `serve` answers from when no
/// `--catalog` is given.
pub const EMBEDDED: [(&str, &str); 4] = [
    (
        "examples/catalog/stack-benthos.yaml",
        include_str!("../../examples/catalog/stack-benthos.yaml"),
    ),
    (
        "examples/catalog/stack-flare.yaml",
        include_str!("../../examples/catalog/stack-flare.yaml"),
    ),
    (
        "examples/catalog/depots.yaml",
        include_str!("../../examples/catalog/depots.yaml"),
    ),
    (
        "examples/catalog/workloads.yaml",
        include_str!("../../examples/catalog/workloads.yaml"),
    ),
];

/// Loads the embedded catalog, with the loader files go through; the release
/// namespace's `stackhook-config` applies as in a cluster.
pub fn embedded(release_namespace: Option<&str>) -> Result<MemoryCatalog, LoadErrors> {
    let inputs: Vec<load::Input> = EMBEDDED
        .iter()
        .map(|(name, text)| load::Input {
            name: (*name).into(),
            text: (*text).to_owned(),
        })
        .collect();
    let (mut catalog, _) = load::load_inputs(&inputs)?;
    catalog.set_release_namespace(release_namespace.map(str::to_owned));
    Ok(catalog)
}

/// One catalog and what the webhook keeps for it: the plans and patches of its
/// workloads' pods, shared with the catalogs it is updated to (they are kept by
/// epoch, see `InjectMemo`) and dropped when the catalog is replaced wholesale.
pub struct Snapshot {
    /// The catalog.
    pub catalog: MemoryCatalog,
    /// Pod plans and patches made from it and its predecessors.
    pub memo: Arc<InjectMemo>,
}

impl std::ops::Deref for Snapshot {
    type Target = MemoryCatalog;

    fn deref(&self) -> &MemoryCatalog {
        &self.catalog
    }
}

impl Snapshot {
    fn new(catalog: MemoryCatalog) -> Self {
        Self {
            catalog,
            memo: Arc::new(InjectMemo::new()),
        }
    }
}

/// The catalog, its compiled-Stack cache, and readiness.
pub struct CatalogState {
    current: ArcSwap<Snapshot>,
    /// Compiled Stacks.
    pub cache: StackCache,
    ready: AtomicBool,
}

impl CatalogState {
    /// An empty, not yet ready state.
    pub fn new() -> Self {
        Self {
            current: ArcSwap::from_pointee(Snapshot::new(MemoryCatalog::new())),
            cache: StackCache::new(),
            ready: AtomicBool::new(false),
        }
    }

    /// The current catalog.
    pub fn load(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// Replaces the catalog and reports ready. Compiled Stacks are kept by content
    /// and evicted by the cache's own bound.
    pub fn replace(&self, catalog: MemoryCatalog, metrics: &Metrics) {
        set_counts(metrics, catalog.counts());
        self.current.store(Arc::new(Snapshot::new(catalog)));
        self.ready.store(true, Ordering::Release);
    }

    /// Updates the catalog to `new` after a reload: unchanged entries, and the kept
    /// plans of the workloads no change touched, stay. Counts the reload, and returns
    /// the new catalog's sizes and what the change touched.
    pub fn reload(&self, new: MemoryCatalog, metrics: &Metrics) -> (CatalogCounts, Dependents) {
        let current = self.current.load();
        let mut catalog = current.catalog.clone();
        let touched = catalog.update_to(&new);
        drop(new);
        let counts = catalog.counts();
        set_counts(metrics, counts);
        self.current.store(Arc::new(Snapshot {
            catalog,
            memo: Arc::clone(&current.memo),
        }));
        self.ready.store(true, Ordering::Release);
        metrics
            .catalog_reloads
            .get_or_create(&ResultLabels {
                result: "ok".into(),
            })
            .inc();
        (counts, touched)
    }

    /// Whether a catalog has been loaded.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

impl Default for CatalogState {
    fn default() -> Self {
        Self::new()
    }
}

fn set_counts(metrics: &Metrics, counts: CatalogCounts) {
    for (kind, n) in [
        ("Stack", counts.stacks),
        ("Depot", counts.depots),
        ("Workload", counts.workloads),
    ] {
        metrics
            .catalog_objects
            .get_or_create(&KindLabels { kind })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// How many workloads a change touched, for logs: a number, or `all`.
pub fn touched_count(touched: &Dependents) -> String {
    match touched {
        Dependents::All => "all".to_owned(),
        Dependents::Some(keys) => keys.len().to_string(),
    }
}

/// What the files look like now: paths, sizes and modification times.
fn fingerprint(dirs: &[PathBuf]) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir)
            .follow_links(true)
            .into_iter()
            .flatten()
        {
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                out.push((
                    entry.path().to_owned(),
                    meta.len(),
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Loads the catalog directories now.
pub fn load_dirs(
    dirs: &[PathBuf],
    release_namespace: Option<&str>,
) -> Result<MemoryCatalog, LoadErrors> {
    let (mut catalog, _) = load::load_catalog(dirs)?;
    catalog.set_release_namespace(release_namespace.map(str::to_owned));
    Ok(catalog)
}

/// Reloads the catalog when its files change (polled every `interval`).
pub async fn watch(
    state: Arc<CatalogState>,
    metrics: Arc<Metrics>,
    dirs: Vec<PathBuf>,
    release_namespace: Option<String>,
    interval: Duration,
) {
    let mut last = fingerprint(&dirs);
    loop {
        tokio::time::sleep(interval).await;
        let dirs2 = dirs.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || fingerprint(&dirs2)).await else {
            continue;
        };
        if now == last {
            continue;
        }
        last = now;
        let dirs2 = dirs.clone();
        let ns = release_namespace.clone();
        match tokio::task::spawn_blocking(move || load_dirs(&dirs2, ns.as_deref())).await {
            Ok(Ok(catalog)) => {
                let (counts, touched) = state.reload(catalog, &metrics);
                let touched = touched_count(&touched);
                tracing::info!(
                    stacks = counts.stacks,
                    depots = counts.depots,
                    workloads = counts.workloads,
                    touched,
                    "catalog reloaded"
                );
            }
            Ok(Err(errors)) => {
                metrics
                    .catalog_reloads
                    .get_or_create(&ResultLabels {
                        result: "failed".into(),
                    })
                    .inc();
                tracing::error!(errors = %errors, "catalog reload failed; keeping the last good catalog");
            }
            Err(e) => tracing::error!(error = %e, "catalog reload task failed"),
        }
    }
}
