//! The catalog the server answers from: loaded from files (or the embedded example
//! catalog), swapped atomically when the files change, never half-updated. A broken
//! file keeps the last good catalog. A reload keeps every entry that did not change
//! (and the webhook's plans and patches for the workloads no change touched).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

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
    let (mut catalog, _) = load::load_into(MemoryCatalog::compact(), &inputs)?;
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
    sources: Mutex<Sources>,
}

/// The catalog's sources that are failing (a watch of the cluster), each since when,
/// and how long the catalog may go without them.
#[derive(Debug, Default)]
struct Sources {
    down: BTreeMap<String, Instant>,
    bound: Option<Duration>,
}

/// Why the catalog may be too old to decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// How long the oldest failing source has been failing.
    pub age: Duration,
    /// The staleness bound.
    pub bound: Duration,
    /// The failing sources, comma-separated.
    pub sources: String,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the watch of {} has been failing for {} s, longer than the catalog's staleness bound of {} s",
            self.sources,
            self.age.as_secs(),
            self.bound.as_secs()
        )
    }
}

impl CatalogState {
    /// An empty, not yet ready state.
    pub fn new() -> Self {
        Self {
            current: ArcSwap::from_pointee(Snapshot::new(MemoryCatalog::new())),
            cache: StackCache::new(),
            ready: AtomicBool::new(false),
            sources: Mutex::new(Sources::default()),
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

    /// Changes the catalog by `change` (applied to a copy, which then replaces it: no
    /// reader sees half a change), keeping the kept plans of the workloads the change
    /// does not touch. One writer at a time: each source (the file watcher, the
    /// cluster's watches) has one task that writes. Returns the new catalog's sizes.
    pub fn update<T>(
        &self,
        metrics: &Metrics,
        change: impl FnOnce(&mut MemoryCatalog) -> T,
    ) -> (CatalogCounts, T) {
        let started = Instant::now();
        let current = self.current.load_full();
        // Persistent maps: the copy shares every entry until the change replaces it.
        let mut catalog = current.catalog.clone();
        let out = change(&mut catalog);
        let counts = catalog.counts();
        set_counts(metrics, counts);
        self.current.store(Arc::new(Snapshot {
            catalog,
            memo: Arc::clone(&current.memo),
        }));
        metrics
            .catalog_update
            .observe(started.elapsed().as_secs_f64());
        (counts, out)
    }

    /// Reports ready: the catalog holds what its sources hold.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Updates the catalog to `new` after a reload: unchanged entries, and the kept
    /// plans of the workloads no change touched, stay. Counts the reload, and returns
    /// the new catalog's sizes and what the change touched.
    pub fn reload(&self, new: MemoryCatalog, metrics: &Metrics) -> (CatalogCounts, Dependents) {
        let out = self.update(metrics, |catalog| catalog.update_to(&new));
        drop(new);
        self.set_ready();
        metrics
            .catalog_reloads
            .get_or_create(&ResultLabels {
                result: "ok".into(),
            })
            .inc();
        out
    }

    /// Whether a catalog has been loaded.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, Sources> {
        // A panic while holding the lock leaves the map whole: keep using it.
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the catalog may go without a source (`None`: no bound).
    pub fn set_staleness_bound(&self, bound: Option<Duration>) {
        self.sources().bound = bound;
    }

    /// `source` (a watch) is failing: the catalog may miss its changes from now on
    /// (from its first failure, when it keeps failing).
    pub fn source_down(&self, source: &str) {
        self.sources()
            .down
            .entry(source.to_owned())
            .or_insert_with(Instant::now);
    }

    /// `source` is back and the catalog holds what it holds (it has listed again).
    pub fn source_up(&self, source: &str) {
        self.sources().down.remove(source);
    }

    /// Whether the catalog may be older than its staleness bound: a source has been
    /// failing longer than it.
    pub fn stale(&self) -> Option<Stale> {
        self.stale_at(Instant::now())
    }

    fn stale_at(&self, now: Instant) -> Option<Stale> {
        let sources = self.sources();
        let bound = sources.bound?;
        let oldest = sources.down.values().min()?;
        let age = now.saturating_duration_since(*oldest);
        (age > bound).then(|| Stale {
            age,
            bound,
            sources: sources.down.keys().cloned().collect::<Vec<_>>().join(", "),
        })
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

/// One catalog file as last read: its size and modification time, and the catalog
/// of what it holds (sharing its entries with the served catalog).
#[derive(Clone)]
struct FileEntry {
    path: PathBuf,
    len: u64,
    modified: SystemTime,
    part: MemoryCatalog,
}

/// The catalog's files as last read. A reload reads and parses only the files that
/// changed (by size and modification time) and puts the catalog together from every
/// file's part, so a change costs the changed file's parse, not the whole catalog's.
pub struct FileCatalog {
    dirs: Vec<PathBuf>,
    release_namespace: Option<String>,
    files: Vec<FileEntry>,
    loaded: bool,
    /// The files as they were when they last failed to load.
    failed: Option<Vec<(PathBuf, u64, SystemTime)>>,
}

impl FileCatalog {
    /// The catalog of the files under `dirs`, not read yet.
    pub fn new(dirs: Vec<PathBuf>, release_namespace: Option<String>) -> Self {
        Self {
            dirs,
            release_namespace,
            files: Vec::new(),
            loaded: false,
            failed: None,
        }
    }

    /// Reads the files that changed since the last call and returns the whole
    /// catalog, or `None` when no file changed. On an error nothing of this attempt
    /// is kept (the next call tries again).
    pub fn refresh(&mut self) -> Result<Option<MemoryCatalog>, LoadErrors> {
        let mut paths = Vec::new();
        for dir in &self.dirs {
            paths.extend(load::manifests_under(dir).map_err(|e| LoadErrors(vec![e]))?);
        }
        let mut stamps = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        for path in paths {
            match std::fs::metadata(&path) {
                Ok(m) => {
                    let modified = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    stamps.push((path, m.len(), modified));
                }
                Err(e) => errors.push(load::read_error(&path, e)),
            }
        }
        // Files that failed as they are now fail again: said once, when they broke.
        if self.failed.as_ref() == Some(&stamps) {
            return Ok(None);
        }
        let known: std::collections::HashMap<&PathBuf, &FileEntry> =
            self.files.iter().map(|f| (&f.path, f)).collect();
        let mut changed = !self.loaded || stamps.len() != self.files.len();
        let mut files = Vec::with_capacity(stamps.len());
        for (i, (path, len, modified)) in stamps.iter().enumerate() {
            if let Some(old) = known.get(path)
                && old.len == *len
                && old.modified == *modified
            {
                changed |= self.files.get(i).is_none_or(|f| f.path != *path);
                files.push((*old).clone());
                continue;
            }
            changed = true;
            // Workloads packed: the server holds every one of them, and nothing else does.
            let part = load::read_file(path)
                .map_err(|e| LoadErrors(vec![e]))
                .and_then(|input| load::load_into(MemoryCatalog::compact(), &[input]));
            match part {
                Ok((part, _)) => files.push(FileEntry {
                    path: path.clone(),
                    len: *len,
                    modified: *modified,
                    part,
                }),
                Err(e) => errors.extend(e.0),
            }
        }
        drop(known);
        if !errors.is_empty() {
            self.failed = Some(stamps);
            return Err(LoadErrors(errors));
        }
        self.failed = None;
        if !changed {
            return Ok(None);
        }
        let mut catalog = MemoryCatalog::compact();
        for f in &files {
            if catalog.merge(&f.part).is_err() {
                // Defined twice across files: the whole load says where, as a first
                // load would.
                let whole = load_dirs(&self.dirs, self.release_namespace.as_deref());
                if whole.is_err() {
                    self.failed = Some(stamps);
                }
                return whole.map(Some);
            }
        }
        catalog.set_release_namespace(self.release_namespace.clone());
        self.files = files;
        self.loaded = true;
        Ok(Some(catalog))
    }
}

/// Loads the catalog directories now, every file read.
pub fn load_dirs(
    dirs: &[PathBuf],
    release_namespace: Option<&str>,
) -> Result<MemoryCatalog, LoadErrors> {
    let inputs = load::read_inputs(dirs).map_err(|e| LoadErrors(vec![e]))?;
    // Workloads packed: the server holds every one of them, and nothing else does.
    let (mut catalog, _) = load::load_into(MemoryCatalog::compact(), &inputs)?;
    catalog.set_release_namespace(release_namespace.map(str::to_owned));
    Ok(catalog)
}

/// Reloads the catalog when its files change (polled every `interval`), reading only
/// the files that changed.
pub async fn watch(
    state: Arc<CatalogState>,
    metrics: Arc<Metrics>,
    files: FileCatalog,
    interval: Duration,
) {
    let files = Arc::new(Mutex::new(files));
    loop {
        tokio::time::sleep(interval).await;
        let f = Arc::clone(&files);
        let refreshed = tokio::task::spawn_blocking(move || {
            f.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .refresh()
        })
        .await;
        match refreshed {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(catalog))) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use stackhook_core::Catalog;
    use stackhook_core::model::StackRef;

    const STACK: &str = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: app-1}\nspec: {name: app, version: \"1\", workerConfig: {}}\n";

    fn worker(name: &str) -> String {
        format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {{name: {name}, namespace: team}}\nspec: {{stack: \"app:1\"}}\n"
        )
    }

    fn write(dir: &std::path::Path, file: &str, text: &str) {
        std::fs::write(dir.join(file), text).unwrap();
        // A new modification time even within the file system's granularity.
        let later = SystemTime::now() + Duration::from_secs(rand_secs(file, text));
        let f = std::fs::File::options()
            .write(true)
            .open(dir.join(file))
            .unwrap();
        f.set_modified(later).unwrap();
    }

    fn rand_secs(file: &str, text: &str) -> u64 {
        (file.len() + text.len()) as u64
    }

    fn config(ingress: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: stackhook-config, namespace: team}}\ndata:\n  default: |\n    ingressDomainSuffix: {ingress}\n"
        )
    }

    #[test]
    fn a_second_stackhook_config_for_a_namespace_is_a_problem_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.yaml", &config("a.example"));
        write(dir.path(), "b.yaml", &config("b.example"));
        let mut files = FileCatalog::new(vec![dir.path().to_owned()], None);
        let e = files.refresh().unwrap_err().to_string();
        let (a, b) = (
            dir.path().join("a.yaml").display().to_string(),
            dir.path().join("b.yaml").display().to_string(),
        );
        assert_eq!(
            e,
            format!(
                "{b}:1:1: a second stackhook-config for namespace \"team\"; the first, at {a}:1:1, applies (one per namespace)"
            )
        );
        // Within one file too.
        let input = load::Input {
            name: "both.yaml".into(),
            text: format!("{}---\n{}", config("a.example"), config("b.example")),
        };
        let e = load::load_inputs(&[input]).unwrap_err().to_string();
        assert_eq!(
            e,
            "both.yaml:8:1: a second stackhook-config for namespace \"team\"; the first, at both.yaml:1:1, applies (one per namespace)"
        );
    }

    #[test]
    fn the_catalog_is_stale_once_a_source_has_failed_longer_than_the_bound() {
        let state = CatalogState::new();
        let start = Instant::now();
        state.source_down("Worker");
        // No bound: never stale.
        assert_eq!(state.stale_at(start + Duration::from_secs(3600)), None);
        state.set_staleness_bound(Some(Duration::from_secs(30)));
        assert_eq!(state.stale_at(start), None);
        // A second failure does not restart the first one's clock.
        state.source_down("Stack");
        state.source_down("Worker");
        let stale = state
            .stale_at(start + Duration::from_secs(31))
            .expect("stale after the bound");
        assert_eq!(stale.sources, "Stack, Worker");
        assert!(stale.age >= Duration::from_secs(30));
        assert!(
            stale
                .to_string()
                .starts_with("the watch of Stack, Worker has been failing for "),
            "{stale}"
        );
        // Both back (listed again): fresh.
        state.source_up("Worker");
        state.source_up("Stack");
        assert_eq!(state.stale_at(start + Duration::from_secs(31)), None);
    }

    #[test]
    fn a_reload_reads_only_the_files_that_changed_and_says_a_failure_once() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "stack.yaml", STACK);
        write(dir.path(), "workers.yaml", &worker("w1"));
        let mut files = FileCatalog::new(vec![dir.path().to_owned()], Some("sys".into()));
        let first = files.refresh().unwrap().unwrap();
        assert_eq!(first.counts().workloads, 1);
        assert!(files.refresh().unwrap().is_none(), "nothing changed");

        write(
            dir.path(),
            "workers.yaml",
            &format!("{}---\n{}", worker("w1"), worker("w2")),
        );
        let second = files.refresh().unwrap().unwrap();
        assert_eq!(second.counts().workloads, 2);
        // The Stack's file was not read again: the very same object.
        let r = StackRef::parse("app:1").unwrap();
        assert!(Arc::ptr_eq(
            &first.stack(&r).unwrap(),
            &second.stack(&r).unwrap()
        ));

        write(dir.path(), "workers.yaml", "kind: [");
        let e = files.refresh().unwrap_err().to_string();
        assert!(e.contains("workers.yaml:"), "{e}");
        assert!(files.refresh().unwrap().is_none(), "a failure is said once");
        write(dir.path(), "workers.yaml", &worker("w3"));
        let third = files.refresh().unwrap().unwrap();
        assert!(
            third
                .workload("team", stackhook_core::model::WorkloadKind::Worker, "w3")
                .is_some()
        );

        // A Stack defined in two files: the whole load says where.
        write(
            dir.path(),
            "again.yaml",
            &STACK.replace("app-1", "app-1-copy"),
        );
        let e = files.refresh().unwrap_err().to_string();
        assert!(e.contains("stack app:1 is defined twice"), "{e}");
        // Gone again: the files are what the last good catalog was made of.
        std::fs::remove_file(dir.path().join("again.yaml")).unwrap();
        assert!(files.refresh().unwrap().is_none());
        write(dir.path(), "more.yaml", &worker("w4"));
        assert_eq!(files.refresh().unwrap().unwrap().counts().workloads, 2);
    }
}
