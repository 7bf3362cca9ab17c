//! Which workloads a change touches, and what it does to each: the verdict before and
//! after, and the rendered objects and Stamps before and after, each side computed by
//! [`crate::cli::outcome`] against its own catalog.

use std::collections::BTreeSet;

use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::catalog::{Catalog as _, Dependency, Dependents, WorkloadKey};
use stackhook_core::compiled::StackCache;
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::model::{Resource, Workload};
use stackhook_core::resolve;

use crate::cli::outcome::{self, Outcome};

/// What changed, as FILE gave it.
#[derive(Clone, Debug)]
pub enum Changed {
    /// A Stack, Depot or workload.
    Resource(Resource),
    /// The `stackhook-config` of a namespace.
    Settings(String),
}

/// One touched workload, before and after.
#[derive(Debug)]
pub struct WorkloadDiff {
    /// Which workload.
    pub key: WorkloadKey,
    /// Its outcome with the catalog as it is; `None` for a workload FILE adds.
    pub before: Option<Outcome>,
    /// Its outcome with FILE applied.
    pub after: Outcome,
    /// Whether FILE itself holds (a new version of) the workload.
    pub in_file: bool,
}

impl WorkloadDiff {
    /// Whether the change makes it denied: allowed before and not after, or brought by
    /// FILE and denied.
    pub fn newly_denied(&self) -> bool {
        !self.after.verdict.allowed()
            && (self.in_file || self.before.as_ref().is_none_or(|b| b.verdict.allowed()))
    }
}

fn admission<'a>(
    catalog: &'a MemoryCatalog,
    cache: &'a StackCache,
    settings: &'a EngineSettings,
) -> Engine<'a> {
    Engine::new(catalog, cache, settings)
}

fn key_of(w: &Workload) -> WorkloadKey {
    WorkloadKey {
        namespace: w.namespace().to_owned(),
        kind: w.kind(),
        name: w.name().to_owned(),
    }
}

fn keys(d: Dependents, all: &MemoryCatalog, into: &mut BTreeSet<WorkloadKey>) {
    match d {
        Dependents::All => into.extend(all.workload_keys().cloned()),
        Dependents::Some(keys) => into.extend(keys),
    }
}

/// The workloads `changed` touches (a workload itself; the users of a Stack family,
/// before and after; the workloads whose addresses name a changed Depot; those a
/// namespace's settings apply to), each before and after.
pub fn compare(old: &MemoryCatalog, new: &MemoryCatalog, changed: &[Changed]) -> Vec<WorkloadDiff> {
    let options = EngineSettings::default();
    // One cache a side: a Stack's new version must not be served from the old one's.
    let (old_cache, new_cache) = (StackCache::new(), StackCache::new());
    let before = admission(old, &old_cache, &options);
    let after = admission(new, &new_cache, &options);
    let mut touched = BTreeSet::new();
    let mut in_file = BTreeSet::new();
    for c in changed {
        match c {
            Changed::Resource(Resource::Workload(w)) => {
                touched.insert(key_of(w));
                in_file.insert(key_of(w));
            }
            Changed::Resource(Resource::Stack(s)) => {
                // The family it had (by metadata.name) and the one it has now.
                let name = s.metadata.name.as_deref().unwrap_or_default();
                let mut families = vec![(s.spec.name.clone(), s.spec.flavor.clone())];
                if let Some(was) = old
                    .stacks()
                    .find(|o| o.metadata.name.as_deref() == Some(name))
                {
                    families.push((was.spec.name.clone(), was.spec.flavor.clone()));
                }
                for (family, flavor) in &families {
                    let dependency = Dependency::Stack(family, flavor.as_deref());
                    keys(old.dependents(&dependency), old, &mut touched);
                    keys(new.dependents(&dependency), new, &mut touched);
                }
            }
            Changed::Resource(Resource::Depot(d)) => {
                let namespace = d.metadata.namespace.as_deref().unwrap_or_default();
                let name = d.metadata.name.as_deref().unwrap_or_default();
                let names_it = |a: &Engine<'_>, w: &Workload| {
                    resolve::resolve(a, w)
                        .units
                        .iter()
                        .any(|u| u.addresses.iter().any(|x| x.address.depot == name))
                };
                for w in new.workloads_in(namespace) {
                    if names_it(&after, &w) || names_it(&before, &w) {
                        touched.insert(key_of(&w));
                    }
                }
            }
            Changed::Settings(namespace) => {
                keys(
                    new.dependents(&Dependency::Settings(namespace)),
                    new,
                    &mut touched,
                );
            }
        }
    }
    let defaults = outcome::render_defaults();
    touched
        .into_iter()
        .filter_map(|key| {
            let now = new.workload(&key.namespace, key.kind, &key.name)?;
            let was = old.workload(&key.namespace, key.kind, &key.name);
            Some(WorkloadDiff {
                before: was.map(|w| outcome::outcome(&before, &w, &defaults)),
                after: outcome::outcome(&after, &now, &defaults),
                in_file: in_file.contains(&key),
                key,
            })
        })
        .collect()
}
