//! Plans and patches kept while the catalog changes around them.
//!
//! Pods come in families: a Deployment's replicas, a rollout, a CronJob's runs are
//! made from one template, so they have the same [`Shape`] and get the same patch.
//! The webhook builds a workload's [`Plan`] once and each shape's patch (serialized and
//! base64-encoded, as the response carries it) once. Both are pure functions of the
//! catalog and the injection [`InjectSettings`](super::InjectSettings). A plan is kept under its
//! workload unit and the catalog's epoch for that workload ([`Catalog::epoch_of`]): a
//! change that touches the workload gives it a new epoch, so its old plan is never
//! found again (and ages out), while the plans of every other workload stay valid
//! across catalog swaps. Readers of an older snapshot look up their own epoch and so
//! never see a plan made from a newer catalog, nor it theirs. Whoever replaces the
//! catalog wholesale (a reload of files) starts a new memo with it. Both caches are
//! bounded by weight and evict the least used entries.
//!
//! [`Catalog::epoch_of`]: crate::catalog::Catalog::epoch_of

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::KeptPatch;
use super::patch::Shape;
use super::plan::Plan;
use crate::catalog::WorkloadKey;

/// Which workload unit a pod belongs to, at which epoch of its workload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct PlanKey {
    pub(super) workload: WorkloadKey,
    pub(super) step: Option<String>,
    pub(super) epoch: u64,
}

/// A plan and the number that names it in patch keys.
pub(super) struct Numbered {
    pub(super) id: u64,
    pub(super) plan: Plan,
}

#[derive(Clone)]
struct PlanWeight;

impl Weighter<PlanKey, Arc<Numbered>> for PlanWeight {
    fn weight(&self, key: &PlanKey, value: &Arc<Numbered>) -> u64 {
        (key.workload.namespace.len() + key.workload.name.len() + value.plan.weight()) as u64
    }
}

#[derive(Clone)]
struct PatchWeight;

impl Weighter<(u64, Shape), Arc<KeptPatch>> for PatchWeight {
    fn weight(&self, key: &(u64, Shape), value: &Arc<KeptPatch>) -> u64 {
        (key.1.weight() + value.weight()) as u64
    }
}

/// Memory the plans may hold, in bytes (estimated).
pub const PLAN_BUDGET: u64 = 4 << 20;
/// Memory the encoded patches may hold, in bytes.
pub const PATCH_BUDGET: u64 = 4 << 20;

/// The plans and patches of one catalog.
pub struct InjectMemo {
    plans: Cache<PlanKey, Arc<Numbered>, PlanWeight>,
    patches: Cache<(u64, Shape), Arc<KeptPatch>, PatchWeight>,
    next_id: AtomicU64,
}

impl InjectMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self {
            plans: Cache::with_weighter(256, PLAN_BUDGET, PlanWeight),
            patches: Cache::with_weighter(256, PATCH_BUDGET, PatchWeight),
            next_id: AtomicU64::new(0),
        }
    }

    /// The plan for `key`, built by `build` unless kept. A failure is not kept: the
    /// next pod tries again (and gets the same answer from the same catalog).
    pub(super) fn plan<E>(
        &self,
        key: &PlanKey,
        build: impl FnOnce() -> Result<Plan, E>,
    ) -> Result<Arc<Numbered>, E> {
        self.plans.get_or_insert_with(key, || {
            Ok(Arc::new(Numbered {
                id: self.next_id.fetch_add(1, Ordering::Relaxed),
                plan: build()?,
            }))
        })
    }

    /// The encoded patch of plan `id` for `shape`, made by `make` unless kept.
    pub(super) fn patch<E>(
        &self,
        id: u64,
        shape: Shape,
        make: impl FnOnce(&Shape) -> Result<KeptPatch, E>,
    ) -> Result<Arc<KeptPatch>, E> {
        let key = (id, shape);
        if let Some(p) = self.patches.get(&key) {
            return Ok(p);
        }
        let p = Arc::new(make(&key.1)?);
        self.patches.insert(key, Arc::clone(&p));
        Ok(p)
    }

    /// The plan for `key`, if kept.
    pub(super) fn kept_plan(&self, key: &PlanKey) -> Option<Arc<Numbered>> {
        self.plans.get(key)
    }

    /// The encoded patch of plan `id` for `shape`, if kept.
    pub(super) fn kept_patch(&self, id: u64, shape: Shape) -> Option<Arc<KeptPatch>> {
        self.patches.get(&(id, shape))
    }

    /// How many plans and patches are kept.
    pub fn sizes(&self) -> (usize, usize) {
        (self.plans.len(), self.patches.len())
    }
}

impl Default for InjectMemo {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InjectMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (plans, patches) = self.sizes();
        f.debug_struct("InjectMemo")
            .field("plans", &plans)
            .field("patches", &patches)
            .finish()
    }
}
