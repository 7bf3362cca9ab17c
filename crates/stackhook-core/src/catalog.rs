//! The catalog: every lookup the engine makes, behind one trait, so that admission,
//! the CLI and the controller read the same store and never the API server.
//!
//! [`MemoryCatalog`] is the index behind it. The binary fills it from files (the
//! embedded default) or from Kubernetes watches; tests fill it by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{Depot, Resource, Stack, StackRef, Workload, WorkloadKind, compare_versions};
use crate::settings::Settings;

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

    /// The per-namespace settings (`stackhook-config`, SPEC §5) for a workload in
    /// `namespace` with `labels`; none by default.
    fn settings(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Settings {
        let _ = (namespace, labels);
        Settings::default()
    }

    /// The Stack a reference names: the exact version, or the highest when the
    /// reference has none.
    fn stack(&self, reference: &StackRef) -> Result<Arc<Stack>, StackLookupError> {
        let versions = self.stack_versions(&reference.name, reference.flavor.as_deref());
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
    /// The resource has no `metadata.name`.
    #[error("{kind} has no metadata.name")]
    MissingName {
        /// The kind.
        kind: &'static str,
    },
}

type FamilyKey = (String, Option<String>);

/// The in-memory index.
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    stacks: BTreeMap<String, Arc<Stack>>,
    /// `(name, flavor)` → versions, highest first.
    families: BTreeMap<FamilyKey, Vec<Arc<Stack>>>,
    depots: BTreeMap<(String, String), Arc<Depot>>,
    workloads: BTreeMap<WorkloadKey, Workload>,
    /// `stackhook-config` entries by namespace.
    settings: BTreeMap<String, Arc<[(String, Settings)]>>,
    /// The namespace whose `stackhook-config` applies after the workload's own.
    release_namespace: Option<String>,
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
                self.workloads.insert(key, w);
                Ok(())
            }
        }
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
        self.workloads.remove(key)
    }

    /// Every Stack, by `metadata.name`.
    pub fn stacks(&self) -> impl Iterator<Item = &Arc<Stack>> {
        self.stacks.values()
    }

    /// Every Depot, by namespace and name.
    pub fn depots(&self) -> impl Iterator<Item = &Arc<Depot>> {
        self.depots.values()
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
        self.workloads
            .get(&WorkloadKey {
                namespace: namespace.to_owned(),
                kind,
                name: name.to_owned(),
            })
            .cloned()
    }

    fn workloads(&self) -> Vec<Workload> {
        self.workloads.values().cloned().collect()
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
}
