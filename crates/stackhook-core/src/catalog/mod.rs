//! The catalog: every lookup the engine makes, behind one trait, so that admission,
//! the CLI and the controller read the same store and never the API server.
//!
//! [`MemoryCatalog`] is the index behind it. The binary fills it from files (the
//! embedded default) or from Kubernetes watches; tests fill it by hand. Its maps are
//! persistent (`imbl`): a clone shares every entry, so a writer clones the catalog,
//! applies one change in time proportional to the change, and swaps the clone in,
//! while readers keep the snapshot they started with. An index from Stack families and
//! namespaces to the workloads that depend on them says which workloads a change of a
//! Stack, Depot or `stackhook-config` touches ([`MemoryCatalog::dependents`]), and each
//! workload carries the epoch of the last change that touched it
//! ([`Catalog::epoch_of`]), so what was kept for the others stays valid.

use std::collections::BTreeMap;
use std::sync::Arc;

use imbl::{OrdMap, OrdSet};

use crate::model::{Depot, Resource, Stack, StackRef, Workload, WorkloadKind, compare_versions};
use crate::settings::Settings;

mod change;
mod entry;

pub use change::{Applied, Change};
use entry::Entry;

/// A workload's identity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    /// The namespace.
    pub namespace: String,
    /// Worker, Service or Workflow.
    pub kind: WorkloadKind,
    /// The name.
    pub name: String,
}

impl std::fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// A workload the catalog holds but cannot hand out: its packed copy no longer
/// decodes. It still counts wherever every workload must be answered for (a Depot or
/// Stack in use cannot be deleted because of it), and a pod of it is refused saying
/// so. Equal when the workload and the cause's text are.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{key} is in the catalog but its kept copy cannot be decoded")]
pub struct Undecodable {
    /// Which workload.
    pub key: WorkloadKey,
    /// Why its JSON does not decode.
    #[source]
    pub source: Arc<serde_json::Error>,
}

impl PartialEq for Undecodable {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.source.to_string() == other.source.to_string()
    }
}

impl Eq for Undecodable {}

/// Why a Stack reference does not resolve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StackLookupError {
    /// No Stack has this name (and flavor).
    #[error("stack {family:?} not found{}", known_hint(.known))]
    UnknownStack {
        /// `name[+flavor]` as referenced.
        family: String,
        /// Up to 10 Stack families that do exist, for a hint.
        known: Vec<String>,
    },
    /// The Stack exists, but not in this version.
    #[error("stack {family:?} has no version {version:?} (available: {})", .available.join(", "))]
    UnknownVersion {
        /// `name[+flavor]` as referenced.
        family: String,
        /// The version asked for.
        version: String,
        /// The versions that exist, highest first.
        available: Vec<String>,
    },
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() {
        "; the catalog has no Stacks".to_owned()
    } else {
        format!("; known stacks: {}", known.join(", "))
    }
}

/// Every lookup the engine needs.
pub trait Catalog {
    /// Every version of the Stack `name[+flavor]`, highest version first.
    fn stack_versions(&self, name: &str, flavor: Option<&str>) -> Vec<Arc<Stack>>;

    /// Up to `limit` Stack families (`name[+flavor]`) in the catalog, for hints.
    fn stack_families(&self, limit: usize) -> Vec<String>;

    /// The Depot `namespace/name`.
    fn depot(&self, namespace: &str, name: &str) -> Option<Arc<Depot>>;

    /// The workload `namespace/kind/name`.
    fn workload(&self, namespace: &str, kind: WorkloadKind, name: &str) -> Option<Workload>;

    /// Every workload in the catalog, in key order.
    fn workloads(&self) -> Vec<Workload>;

    /// The workloads of `namespace`, in key order.
    fn workloads_in(&self, namespace: &str) -> Vec<Workload> {
        self.workloads()
            .into_iter()
            .filter(|w| w.namespace() == namespace)
            .collect()
    }

    /// The workloads of `namespace` the catalog holds but cannot decode, in key order
    /// ([`Undecodable`]): [`Self::workloads_in`] leaves them out, so whoever answers
    /// for every workload of a namespace must count these too. None by default.
    fn undecodable_in(&self, namespace: &str) -> Vec<Undecodable> {
        let _ = namespace;
        Vec::new()
    }

    /// The per-namespace settings (`stackhook-config`, SPEC §5) for a workload in
    /// `namespace` with `labels`; none by default.
    fn settings(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Settings {
        let _ = (namespace, labels);
        Settings::default()
    }

    /// The Stack a reference names: the exact version, or the highest when the
    /// reference has none.
    fn stack(&self, reference: &StackRef) -> Result<Arc<Stack>, StackLookupError> {
        let mut versions = self.stack_versions(&reference.name, reference.flavor.as_deref());
        if versions.is_empty() {
            // A Stack named `dbt+python` (no flavor) and the reference `dbt+python`
            // (name dbt, flavor python) mean the same family: both print as
            // `dbt+python`, so a hint naming it must find it.
            versions = match (&reference.flavor, reference.name.split_once('+')) {
                (Some(_), _) => self.stack_versions(&reference.family(), None),
                (None, Some((name, flavor))) => self.stack_versions(name, Some(flavor)),
                (None, None) => versions,
            };
        }
        let found = match &reference.version {
            None => versions.first().cloned(),
            Some(v) => versions.iter().find(|s| &s.spec.version == v).cloned(),
        };
        found.ok_or_else(|| match &reference.version {
            Some(v) if !versions.is_empty() => StackLookupError::UnknownVersion {
                family: reference.family(),
                version: v.clone(),
                available: versions.iter().map(|s| s.spec.version.clone()).collect(),
            },
            _ => StackLookupError::UnknownStack {
                family: reference.family(),
                known: self.stack_families(10),
            },
        })
    }

    /// The epoch of the last change of the catalog that touched the workload `key`
    /// (itself, its Stack family, its namespace's Depots or settings): what was
    /// derived from it at that epoch or later is still valid. Always 0 by default (a
    /// catalog that never changes).
    fn epoch_of(&self, key: &WorkloadKey) -> u64 {
        let _ = key;
        0
    }

    /// The workloads whose Stack references resolve to `stack` (by name, flavor and
    /// version), in key order.
    fn workloads_using(&self, stack: &Stack) -> Vec<WorkloadKey> {
        let uses = |r: &str| {
            StackRef::parse(r)
                .ok()
                .and_then(|r| self.stack(&r).ok())
                .is_some_and(|s| s.spec.reference() == stack.spec.reference())
        };
        self.workloads()
            .into_iter()
            .filter(|w| w.stack_references().into_iter().any(uses))
            .map(|w| WorkloadKey {
                namespace: w.namespace().to_owned(),
                kind: w.kind(),
                name: w.name().to_owned(),
            })
            .collect()
    }
}

/// Why a resource cannot join the index.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    /// Another Stack already has this name, flavor and version.
    #[error("stack {reference} is defined twice: by {existing:?} and by {new:?}")]
    DuplicateStack {
        /// `name[+flavor]:version`.
        reference: String,
        /// `metadata.name` of the Stack already in the catalog.
        existing: String,
        /// `metadata.name` of the one being added.
        new: String,
    },
    /// Two parts both hold a `stackhook-config` for this namespace (the first is kept).
    #[error("stackhook-config for namespace {namespace:?} is defined twice")]
    DuplicateSettings {
        /// The namespace.
        namespace: String,
    },
    /// The resource has no `metadata.name`.
    #[error("{kind} has no metadata.name")]
    MissingName {
        /// The kind.
        kind: &'static str,
    },
}

type FamilyKey = (String, Option<String>);

/// What a change of the catalog touches: which workloads' plans and Stamps may differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dependents {
    /// Every workload (the release namespace's settings apply to all).
    All,
    /// These workloads, in key order.
    Some(Vec<WorkloadKey>),
}

/// What changed, for [`MemoryCatalog::dependents`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dependency<'a> {
    /// A Stack of this family (`name`, `flavor`).
    Stack(&'a str, Option<&'a str>),
    /// A Depot of this namespace (an address names a Depot of its own namespace).
    Depot(&'a str),
    /// The `stackhook-config` of this namespace.
    Settings(&'a str),
}

/// The in-memory index.
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    stacks: OrdMap<String, Arc<Stack>>,
    /// `(name, flavor)` → versions, highest first.
    families: OrdMap<FamilyKey, Vec<Arc<Stack>>>,
    depots: OrdMap<(String, String), Arc<Depot>>,
    workloads: OrdMap<WorkloadKey, Entry>,
    /// Whether workloads are kept packed ([`Self::compact`]).
    compact: bool,
    /// Stacks left out because another one defines their version, by
    /// `metadata.name`: they join when that one goes (see [`Change`]).
    rejected_stacks: OrdMap<String, Arc<Stack>>,
    /// `stackhook-config` entries by namespace.
    settings: OrdMap<String, Arc<[(String, Settings)]>>,
    /// The namespace whose `stackhook-config` applies after the workload's own.
    release_namespace: Option<String>,
    /// The workloads naming a Stack family (in any unit).
    by_family: OrdMap<FamilyKey, OrdSet<WorkloadKey>>,
    /// The workloads of each namespace.
    by_namespace: OrdMap<String, OrdSet<WorkloadKey>>,
    /// The number of the last change ([`Self::touch`]).
    epoch: u64,
    /// The epoch of the last change that touched every workload.
    epoch_all: u64,
    /// The epoch of the last change that touched each workload.
    epochs: OrdMap<WorkloadKey, u64>,
}

fn families_of(refs: &[Box<str>]) -> Vec<FamilyKey> {
    let mut out: Vec<FamilyKey> = refs
        .iter()
        .filter_map(|r| StackRef::parse(r).ok())
        .map(|r| (r.name, r.flavor))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// How many resources of each kind the index holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatalogCounts {
    /// Stacks.
    pub stacks: usize,
    /// Depots.
    pub depots: usize,
    /// Workers, Services and Workflows.
    pub workloads: usize,
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty catalog that keeps its workloads packed (compact JSON, decoded on
    /// lookup): for workloads nothing else holds, as those read from files. A
    /// workload costs a tenth of the memory; a lookup decodes it (microseconds, and
    /// the webhook looks one up only to build its plan).
    pub fn compact() -> Self {
        Self {
            compact: true,
            ..Self::default()
        }
    }

    /// Adds or replaces a resource (by kind, namespace and `metadata.name`).
    pub fn insert(&mut self, resource: Resource) -> Result<(), InsertError> {
        let name = resource
            .meta()
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or(InsertError::MissingName {
                kind: resource.kind(),
            })?;
        let namespace = resource.meta().namespace.clone().unwrap_or_default();
        match resource {
            Resource::Stack(stack) => self.insert_stack(name, stack),
            Resource::Depot(depot) => {
                self.depots.insert((namespace, name), depot);
                Ok(())
            }
            Resource::Workload(w) => {
                let key = WorkloadKey {
                    namespace,
                    kind: w.kind(),
                    name,
                };
                let entry = self.entry_of(w);
                self.insert_entry(key, entry);
                Ok(())
            }
        }
    }

    /// How this catalog keeps `w`: packed when compact, else shared.
    fn entry_of(&self, w: Workload) -> Entry {
        if self.compact {
            Entry::packed(w)
        } else {
            Entry::shared(w)
        }
    }

    fn insert_entry(&mut self, key: WorkloadKey, entry: Entry) {
        self.unindex(&key);
        for family in families_of(&entry.refs) {
            self.by_family
                .entry(family)
                .or_default()
                .insert(key.clone());
        }
        self.by_namespace
            .entry(key.namespace.clone())
            .or_default()
            .insert(key.clone());
        self.workloads.insert(key, entry);
    }

    /// Sets the `stackhook-config` entries of `namespace` (see [`crate::settings`]).
    pub fn set_settings(&mut self, namespace: &str, entries: Vec<(String, Settings)>) {
        self.settings.insert(namespace.to_owned(), entries.into());
    }

    /// Names the release namespace, whose settings apply after the workload's own.
    pub fn set_release_namespace(&mut self, namespace: Option<String>) {
        self.release_namespace = namespace;
    }

    fn insert_stack(&mut self, name: String, stack: Arc<Stack>) -> Result<(), InsertError> {
        let reference = stack.spec.reference();
        let family = (stack.spec.name.clone(), stack.spec.flavor.clone());
        if let Some(existing) = self.families.get(&family).and_then(|v| {
            v.iter().find(|s| {
                s.spec.version == stack.spec.version && s.metadata.name.as_deref() != Some(&name)
            })
        }) {
            return Err(InsertError::DuplicateStack {
                reference: reference.to_string(),
                existing: existing.metadata.name.clone().unwrap_or_default(),
                new: name,
            });
        }
        self.remove_stack(&name);
        let versions = self.families.entry(family).or_default();
        versions.push(Arc::clone(&stack));
        versions.sort_by(|a, b| compare_versions(&b.spec.version, &a.spec.version));
        self.stacks.insert(name, stack);
        Ok(())
    }

    /// Removes the Stack with this `metadata.name`.
    pub fn remove_stack(&mut self, name: &str) -> Option<Arc<Stack>> {
        let old = self.stacks.remove(name)?;
        let family = (old.spec.name.clone(), old.spec.flavor.clone());
        if let Some(versions) = self.families.get_mut(&family) {
            versions.retain(|s| !Arc::ptr_eq(s, &old));
            if versions.is_empty() {
                self.families.remove(&family);
            }
        }
        Some(old)
    }

    /// Removes the Depot `namespace/name`.
    pub fn remove_depot(&mut self, namespace: &str, name: &str) -> Option<Arc<Depot>> {
        self.depots.remove(&(namespace.to_owned(), name.to_owned()))
    }

    /// Removes a workload.
    pub fn remove_workload(&mut self, key: &WorkloadKey) -> Option<Workload> {
        self.drop_workload(key).and_then(|e| e.workload(key).ok())
    }

    /// Removes a workload without decoding it.
    fn drop_workload(&mut self, key: &WorkloadKey) -> Option<Entry> {
        self.unindex(key);
        self.epochs.remove(key);
        self.workloads.remove(key)
    }

    /// Takes a workload out of the dependency index.
    fn unindex(&mut self, key: &WorkloadKey) {
        let Some(old) = self.workloads.get(key) else {
            return;
        };
        for family in families_of(&old.refs) {
            if let Some(set) = self.by_family.get_mut(&family) {
                set.remove(key);
                if set.is_empty() {
                    self.by_family.remove(&family);
                }
            }
        }
        if let Some(set) = self.by_namespace.get_mut(&key.namespace) {
            set.remove(key);
            if set.is_empty() {
                self.by_namespace.remove(&key.namespace);
            }
        }
    }

    /// The workloads a change of `what` touches.
    pub fn dependents(&self, what: &Dependency<'_>) -> Dependents {
        let keys = |set: Option<&OrdSet<WorkloadKey>>| {
            Dependents::Some(set.map(|s| s.iter().cloned().collect()).unwrap_or_default())
        };
        match what {
            Dependency::Stack(name, flavor) => keys(
                self.by_family
                    .get(&((*name).to_owned(), flavor.map(str::to_owned))),
            ),
            Dependency::Depot(ns) => keys(self.by_namespace.get(*ns)),
            Dependency::Settings(ns) if self.release_namespace.as_deref() == Some(*ns) => {
                Dependents::All
            }
            Dependency::Settings(ns) => keys(self.by_namespace.get(*ns)),
        }
    }

    /// Starts a new epoch in which `touched` changed: what was derived from them
    /// before is no longer valid ([`Catalog::epoch_of`]). Returns the new epoch.
    pub fn touch(&mut self, touched: &Dependents) -> u64 {
        self.epoch += 1;
        match touched {
            Dependents::All => self.epoch_all = self.epoch,
            Dependents::Some(keys) => {
                // A workload gone has nothing to invalidate; made again, it is
                // touched then.
                for k in keys.iter().filter(|k| self.workloads.contains_key(*k)) {
                    self.epochs.insert(k.clone(), self.epoch);
                }
            }
        }
        self.epoch
    }

    /// The number of the last change.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Every Stack, by `metadata.name`.
    pub fn stacks(&self) -> impl Iterator<Item = &Arc<Stack>> {
        self.stacks.values()
    }

    /// Every Depot, by namespace and name.
    pub fn depots(&self) -> impl Iterator<Item = &Arc<Depot>> {
        self.depots.values()
    }

    /// Adds everything `part` holds, sharing its entries (a workload is not packed
    /// again): how a catalog is put together from the catalogs of its files. Later
    /// parts replace what earlier ones defined under the same key, except a Stack
    /// version and a namespace's `stackhook-config`, which are defined once (the
    /// first is kept, and the merge reports the second).
    pub fn merge(&mut self, part: &MemoryCatalog) -> Result<(), Vec<InsertError>> {
        let mut errors = Vec::new();
        for (name, stack) in &part.stacks {
            if let Err(e) = self.insert_stack(name.clone(), Arc::clone(stack)) {
                errors.push(e);
            }
        }
        for (key, depot) in &part.depots {
            self.depots.insert(key.clone(), Arc::clone(depot));
        }
        for (ns, entries) in &part.settings {
            if self.settings.contains_key(ns) {
                errors.push(InsertError::DuplicateSettings {
                    namespace: ns.clone(),
                });
                continue;
            }
            self.settings.insert(ns.clone(), Arc::clone(entries));
        }
        for (key, entry) in &part.workloads {
            self.insert_entry(key.clone(), entry.clone());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Whether the catalog holds the workload `key` (decodable or not).
    pub fn contains_workload(&self, key: &WorkloadKey) -> bool {
        self.workloads.contains_key(key)
    }

    /// Every workload's key, in order.
    pub fn workload_keys(&self) -> impl Iterator<Item = &WorkloadKey> {
        self.workloads.keys()
    }

    /// The namespaces that have `stackhook-config` entries.
    pub fn settings_namespaces(&self) -> impl Iterator<Item = &String> {
        self.settings.keys()
    }

    /// The entries of `namespace`, in key order.
    fn entries_in<'a>(
        &'a self,
        namespace: &str,
    ) -> impl Iterator<Item = (&'a WorkloadKey, &'a Entry)> + 'a {
        self.by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .filter_map(|k| self.workloads.get(k).map(|e| (k, e)))
    }

    /// Puts in a workload whose kept copy does not decode (with these Stack
    /// references), for tests of what is done with one.
    #[cfg(test)]
    pub(crate) fn insert_undecodable(&mut self, key: WorkloadKey, refs: &[&str]) {
        let entry = Entry::undecodable(key.kind, refs);
        self.insert_entry(key, entry);
    }

    /// How many resources of each kind the index holds.
    pub fn counts(&self) -> CatalogCounts {
        CatalogCounts {
            stacks: self.stacks.len(),
            depots: self.depots.len(),
            workloads: self.workloads.len(),
        }
    }
}

impl Catalog for MemoryCatalog {
    fn stack_versions(&self, name: &str, flavor: Option<&str>) -> Vec<Arc<Stack>> {
        self.families
            .get(&(name.to_owned(), flavor.map(str::to_owned)))
            .cloned()
            .unwrap_or_default()
    }

    fn stack_families(&self, limit: usize) -> Vec<String> {
        self.families
            .keys()
            .take(limit)
            .map(|(n, f)| match f {
                Some(f) => format!("{n}+{f}"),
                None => n.clone(),
            })
            .collect()
    }

    fn depot(&self, namespace: &str, name: &str) -> Option<Arc<Depot>> {
        self.depots
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    fn workload(&self, namespace: &str, kind: WorkloadKind, name: &str) -> Option<Workload> {
        let key = WorkloadKey {
            namespace: namespace.to_owned(),
            kind,
            name: name.to_owned(),
        };
        self.workloads.get(&key).and_then(|e| e.workload(&key).ok())
    }

    fn workloads(&self) -> Vec<Workload> {
        self.workloads
            .iter()
            .filter_map(|(k, e)| e.workload(k).ok())
            .collect()
    }

    fn workloads_in(&self, namespace: &str) -> Vec<Workload> {
        self.entries_in(namespace)
            .filter_map(|(k, e)| e.workload(k).ok())
            .collect()
    }

    fn undecodable_in(&self, namespace: &str) -> Vec<Undecodable> {
        self.entries_in(namespace)
            .filter_map(|(k, e)| e.workload(k).err())
            .collect()
    }

    fn epoch_of(&self, key: &WorkloadKey) -> u64 {
        self.epochs
            .get(key)
            .copied()
            .unwrap_or(0)
            .max(self.epoch_all)
    }

    fn workloads_using(&self, stack: &Stack) -> Vec<WorkloadKey> {
        // Only the workloads naming the Stack's family can resolve to it.
        let family = (stack.spec.name.clone(), stack.spec.flavor.clone());
        let Some(candidates) = self.by_family.get(&family) else {
            return Vec::new();
        };
        let uses = |r: &str| {
            StackRef::parse(r)
                .ok()
                .and_then(|r| self.stack(&r).ok())
                .is_some_and(|s| s.spec.reference() == stack.spec.reference())
        };
        candidates
            .iter()
            .filter(|k| {
                self.workloads
                    .get(*k)
                    .is_some_and(|e| e.refs.iter().any(|r| uses(r)))
            })
            .cloned()
            .collect()
    }

    fn settings(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Settings {
        let own = self.settings.get(namespace);
        let release = self
            .release_namespace
            .as_deref()
            .filter(|r| *r != namespace)
            .and_then(|r| self.settings.get(r));
        let sources: Vec<&[(String, Settings)]> =
            own.into_iter().chain(release).map(|e| &e[..]).collect();
        crate::settings::resolve(&sources, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Parsed, parse_document};
    use serde_json::{Value, json};

    fn resource(doc: Value) -> Resource {
        match parse_document(doc).unwrap() {
            Parsed::Resource(r) => *r,
            Parsed::Skipped { what } => panic!("skipped {what}"),
        }
    }

    fn stack(meta: &str, name: &str, flavor: Option<&str>, version: &str) -> Resource {
        resource(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
            "metadata": {"name": meta},
            "spec": {"name": name, "flavor": flavor, "version": version}}),
        )
    }

    fn worker(ns: &str, name: &str, stack: &str) -> Resource {
        resource(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": name, "namespace": ns}, "spec": {"stack": stack}}),
        )
    }

    fn catalog() -> MemoryCatalog {
        let mut c = MemoryCatalog::new();
        for r in [
            stack("benthos-3-0", "benthos", None, "3.0"),
            stack("benthos-3-10", "benthos", None, "3.10"),
            stack("benthos-3-9", "benthos", None, "3.9"),
            stack("pf-sink", "pulsar-function", Some("icebase-sink"), "3.0"),
        ] {
            c.insert(r).unwrap();
        }
        c
    }

    #[test]
    fn finds_exact_and_highest_versions() {
        let c = catalog();
        let s = c.stack(&StackRef::parse("benthos:3.9").unwrap()).unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("benthos-3-9"));
        let s = c.stack(&StackRef::parse("benthos").unwrap()).unwrap();
        assert_eq!(s.spec.version, "3.10");
        let s = c
            .stack(&StackRef::parse("pulsar-function+icebase-sink:3.0").unwrap())
            .unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("pf-sink"));
    }

    #[test]
    fn unknown_version_says_which_versions_exist() {
        let e = catalog()
            .stack(&StackRef::parse("benthos:4.0").unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"stack "benthos" has no version "4.0" (available: 3.10, 3.9, 3.0)"#
        );
    }

    #[test]
    fn a_family_written_with_its_flavor_in_the_name_is_the_same_family() {
        let mut c = MemoryCatalog::new();
        c.insert(stack("dbt-1", "dbt+python", None, "1.0")).unwrap();
        c.insert(stack("sodaf-1", "soda", Some("python"), "1.0"))
            .unwrap();
        assert!(c.stack(&StackRef::parse("dbt+python:1.0").unwrap()).is_ok());
        // The hint named it: the mismatch is the version, and it says so.
        let e = c
            .stack(&StackRef::parse("dbt+python:2.0").unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"stack "dbt+python" has no version "2.0" (available: 1.0)"#
        );
        let e = c
            .stack(&StackRef::parse("soda+python:0.9").unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"stack "soda+python" has no version "0.9" (available: 1.0)"#
        );
    }

    #[test]
    fn unknown_stack_lists_known_ones() {
        let e = catalog()
            .stack(&StackRef::parse("flare:5.0").unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"stack "flare" not found; known stacks: benthos, pulsar-function+icebase-sink"#
        );
        // A flavor is part of the identity.
        let e = catalog()
            .stack(&StackRef::parse("pulsar-function:3.0").unwrap())
            .unwrap_err();
        assert!(matches!(e, StackLookupError::UnknownStack { .. }), "{e}");
        let e = MemoryCatalog::new()
            .stack(&StackRef::parse("x").unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"stack "x" not found; the catalog has no Stacks"#
        );
    }

    #[test]
    fn rejects_a_duplicate_stack_but_allows_replacing_itself() {
        let mut c = catalog();
        let e = c
            .insert(stack("other", "benthos", None, "3.0"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"stack benthos:3.0 is defined twice: by "benthos-3-0" and by "other""#
        );
        // Same metadata.name: an update, e.g. a new version of the object.
        c.insert(stack("benthos-3-0", "benthos", None, "3.1"))
            .unwrap();
        let versions: Vec<_> = c
            .stack_versions("benthos", None)
            .iter()
            .map(|s| s.spec.version.clone())
            .collect();
        assert_eq!(versions, ["3.10", "3.9", "3.1"]);
        assert_eq!(c.counts().stacks, 4);
    }

    #[test]
    fn finds_workloads_using_a_stack() {
        let mut c = catalog();
        c.insert(worker("a", "pinned", "benthos:3.9")).unwrap();
        c.insert(worker("a", "latest", "benthos")).unwrap();
        c.insert(worker("b", "other", "benthos:3.0")).unwrap();
        let s39 = c.stack(&StackRef::parse("benthos:3.9").unwrap()).unwrap();
        let s310 = c.stack(&StackRef::parse("benthos:3.10").unwrap()).unwrap();
        let names = |s: &Stack| -> Vec<String> {
            c.workloads_using(s)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(names(&s39), ["Worker a/pinned"]);
        assert_eq!(names(&s310), ["Worker a/latest"]);
        assert_eq!(
            c.workload("a", WorkloadKind::Worker, "pinned")
                .unwrap()
                .name(),
            "pinned"
        );
        assert!(c.workload("a", WorkloadKind::Service, "pinned").is_none());
    }

    #[test]
    fn looks_up_depots_by_namespace() {
        let mut c = MemoryCatalog::new();
        c.insert(resource(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
            "metadata": {"name": "icebase", "namespace": "retail"}, "spec": {"type": "ABFSS"}}),
        ))
        .unwrap();
        assert!(c.depot("retail", "icebase").is_some());
        assert!(c.depot("other", "icebase").is_none());
        assert!(c.remove_depot("retail", "icebase").is_some());
        assert_eq!(c.counts(), CatalogCounts::default());
    }

    #[test]
    fn settings_come_from_the_namespace_then_the_release_namespace() {
        use crate::settings::Settings;
        let mut c = catalog();
        let entry = |suffix: Option<&str>, image: Option<&str>| Settings {
            ingress_domain_suffix: suffix.map(str::to_owned),
            projector_image: image.map(str::to_owned),
            ..Settings::default()
        };
        c.set_settings(
            "team",
            vec![("a".into(), entry(Some("team.example"), None))],
        );
        c.set_settings(
            "system",
            vec![("a".into(), entry(Some("sys.example"), Some("img:1")))],
        );
        let labels = BTreeMap::new();
        // Without a release namespace, only the workload's own.
        assert_eq!(c.settings("team", &labels).projector_image, None);
        c.set_release_namespace(Some("system".into()));
        let s = c.settings("team", &labels);
        assert_eq!(
            (
                s.ingress_domain_suffix.as_deref(),
                s.projector_image.as_deref()
            ),
            (Some("team.example"), Some("img:1"))
        );
        let s = c.settings("elsewhere", &labels);
        assert_eq!(s.ingress_domain_suffix.as_deref(), Some("sys.example"));
    }

    fn key(ns: &str, name: &str) -> WorkloadKey {
        WorkloadKey {
            namespace: ns.into(),
            kind: WorkloadKind::Worker,
            name: name.into(),
        }
    }

    fn with_workers() -> MemoryCatalog {
        let mut c = catalog();
        for r in [
            worker("a", "w1", "benthos:3.9"),
            worker("a", "w2", "pulsar-function+icebase-sink:3.0"),
            worker("b", "w3", "benthos"),
        ] {
            c.insert(r).unwrap();
        }
        c
    }

    #[test]
    fn merging_a_second_stackhook_config_for_a_namespace_keeps_the_first_and_says_so() {
        let part = |suffix: &str| {
            let mut c = MemoryCatalog::new();
            c.set_settings(
                "a",
                vec![(
                    "default".into(),
                    Settings {
                        ingress_domain_suffix: Some(suffix.into()),
                        ..Settings::default()
                    },
                )],
            );
            c
        };
        let mut whole = MemoryCatalog::new();
        assert_eq!(whole.merge(&part("first.example")), Ok(()));
        assert_eq!(
            whole.merge(&part("second.example")),
            Err(vec![InsertError::DuplicateSettings {
                namespace: "a".into()
            }])
        );
        assert_eq!(
            whole
                .settings("a", &BTreeMap::new())
                .ingress_domain_suffix
                .as_deref(),
            Some("first.example")
        );
        assert_eq!(
            InsertError::DuplicateSettings {
                namespace: "a".into()
            }
            .to_string(),
            "stackhook-config for namespace \"a\" is defined twice"
        );
    }

    #[test]
    fn indexes_which_workloads_a_stack_depot_or_settings_change_touches() {
        let mut c = with_workers();
        c.set_release_namespace(Some("sys".into()));
        assert_eq!(
            c.dependents(&Dependency::Stack("benthos", None)),
            Dependents::Some(vec![key("a", "w1"), key("b", "w3")])
        );
        assert_eq!(
            c.dependents(&Dependency::Stack("pulsar-function", None)),
            Dependents::Some(vec![])
        );
        assert_eq!(
            c.dependents(&Dependency::Depot("a")),
            Dependents::Some(vec![key("a", "w1"), key("a", "w2")])
        );
        assert_eq!(c.dependents(&Dependency::Settings("sys")), Dependents::All);
        // A workload that changes its Stack moves in the index; a removed one leaves it.
        c.insert(worker("a", "w1", "pulsar-function+icebase-sink"))
            .unwrap();
        c.remove_workload(&key("b", "w3"));
        assert_eq!(
            c.dependents(&Dependency::Stack("benthos", None)),
            Dependents::Some(vec![])
        );
        assert_eq!(
            c.dependents(&Dependency::Stack("pulsar-function", Some("icebase-sink"))),
            Dependents::Some(vec![key("a", "w1"), key("a", "w2")])
        );
        let benthos = c.stack(&StackRef::parse("benthos:3.9").unwrap()).unwrap();
        assert_eq!(c.workloads_using(&benthos), Vec::<WorkloadKey>::new());
    }

    #[test]
    fn updating_to_a_reloaded_catalog_touches_only_what_changed() {
        let mut c = with_workers();
        let start = c.clone();
        // The same content: nothing touched, no new epoch.
        assert_eq!(c.update_to(&with_workers()), Dependents::Some(vec![]));
        assert_eq!(c.epoch(), 0);
        // One workload changes: it alone gets a new epoch.
        let mut new = with_workers();
        new.insert(worker("a", "w2", "benthos:3.0")).unwrap();
        assert_eq!(c.update_to(&new), Dependents::Some(vec![key("a", "w2")]));
        assert_eq!(
            (c.epoch_of(&key("a", "w2")), c.epoch_of(&key("a", "w1"))),
            (1, 0)
        );
        // A new version of benthos touches every workload naming benthos.
        new.insert(stack("benthos-3-11", "benthos", None, "3.11"))
            .unwrap();
        assert_eq!(
            c.update_to(&new),
            Dependents::Some(vec![key("a", "w1"), key("a", "w2"), key("b", "w3")])
        );
        assert_eq!(
            c.stack(&StackRef::parse("benthos").unwrap())
                .unwrap()
                .spec
                .version,
            "3.11"
        );
        // A reader's snapshot taken before is what it was.
        assert_eq!(start.epoch_of(&key("a", "w2")), 0);
        assert!(
            start
                .stack(&StackRef::parse("benthos:3.11").unwrap())
                .is_err()
        );
        // Removing a workload touches it; the catalog equals the new one's content.
        let mut fewer = new.clone();
        fewer.remove_workload(&key("b", "w3"));
        assert_eq!(c.update_to(&fewer), Dependents::Some(vec![key("b", "w3")]));
        assert_eq!(c.counts(), fewer.counts());
        // Settings of a namespace touch its workloads; the release namespace's, all.
        fewer.set_settings("a", vec![("default".into(), Settings::default())]);
        assert_eq!(
            c.update_to(&fewer),
            Dependents::Some(vec![key("a", "w1"), key("a", "w2")])
        );
        fewer.set_release_namespace(Some("sys".into()));
        assert_eq!(c.update_to(&fewer), Dependents::All);
        assert_eq!(c.epoch_of(&key("a", "w1")), c.epoch());
    }

    fn worker_at(ns: &str, name: &str, stack: &str, generation: i64, phase: &str) -> Resource {
        resource(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"),
                         "generation": generation},
            "spec": {"stack": stack}, "status": {"phase": phase}}),
        )
    }

    fn depot(ns: &str, name: &str, bucket: &str) -> Resource {
        resource(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"type": "S3", "spec": {"bucket": bucket}}}),
        )
    }

    fn touched(keys: &[(&str, &str)]) -> Dependents {
        Dependents::Some(keys.iter().map(|(ns, n)| key(ns, n)).collect())
    }

    #[test]
    fn a_workload_event_touches_that_workload_and_a_status_write_touches_nothing() {
        let mut c = with_workers();
        c.touch(&Dependents::All);
        let before = c.epoch_of(&key("a", "w2"));
        let applied = c.apply([Change::Upsert(worker_at(
            "a",
            "w1",
            "benthos:3.0",
            1,
            "Pending",
        ))]);
        assert_eq!(applied.touched, touched(&[("a", "w1")]));
        assert!(applied.problems.is_empty());
        assert!(c.epoch_of(&key("a", "w1")) > before);
        assert_eq!(c.epoch_of(&key("a", "w2")), before);
        // The index follows the workload to its new Stack version (same family).
        assert_eq!(
            c.dependents(&Dependency::Stack("benthos", None)),
            touched(&[("a", "w1"), ("b", "w3")])
        );

        let epoch = c.epoch();
        let applied = c.apply([Change::Upsert(worker_at(
            "a",
            "w1",
            "benthos:3.0",
            1,
            "Running",
        ))]);
        assert_eq!(applied.touched, Dependents::Some(Vec::new()));
        assert_eq!(c.epoch(), epoch);
        // The newer object is kept (not the one the store dropped).
        let w = c.workload("a", WorkloadKind::Worker, "w1").unwrap();
        assert_eq!(w.status().and_then(|s| s.phase.as_deref()), Some("Running"));

        let applied = c.apply([Change::Upsert(worker_at(
            "a",
            "w1",
            "benthos:3.0",
            2,
            "Running",
        ))]);
        assert_eq!(applied.touched, touched(&[("a", "w1")]));
        let applied = c.apply([Change::RemoveWorkload(key("a", "w1"))]);
        assert_eq!(applied.touched, touched(&[("a", "w1")]));
        assert!(c.workload("a", WorkloadKind::Worker, "w1").is_none());
        assert_eq!(
            c.dependents(&Dependency::Stack("benthos", None)),
            touched(&[("b", "w3")])
        );
        // Removing what is not there is no change.
        assert_eq!(
            c.apply([Change::RemoveWorkload(key("a", "w1"))]).touched,
            touched(&[])
        );
    }

    #[test]
    fn a_stack_change_touches_the_workloads_of_its_family_only() {
        let mut c = with_workers();
        let mut changed = match stack("benthos-3-9", "benthos", None, "3.9") {
            Resource::Stack(s) => (*s).clone(),
            _ => unreachable!(),
        };
        changed.spec.command = vec!["changed".into()];
        let applied = c.apply([Change::Upsert(Resource::Stack(Arc::new(changed)))]);
        assert_eq!(applied.touched, touched(&[("a", "w1"), ("b", "w3")]));
        // The same Stack again is no change.
        let again = c
            .stacks()
            .find(|s| s.spec.version == "3.9")
            .cloned()
            .unwrap();
        assert_eq!(
            c.apply([Change::Upsert(Resource::Stack(again))]).touched,
            touched(&[])
        );
        let applied = c.apply([Change::RemoveStack("pf-sink".into())]);
        assert_eq!(applied.touched, touched(&[("a", "w2")]));
    }

    #[test]
    fn a_stack_left_out_for_a_version_another_defines_joins_when_that_one_goes() {
        let mut c = with_workers();
        let applied = c.apply([Change::Upsert(stack(
            "benthos-renamed",
            "benthos",
            None,
            "3.9",
        ))]);
        assert_eq!(
            applied.problems,
            vec![InsertError::DuplicateStack {
                reference: "benthos:3.9".into(),
                existing: "benthos-3-9".into(),
                new: "benthos-renamed".into(),
            }]
        );
        assert_eq!(applied.touched, touched(&[]));
        // A rename is a create and a delete, in either order.
        let applied = c.apply([Change::RemoveStack("benthos-3-9".into())]);
        assert_eq!(applied.touched, touched(&[("a", "w1"), ("b", "w3")]));
        let s = c.stack(&StackRef::parse("benthos:3.9").unwrap()).unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("benthos-renamed"));
    }

    #[test]
    fn depot_and_settings_changes_touch_the_workloads_of_their_namespace() {
        let mut c = with_workers();
        let applied = c.apply([Change::Upsert(depot("a", "lake", "b1"))]);
        assert_eq!(applied.touched, touched(&[("a", "w1"), ("a", "w2")]));
        assert_eq!(
            c.apply([Change::Upsert(depot("a", "lake", "b1"))]).touched,
            touched(&[])
        );
        let applied = c.apply([Change::RemoveDepot {
            namespace: "a".into(),
            name: "lake".into(),
        }]);
        assert_eq!(applied.touched, touched(&[("a", "w1"), ("a", "w2")]));
        assert!(c.depot("a", "lake").is_none());

        let entries = vec![("*".to_owned(), Settings::default())];
        let set = Change::Settings {
            namespace: "b".into(),
            entries: Some(entries),
        };
        assert_eq!(c.apply([set.clone()]).touched, touched(&[("b", "w3")]));
        assert_eq!(c.apply([set]).touched, touched(&[]));
        c.set_release_namespace(Some("b".into()));
        let gone = Change::Settings {
            namespace: "b".into(),
            entries: None,
        };
        assert_eq!(c.apply([gone]).touched, Dependents::All);
    }

    #[test]
    fn a_compact_catalog_answers_as_a_shared_one_and_reloads_touch_only_what_changed() {
        let mut shared = with_workers();
        let mut compact = MemoryCatalog::compact();
        compact.update_to(&shared);
        for r in [
            worker_at("c", "w4", "benthos:3.0", 3, "Running"),
            depot("c", "lake", "b"),
        ] {
            shared.insert(r.clone()).unwrap();
            compact.insert(r).unwrap();
        }
        assert_eq!(compact.workloads(), shared.workloads());
        assert_eq!(compact.workloads_in("a"), shared.workloads_in("a"));
        let benthos = c_stack(&shared, "3.0");
        assert_eq!(
            compact.workloads_using(&benthos),
            shared.workloads_using(&benthos)
        );
        assert_eq!(compact.workloads_using(&benthos), vec![key("c", "w4")]);

        let mut reloaded = MemoryCatalog::compact();
        reloaded.update_to(&compact);
        reloaded.insert(worker("a", "w1", "benthos:3.0")).unwrap();
        assert_eq!(compact.update_to(&reloaded), touched(&[("a", "w1")]));
    }

    fn c_stack(c: &MemoryCatalog, version: &str) -> Arc<Stack> {
        c.stacks()
            .find(|s| s.spec.version == version)
            .cloned()
            .unwrap()
    }
}
