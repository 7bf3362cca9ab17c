//! The live catalog: the one [`MemoryCatalog`] this process answers from, shared by
//! whoever fills it (the files, the cluster's watches) and whoever reads it (the
//! webhook, the controller). Not to be confused with the core's [`Catalog`] trait
//! (how decisions look things up) or the `--catalog` files (one of its sources).
//!
//! [`Catalog`]: stackhook_core::catalog::Catalog

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::catalog::{CatalogCounts, Dependents};
use stackhook_core::compiled::StackCache;
use stackhook_core::inject::InjectMemo;

use super::metrics::{KindLabels, Metrics, ResultLabels};

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

/// The catalog this process serves now, swapped atomically (never half-updated), its
/// compiled-Stack cache, and whether it has loaded. One per process: its sources (the
/// files, or the cluster's watches) write it; the webhook and the controller read it.
pub struct LiveCatalog {
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

impl LiveCatalog {
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

    /// Sets the catalog's source metrics (failing watches, for how long, stale) to
    /// what they are now: at each scrape.
    pub fn observe_sources(&self, metrics: &Metrics) {
        let now = Instant::now();
        let (failing, oldest) = {
            let sources = self.sources();
            (sources.down.len(), sources.down.values().min().copied())
        };
        metrics
            .catalog_sources_failing
            .set(i64::try_from(failing).unwrap_or(i64::MAX));
        metrics
            .catalog_source_failing_seconds
            .set(oldest.map_or(0.0, |since| {
                now.saturating_duration_since(since).as_secs_f64()
            }));
        metrics
            .catalog_stale
            .set(i64::from(self.stale_at(now).is_some()));
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

impl Default for LiveCatalog {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_stale_once_a_source_has_failed_longer_than_the_bound() {
        let state = LiveCatalog::new();
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
}
