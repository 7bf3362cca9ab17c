//! Changes of what the catalog is built from, applied as one step in time
//! proportional to the changes and to the workloads they touch — never to the size of
//! the catalog. A watch event is one [`Change`]; a reload of files is the difference
//! of two catalogs ([`MemoryCatalog::update_to`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Dependency, Dependents, Entry, InsertError, MemoryCatalog, WorkloadKey};
use crate::model::{Resource, Stack};
use crate::settings::Settings;

/// One change of what the catalog is built from, for [`MemoryCatalog::apply`].
#[derive(Clone, Debug)]
pub enum Change {
    /// A resource added or changed (identified by kind, namespace and `metadata.name`).
    Upsert(Resource),
    /// The Stack with this `metadata.name` deleted.
    RemoveStack(String),
    /// A Depot deleted.
    RemoveDepot {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A workload deleted.
    RemoveWorkload(WorkloadKey),
    /// The `stackhook-config` entries of a namespace set, or (`None`) deleted.
    Settings {
        /// The namespace.
        namespace: String,
        /// The entries (see [`crate::settings::entries`]).
        entries: Option<Vec<(String, Settings)>>,
    },
}

/// What [`MemoryCatalog::apply`] did.
#[derive(Debug)]
pub struct Applied {
    /// The workloads whose plans and Stamps may have changed (they got a new epoch).
    pub touched: Dependents,
    /// What could not join: a Stack defining a version another Stack defines (it
    /// joins when that one goes), a resource without a name.
    pub problems: Vec<InsertError>,
}

enum Op {
    Change(Change),
    Entry(WorkloadKey, Entry),
}

#[derive(Default)]
struct Touched {
    all: bool,
    keys: BTreeSet<WorkloadKey>,
}

impl Touched {
    fn add(&mut self, d: Dependents) {
        match d {
            Dependents::All => self.all = true,
            Dependents::Some(keys) => self.keys.extend(keys),
        }
    }
}

fn name_of(r: &Resource) -> Result<String, InsertError> {
    r.meta()
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or(InsertError::MissingName { kind: r.kind() })
}

impl MemoryCatalog {
    /// Applies `changes` in order, as one change of the catalog: what they touch gets
    /// a new epoch; everything else (and what was derived from it) is kept. A change
    /// to what the catalog already holds — a workload's status written, an object
    /// applied unchanged — touches nothing.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = Change>) -> Applied {
        self.apply_ops(changes.into_iter().map(Op::Change))
    }

    /// Makes this catalog hold what `new` holds, as one change: entries that are
    /// equal in both are kept as they are (with what was derived from them, see
    /// [`super::Catalog::epoch_of`]), the others replaced or removed. What it touched.
    pub fn update_to(&mut self, new: &MemoryCatalog) -> Dependents {
        let mut ops = Vec::new();
        // Every changed Stack out first, so a version moving between two Stacks is
        // never defined twice on the way.
        for (name, old) in &self.stacks {
            if new.stacks.get(name).is_none_or(|n| n != old) {
                ops.push(Op::Change(Change::RemoveStack(name.clone())));
            }
        }
        for (name, stack) in &new.stacks {
            if self.stacks.get(name) != Some(stack) {
                ops.push(Op::Change(Change::Upsert(Resource::Stack(Arc::clone(
                    stack,
                )))));
            }
        }
        for (namespace, name) in self.depots.keys() {
            if !new.depots.contains_key(&(namespace.clone(), name.clone())) {
                ops.push(Op::Change(Change::RemoveDepot {
                    namespace: namespace.clone(),
                    name: name.clone(),
                }));
            }
        }
        for (key, depot) in &new.depots {
            if self.depots.get(key) != Some(depot) {
                ops.push(Op::Change(Change::Upsert(Resource::Depot(Arc::clone(
                    depot,
                )))));
            }
        }
        for ns in self.settings.keys() {
            if !new.settings.contains_key(ns) {
                ops.push(Op::Change(Change::Settings {
                    namespace: ns.clone(),
                    entries: None,
                }));
            }
        }
        for (ns, entries) in &new.settings {
            if self.settings.get(ns) != Some(entries) {
                ops.push(Op::Change(Change::Settings {
                    namespace: ns.clone(),
                    entries: Some(entries.to_vec()),
                }));
            }
        }
        for key in self.workloads.keys() {
            if !new.workloads.contains_key(key) {
                ops.push(Op::Change(Change::RemoveWorkload(key.clone())));
            }
        }
        for (key, entry) in &new.workloads {
            if !self
                .workloads
                .get(key)
                .is_some_and(|e| e.same_version(entry))
            {
                ops.push(Op::Entry(key.clone(), entry.clone()));
            }
        }
        let all = self.release_namespace != new.release_namespace;
        self.release_namespace.clone_from(&new.release_namespace);
        let mut applied = self.apply_ops(ops);
        if all {
            applied.touched = Dependents::All;
            self.touch(&Dependents::All);
        }
        applied.touched
    }

    fn apply_ops(&mut self, ops: impl IntoIterator<Item = Op>) -> Applied {
        let mut touched = Touched::default();
        let mut depot_namespaces = BTreeSet::new();
        let mut settings_namespaces = BTreeSet::new();
        let mut problems = Vec::new();
        for op in ops {
            match op {
                Op::Entry(key, entry) => self.upsert_entry(key, entry, &mut touched),
                Op::Change(Change::Upsert(resource)) => {
                    let name = match name_of(&resource) {
                        Ok(n) => n,
                        Err(e) => {
                            problems.push(e);
                            continue;
                        }
                    };
                    let namespace = resource.meta().namespace.clone().unwrap_or_default();
                    match resource {
                        Resource::Stack(stack) => {
                            self.upsert_stack(name, stack, &mut touched, &mut problems);
                        }
                        Resource::Depot(depot) => {
                            let key = (namespace, name);
                            if self.depots.get(&key) != Some(&depot) {
                                depot_namespaces.insert(key.0.clone());
                                self.depots.insert(key, depot);
                            }
                        }
                        Resource::Workload(w) => {
                            let key = WorkloadKey {
                                namespace,
                                kind: w.kind(),
                                name,
                            };
                            let entry = self.entry_of(w);
                            self.upsert_entry(key, entry, &mut touched);
                        }
                    }
                }
                Op::Change(Change::RemoveStack(name)) => {
                    self.rejected_stacks.remove(&name);
                    if let Some(old) = self.remove_stack(&name) {
                        touched.add(self.family_dependents(&old));
                        self.retry_rejected(&mut touched);
                    }
                }
                Op::Change(Change::RemoveDepot { namespace, name }) => {
                    if self.depots.remove(&(namespace.clone(), name)).is_some() {
                        depot_namespaces.insert(namespace);
                    }
                }
                Op::Change(Change::RemoveWorkload(key)) => {
                    if self.drop_workload(&key).is_some() {
                        touched.keys.insert(key);
                    }
                }
                Op::Change(Change::Settings { namespace, entries }) => {
                    let entries: Option<Arc<[(String, Settings)]>> = entries.map(Into::into);
                    if self.settings.get(&namespace) != entries.as_ref() {
                        match entries {
                            Some(e) => self.settings.insert(namespace.clone(), e),
                            None => self.settings.remove(&namespace),
                        };
                        settings_namespaces.insert(namespace);
                    }
                }
            }
        }
        // Namespaces' dependents after the workloads changed, so new ones count.
        for ns in &depot_namespaces {
            touched.add(self.dependents(&Dependency::Depot(ns)));
        }
        for ns in &settings_namespaces {
            touched.add(self.dependents(&Dependency::Settings(ns)));
        }
        let touched = if touched.all {
            Dependents::All
        } else {
            Dependents::Some(touched.keys.into_iter().collect())
        };
        if touched != Dependents::Some(Vec::new()) {
            self.touch(&touched);
        }
        Applied { touched, problems }
    }

    fn upsert_entry(&mut self, key: WorkloadKey, entry: Entry, touched: &mut Touched) {
        if let Some(old) = self.workloads.get(&key)
            && old.same_version(&entry)
        {
            // The newer object (a status written), so the older one is not kept
            // alive beside it; nothing derived from it changes.
            self.workloads.insert(key, entry);
            return;
        }
        self.insert_entry(key.clone(), entry);
        touched.keys.insert(key);
    }

    fn upsert_stack(
        &mut self,
        name: String,
        stack: Arc<Stack>,
        touched: &mut Touched,
        problems: &mut Vec<InsertError>,
    ) {
        if self.stacks.get(&name) == Some(&stack) {
            return;
        }
        self.rejected_stacks.remove(&name);
        let replaced = self.remove_stack(&name);
        if let Some(old) = &replaced {
            touched.add(self.family_dependents(old));
        }
        match self.insert_stack(name.clone(), Arc::clone(&stack)) {
            Ok(()) => touched.add(self.family_dependents(&stack)),
            Err(e) => {
                self.rejected_stacks.insert(name, stack);
                problems.push(e);
            }
        }
        if replaced.is_some() {
            self.retry_rejected(touched);
        }
    }

    /// Lets in the Stacks left out for a version another Stack defined, now that a
    /// Stack went or changed.
    fn retry_rejected(&mut self, touched: &mut Touched) {
        let waiting: Vec<(String, Arc<Stack>)> = self
            .rejected_stacks
            .iter()
            .map(|(n, s)| (n.clone(), Arc::clone(s)))
            .collect();
        for (name, stack) in waiting {
            if self.insert_stack(name.clone(), Arc::clone(&stack)).is_ok() {
                self.rejected_stacks.remove(&name);
                touched.add(self.family_dependents(&stack));
            }
        }
    }

    fn family_dependents(&self, stack: &Stack) -> Dependents {
        self.dependents(&Dependency::Stack(
            &stack.spec.name,
            stack.spec.flavor.as_deref(),
        ))
    }
}
