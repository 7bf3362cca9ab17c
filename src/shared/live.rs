//! The live catalog: the one [`MemoryCatalog`] this process answers from, shared by
//! whoever fills it (the files, the cluster's watches) and whoever reads it (the
//! webhook, the controller). Not to be confused with the core's [`Catalog`] trait
//! (how decisions look things up) or the `--catalog` files (one of its sources).
//!
//! [`Catalog`]: stackhook_core::Catalog

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use stackhook_core::MemoryCatalog;
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
}

impl LiveCatalog {
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

    /// Changes the catalog by `change` (applied to a copy, which then replaces it: no
    /// reader sees half a change), keeping the kept plans of the workloads the change
    /// does not touch. One writer at a time: each source (the file watcher, the
    /// cluster's watches) has one task that writes. Returns the new catalog's sizes.
    pub fn update<T>(
        &self,
        metrics: &Metrics,
        change: impl FnOnce(&mut MemoryCatalog) -> T,
    ) -> (CatalogCounts, T) {
        let started = std::time::Instant::now();
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
