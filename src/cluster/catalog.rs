//! The catalog from Kubernetes watches (`--kube`): one watch per kind — Stacks,
//! Depots, Workers, Services, Workflows and `stackhook-config` ConfigMaps — and each
//! event becomes a [`Change`] of the served catalog, applied in time proportional to
//! what it touches (never a rebuild). Each object is held once: the webhook alone
//! keeps no stores and its catalog keeps the objects packed; with the controller in
//! the process, reflector stores keep them, the catalog shares the stores' own
//! objects, and the controller reconciles from the same stores. The admission path
//! reads the catalog and never calls the API server.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::catalog::{Applied, Change, Dependents, WorkloadKey};
use stackhook_core::model::{Depot, Service, Stack, Worker, Workflow, WorkloadKind};
use stackhook_core::settings::{self, CONFIG_MAP_NAME};
use tokio::sync::mpsc;

use crate::shared::live::{LiveCatalog, touched_count};
use crate::shared::metrics::Metrics;
use crate::shared::{Stores, Touched};

/// How many watch updates one catalog change gathers at most: a burst (a
/// `kubectl apply -f dir/`, a relist) makes few swaps, and a swap stays short.
const MAX_BATCH: usize = 512;

/// How many updates the watches may be ahead of the catalog before they wait.
const BACKLOG: usize = 1024;

/// The kinds the catalog is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Stacks.
    Stack,
    /// Depots.
    Depot,
    /// Workers, Services or Workflows.
    Workload(WorkloadKind),
    /// `stackhook-config` ConfigMaps.
    Settings,
}

const KINDS: usize = 6;

/// What a watch tells the catalog.
#[derive(Debug)]
pub enum Update {
    /// Objects changed or went (the store has taken them).
    Changes(Vec<Change>),
    /// A list of this kind began (without a store: its objects follow as changes).
    Relisting(Kind),
    /// A list of this kind ended: every object of it has been seen (objects deleted
    /// while the watch was down were not, and go from the catalog).
    Listed(Kind),
}

/// A kind the catalog watches: how its objects enter and leave the catalog.
pub trait Watched:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static
{
    /// Which kind.
    const KIND: Kind;
    /// The change that puts `object` (the store's own) in the catalog, if any.
    fn upsert(object: Arc<Self>) -> Option<Change>;
    /// The change that takes `object` out, if any.
    fn removal(object: &Self) -> Option<Change>;
}

impl Watched for Stack {
    const KIND: Kind = Kind::Stack;
    fn upsert(object: Arc<Self>) -> Option<Change> {
        Some(Change::Upsert(stackhook_core::model::Resource::Stack(
            object,
        )))
    }
    fn removal(object: &Self) -> Option<Change> {
        Some(Change::RemoveStack(object.name_any()))
    }
}

impl Watched for Depot {
    const KIND: Kind = Kind::Depot;
    fn upsert(object: Arc<Self>) -> Option<Change> {
        Some(Change::Upsert(stackhook_core::model::Resource::Depot(
            object,
        )))
    }
    fn removal(object: &Self) -> Option<Change> {
        Some(Change::RemoveDepot {
            namespace: object.namespace().unwrap_or_default(),
            name: object.name_any(),
        })
    }
}

macro_rules! watched_workload {
    ($ty:ident) => {
        impl Watched for $ty {
            const KIND: Kind = Kind::Workload(WorkloadKind::$ty);
            fn upsert(object: Arc<Self>) -> Option<Change> {
                Some(Change::Upsert(stackhook_core::model::Resource::Workload(
                    stackhook_core::model::Workload::$ty(object),
                )))
            }
            fn removal(object: &Self) -> Option<Change> {
                Some(Change::RemoveWorkload(WorkloadKey {
                    namespace: object.namespace().unwrap_or_default(),
                    kind: WorkloadKind::$ty,
                    name: object.name_any(),
                }))
            }
        }
    };
}
watched_workload!(Worker);
watched_workload!(Service);
watched_workload!(Workflow);

impl Watched for ConfigMap {
    const KIND: Kind = Kind::Settings;
    fn upsert(object: Arc<Self>) -> Option<Change> {
        // The watch asks for `stackhook-config` only; any other ConfigMap (a
        // rendered one) is not settings, whatever the API server sends.
        if object.name_any() != CONFIG_MAP_NAME {
            return None;
        }
        let namespace = object.namespace().unwrap_or_default();
        let entries = match settings_of(&object) {
            Ok(entries) => Some(entries),
            Err(problem) => {
                // One broken ConfigMap must not take admission down for everyone:
                // the namespace gets no settings until it is fixed.
                tracing::warn!(problem = %problem, "stackhook-config left out of the catalog");
                None
            }
        };
        Some(Change::Settings { namespace, entries })
    }
    fn removal(object: &Self) -> Option<Change> {
        (object.name_any() == CONFIG_MAP_NAME).then(|| Change::Settings {
            namespace: object.namespace().unwrap_or_default(),
            entries: None,
        })
    }
}

/// The entries of a `stackhook-config` ConfigMap, or why it cannot be read.
pub fn settings_of(cm: &ConfigMap) -> Result<Vec<(String, settings::Settings)>, String> {
    serde_json::to_value(cm)
        .map_err(|e| e.to_string())
        .and_then(|v| settings::entries(&v).map_err(|e| e.to_string()))
}

/// The changes that make the catalog hold what the store of `kind` holds after a
/// list: every object upserted (unchanged ones touch nothing) and the catalog's
/// objects of that kind the store no longer has removed.
pub fn relist(kind: Kind, stores: &Stores, catalog: &MemoryCatalog) -> Vec<Change> {
    fn listed<K: Watched>(store: &Store<K>, gone: impl Iterator<Item = Change>) -> Vec<Change> {
        let mut changes: Vec<Change> = gone.collect();
        changes.extend(store.state().into_iter().filter_map(K::upsert));
        changes
    }
    match kind {
        Kind::Stack => listed(
            &stores.stacks,
            catalog
                .stacks()
                .filter_map(|s| s.metadata.name.clone())
                .filter(|n| stores.stacks.get(&ObjectRef::new(n)).is_none())
                .map(Change::RemoveStack),
        ),
        Kind::Depot => listed(
            &stores.depots,
            catalog
                .depots()
                .map(|d| (d.namespace().unwrap_or_default(), d.name_any()))
                .filter(|(ns, n)| stores.depots.get(&ObjectRef::new(n).within(ns)).is_none())
                .map(|(namespace, name)| Change::RemoveDepot { namespace, name }),
        ),
        Kind::Workload(k) => {
            fn has<K: Watched>(store: &Store<K>, key: &WorkloadKey) -> bool {
                store
                    .get(&ObjectRef::new(&key.name).within(&key.namespace))
                    .is_some()
            }
            let present = |key: &WorkloadKey| match k {
                WorkloadKind::Worker => has(&stores.workers, key),
                WorkloadKind::Service => has(&stores.services, key),
                WorkloadKind::Workflow => has(&stores.workflows, key),
            };
            let gone = catalog
                .workload_keys()
                .filter(|key| key.kind == k && !present(key))
                .cloned()
                .map(Change::RemoveWorkload);
            match k {
                WorkloadKind::Worker => listed(&stores.workers, gone),
                WorkloadKind::Service => listed(&stores.services, gone),
                WorkloadKind::Workflow => listed(&stores.workflows, gone),
            }
        }
        Kind::Settings => listed(
            &stores.configs,
            catalog
                .settings_namespaces()
                .filter(|ns| {
                    stores
                        .configs
                        .get(&ObjectRef::new(CONFIG_MAP_NAME).within(ns))
                        .is_none()
                })
                .map(|ns| Change::Settings {
                    namespace: ns.clone(),
                    entries: None,
                }),
        ),
    }
}

/// Starts one watch: its events go to `tx` — once the store has them when `keep`
/// (the controller reads the store), else straight (the catalog, packed, is the
/// only copy).
fn reflect<K: Watched>(
    api: Api<K>,
    config: watcher::Config,
    tx: mpsc::Sender<Update>,
    keep: bool,
    state: Arc<LiveCatalog>,
) -> (Option<Store<K>>, futures::future::BoxFuture<'static, ()>) {
    let kind = K::kind(&()).into_owned();
    let watch = relisting_watcher(api, config)
        .default_backoff()
        // Managed fields are most of an object's size and nothing here reads them.
        .modify(|o| o.managed_fields_mut().clear());
    let (reader, events) = if keep {
        let (reader, writer) = reflector::store();
        (Some(reader), reflector::reflector(writer, watch).boxed())
    } else {
        (None, watch.boxed())
    };
    let store = reader.clone();
    let drive = async move {
        let mut events = events;
        while let Some(event) = events.next().await {
            let update = match (event, &store) {
                (Ok(watcher::Event::Apply(o)), Some(store)) => {
                    // The store's copy, so that the catalog holds no second one.
                    let object = store
                        .get(&ObjectRef::from_obj(&o))
                        .unwrap_or_else(|| Arc::new(o));
                    Update::Changes(K::upsert(object).into_iter().collect())
                }
                (Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)), None) => {
                    Update::Changes(K::upsert(Arc::new(o)).into_iter().collect())
                }
                (Ok(watcher::Event::Delete(o)), _) => {
                    Update::Changes(K::removal(&o).into_iter().collect())
                }
                (Ok(watcher::Event::Init), None) => Update::Relisting(K::KIND),
                (Ok(watcher::Event::InitDone), _) => {
                    // Listed (again): the catalog is current for this kind, once the
                    // update below is applied; a decision made before it was made on
                    // the catalog of the last list, within the staleness bound.
                    state.source_up(&kind);
                    Update::Listed(K::KIND)
                }
                // With a store, the list is read from it when it ends.
                (Ok(watcher::Event::Init | watcher::Event::InitApply(_)), Some(_)) => continue,
                (Err(e), _) => {
                    state.source_down(&kind);
                    tracing::warn!(kind = %kind, error = %e, "watch failed; listing again");
                    continue;
                }
            };
            if tx.send(update).await.is_err() {
                return;
            }
        }
    };
    (reader, Box::pin(drive))
}

/// A watch that starts over with a fresh list after any error. kube's watcher
/// resumes a broken watch from its last resourceVersion and says nothing when it is
/// back; listing again ends in an `InitDone` that says the catalog holds what the
/// cluster holds, which is what the staleness bound waits for (an API server restart
/// costs one list per kind).
fn relisting_watcher<K: Watched>(
    api: Api<K>,
    config: watcher::Config,
) -> impl futures::Stream<Item = watcher::Result<watcher::Event<K>>> + Send + 'static {
    restarted_after_error(move || watcher(api.clone(), config.clone()).boxed())
}

/// The items of the stream `start` makes, and after each error (passed on) those of a
/// new one it makes: the rest of the failed stream is never read.
fn restarted_after_error<S, T, E>(
    start: impl Fn() -> S + Send + 'static,
) -> impl futures::Stream<Item = Result<T, E>> + Send + 'static
where
    S: futures::Stream<Item = Result<T, E>> + Unpin + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let first = start();
    futures::stream::unfold((first, start), |(mut inner, start)| async move {
        match inner.next().await {
            Some(Err(e)) => {
                let fresh = start();
                Some((Err(e), (fresh, start)))
            }
            Some(event) => Some((event, (inner, start))),
            None => None,
        }
    })
}

/// An object's identity within its kind: (namespace, name).
type Seen = BTreeSet<(String, String)>;

/// What a change is of: its kind and (namespace, name).
fn identity(change: &Change) -> Option<(Kind, (String, String))> {
    match change {
        Change::Upsert(r) => {
            let kind = match r {
                stackhook_core::model::Resource::Stack(_) => Kind::Stack,
                stackhook_core::model::Resource::Depot(_) => Kind::Depot,
                stackhook_core::model::Resource::Workload(w) => Kind::Workload(w.kind()),
            };
            let m = r.meta();
            Some((
                kind,
                (
                    m.namespace.clone().unwrap_or_default(),
                    m.name.clone().unwrap_or_default(),
                ),
            ))
        }
        Change::Settings { namespace, .. } => Some((
            Kind::Settings,
            (namespace.clone(), CONFIG_MAP_NAME.to_owned()),
        )),
        _ => None,
    }
}

/// The removals that end a list without a store: the catalog's objects of `kind`
/// the list did not have.
fn unseen(kind: Kind, seen: &Seen, catalog: &MemoryCatalog) -> Vec<Change> {
    let has = |ns: &str, name: &str| seen.contains(&(ns.to_owned(), name.to_owned()));
    match kind {
        Kind::Stack => catalog
            .stacks()
            .filter_map(|s| s.metadata.name.clone())
            .filter(|n| !has("", n))
            .map(Change::RemoveStack)
            .collect(),
        Kind::Depot => catalog
            .depots()
            .map(|d| (d.namespace().unwrap_or_default(), d.name_any()))
            .filter(|(ns, n)| !has(ns, n))
            .map(|(namespace, name)| Change::RemoveDepot { namespace, name })
            .collect(),
        Kind::Workload(k) => catalog
            .workload_keys()
            .filter(|key| key.kind == k && !has(&key.namespace, &key.name))
            .cloned()
            .map(Change::RemoveWorkload)
            .collect(),
        Kind::Settings => catalog
            .settings_namespaces()
            .filter(|ns| !has(ns, CONFIG_MAP_NAME))
            .map(|ns| Change::Settings {
                namespace: ns.clone(),
                entries: None,
            })
            .collect(),
    }
}

/// Merges what two changes touched.
fn merge(a: Dependents, b: Dependents) -> Dependents {
    match (a, b) {
        (Dependents::All, _) | (_, Dependents::All) => Dependents::All,
        (Dependents::Some(a), Dependents::Some(b)) => {
            let keys: BTreeSet<WorkloadKey> = a.into_iter().chain(b).collect();
            Dependents::Some(keys.into_iter().collect())
        }
    }
}

/// What the catalog task keeps between batches.
#[derive(Default)]
pub struct Progress {
    /// The kinds whose first list has ended.
    pub listed: BTreeSet<Kind>,
    /// Without stores: the objects seen by each list under way.
    relisting: std::collections::BTreeMap<Kind, Seen>,
}

/// Applies a batch of updates to `catalog`, in order. `stores` are the reflectors'
/// when kept (a list is then read from its store), else `None`. What the batch
/// touched, and what could not join.
pub fn apply_batch(
    catalog: &mut MemoryCatalog,
    stores: Option<&Stores>,
    batch: Vec<Update>,
    progress: &mut Progress,
) -> (Dependents, Vec<String>) {
    let mut touched = Dependents::Some(Vec::new());
    let mut problems = Vec::new();
    for update in batch {
        let changes = match update {
            Update::Changes(changes) => {
                for c in &changes {
                    if let Some((kind, id)) = identity(c)
                        && let Some(seen) = progress.relisting.get_mut(&kind)
                    {
                        seen.insert(id);
                    }
                }
                changes
            }
            Update::Relisting(kind) => {
                progress.relisting.insert(kind, Seen::new());
                continue;
            }
            Update::Listed(kind) => {
                progress.listed.insert(kind);
                match (stores, progress.relisting.remove(&kind)) {
                    (Some(stores), _) => relist(kind, stores, catalog),
                    (None, Some(seen)) => unseen(kind, &seen, catalog),
                    (None, None) => Vec::new(),
                }
            }
        };
        let Applied {
            touched: t,
            problems: p,
        } = catalog.apply(changes);
        touched = merge(touched, t);
        problems.extend(p.into_iter().map(|e| e.to_string()));
    }
    (touched, problems)
}

/// Starts the watches that keep `state` current. With `keep_stores` (the controller
/// runs in this process) the objects are kept in reflector stores, which the catalog
/// shares and the controller reconciles from; without, the catalog keeps them packed
/// and is their only copy. Ready once every watch has listed. Each change's touched
/// workloads go to `touched_tx` (for the controller).
pub fn start(
    client: Client,
    state: Arc<LiveCatalog>,
    metrics: Arc<Metrics>,
    release_namespace: Option<String>,
    touched_tx: Touched,
    keep_stores: bool,
) -> Option<Stores> {
    let (tx, rx) = mpsc::channel(BACKLOG);
    let config = watcher::Config::default();
    let keep = keep_stores;
    let (stacks, d1) = reflect(
        Api::<Stack>::all(client.clone()),
        config.clone(),
        tx.clone(),
        keep,
        Arc::clone(&state),
    );
    let (depots, d2) = reflect(
        Api::<Depot>::all(client.clone()),
        config.clone(),
        tx.clone(),
        keep,
        Arc::clone(&state),
    );
    let (workers, d3) = reflect(
        Api::<Worker>::all(client.clone()),
        config.clone(),
        tx.clone(),
        keep,
        Arc::clone(&state),
    );
    let (services, d4) = reflect(
        Api::<Service>::all(client.clone()),
        config.clone(),
        tx.clone(),
        keep,
        Arc::clone(&state),
    );
    let (workflows, d5) = reflect(
        Api::<Workflow>::all(client.clone()),
        config,
        tx.clone(),
        keep,
        Arc::clone(&state),
    );
    let (configs, d6) = reflect(
        Api::<ConfigMap>::all(client),
        watcher::Config::default().fields(&format!("metadata.name={CONFIG_MAP_NAME}")),
        tx,
        keep,
        Arc::clone(&state),
    );
    let stores = match (stacks, depots, workers, services, workflows, configs) {
        (
            Some(stacks),
            Some(depots),
            Some(workers),
            Some(services),
            Some(workflows),
            Some(configs),
        ) => Some(Stores {
            stacks,
            depots,
            workers,
            services,
            workflows,
            configs,
        }),
        _ => None,
    };
    for drive in [d1, d2, d3, d4, d5, d6] {
        tokio::spawn(drive);
    }
    tokio::spawn(run(
        stores.clone(),
        state,
        metrics,
        release_namespace,
        touched_tx,
        rx,
    ));
    stores
}

/// Applies the watches' updates to `state` until they end.
pub async fn run(
    stores: Option<Stores>,
    state: Arc<LiveCatalog>,
    metrics: Arc<Metrics>,
    release_namespace: Option<String>,
    touched_tx: Touched,
    mut rx: mpsc::Receiver<Update>,
) {
    state.update(&metrics, |c| {
        // Without stores the catalog is the objects' only copy: packed.
        *c = if stores.is_some() {
            MemoryCatalog::new()
        } else {
            MemoryCatalog::compact()
        };
        c.set_release_namespace(release_namespace);
    });
    let mut progress = Progress::default();
    let mut ready = false;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(u) = rx.try_recv()
        {
            batch.push(u);
        }
        let (counts, (touched, problems)) = state.update(&metrics, |catalog| {
            apply_batch(catalog, stores.as_ref(), batch, &mut progress)
        });
        for p in &problems {
            tracing::warn!(problem = %p, "left out of the catalog");
        }
        if !ready {
            if progress.listed.len() < KINDS {
                continue;
            }
            ready = true;
            state.set_ready();
            tracing::info!(
                stacks = counts.stacks,
                depots = counts.depots,
                workloads = counts.workloads,
                "initial sync of Stacks, Depots, workloads and stackhook-config done"
            );
            // No controller listening (the webhook alone) is no error.
            let _ = touched_tx.send(Arc::new(Dependents::All));
            continue;
        }
        tracing::debug!(
            stacks = counts.stacks,
            depots = counts.depots,
            workloads = counts.workloads,
            touched = touched_count(&touched),
            "catalog updated from the watches"
        );
        if touched != Dependents::Some(Vec::new()) {
            let _ = touched_tx.send(Arc::new(touched));
        }
    }
    tracing::error!("the watches stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::reflector::store::Writer;
    use serde_json::json;
    use stackhook_core::catalog::Catalog;

    fn object<K: DeserializeOwned>(v: serde_json::Value) -> K {
        serde_json::from_value(v).unwrap()
    }

    fn worker(generation: i64, phase: &str) -> Worker {
        object(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": "w", "namespace": "team", "uid": "w1", "generation": generation},
            "spec": {"stack": "app:1"}, "status": {"phase": phase}}))
    }

    fn config(namespace: &str, data: serde_json::Value) -> ConfigMap {
        object(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP_NAME, "namespace": namespace, "uid": namespace},
            "data": data}))
    }

    struct Writers {
        stacks: Writer<Stack>,
        depots: Writer<Depot>,
        workers: Writer<Worker>,
        configs: Writer<ConfigMap>,
    }

    fn stores() -> (Stores, Writers) {
        let (stacks, mut sw) = reflector::store();
        let (depots, mut dw) = reflector::store();
        let (workers, mut ww) = reflector::store();
        let (services, _) = reflector::store();
        let (workflows, _) = reflector::store();
        let (configs, mut cw) = reflector::store();
        sw.apply_watcher_event(&watcher::Event::Apply(object(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
            "metadata": {"name": "app-1", "uid": "s1"},
            "spec": {"name": "app", "version": "1", "workerConfig": {}}}))));
        dw.apply_watcher_event(&watcher::Event::Apply(object(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
            "metadata": {"name": "lake", "namespace": "team", "uid": "d1"},
            "spec": {"type": "S3"}}))));
        ww.apply_watcher_event(&watcher::Event::Apply(worker(1, "Pending")));
        cw.apply_watcher_event(&watcher::Event::Apply(config(
            "team",
            json!({"default": "ingressDomainSuffix: team.example\n"}),
        )));
        cw.apply_watcher_event(&watcher::Event::Apply(config(
            "broken",
            json!({"x": "colour: blue\n"}),
        )));
        let stores = Stores {
            stacks,
            depots,
            workers,
            services,
            workflows,
            configs,
        };
        let writers = Writers {
            stacks: sw,
            depots: dw,
            workers: ww,
            configs: cw,
        };
        (stores, writers)
    }

    const ALL_KINDS: [Kind; KINDS] = [
        Kind::Stack,
        Kind::Depot,
        Kind::Workload(WorkloadKind::Worker),
        Kind::Workload(WorkloadKind::Service),
        Kind::Workload(WorkloadKind::Workflow),
        Kind::Settings,
    ];

    fn listed(stores: &Stores) -> MemoryCatalog {
        let mut catalog = MemoryCatalog::new();
        let mut listed = Progress::default();
        let batch = ALL_KINDS.into_iter().map(Update::Listed).collect();
        let (_, problems) = apply_batch(&mut catalog, Some(stores), batch, &mut listed);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(listed.listed.len(), KINDS);
        catalog
    }

    #[test]
    fn the_lists_fill_the_catalog_the_admission_path_reads_with_the_stores_objects() {
        let (stores, _writers) = stores();
        let catalog = listed(&stores);
        let counts = catalog.counts();
        assert_eq!((counts.stacks, counts.depots, counts.workloads), (1, 1, 1));
        let Some(stackhook_core::model::Workload::Worker(w)) =
            catalog.workload("team", WorkloadKind::Worker, "w")
        else {
            panic!("no worker");
        };
        // Held once: the catalog's object is the store's.
        let stored = stores
            .workers
            .get(&ObjectRef::new("w").within("team"))
            .unwrap();
        assert!(Arc::ptr_eq(&w, &stored));
        assert!(catalog.depot("team", "lake").is_some());
        assert_eq!(
            catalog
                .settings("team", &Default::default())
                .ingress_domain_suffix
                .as_deref(),
            Some("team.example")
        );
        // A broken stackhook-config is left out (and says why), not fatal.
        assert_eq!(
            catalog.settings_namespaces().collect::<Vec<_>>(),
            vec!["team"]
        );
        let broken = stores
            .configs
            .get(&ObjectRef::new(CONFIG_MAP_NAME).within("broken"))
            .unwrap();
        let e = settings_of(&broken).unwrap_err();
        assert!(
            e.starts_with("broken/stackhook-config entry \"x\": unknown field `colour`"),
            "{e}"
        );
    }

    #[test]
    fn a_status_write_touches_nothing_and_a_spec_change_touches_its_workload() {
        let (stores, mut writers) = stores();
        let mut catalog = listed(&stores);
        let mut listed = Progress::default();
        let key = WorkloadKey {
            namespace: "team".into(),
            kind: WorkloadKind::Worker,
            name: "w".into(),
        };
        // The controller's status write: a new object, the same generation.
        writers
            .workers
            .apply_watcher_event(&watcher::Event::Apply(worker(1, "Running")));
        let object = stores
            .workers
            .get(&ObjectRef::new("w").within("team"))
            .unwrap();
        let batch = vec![Update::Changes(
            Worker::upsert(object).into_iter().collect(),
        )];
        let (touched, _) = apply_batch(&mut catalog, Some(&stores), batch, &mut listed);
        assert_eq!(touched, Dependents::Some(Vec::new()));
        let w = catalog.workload("team", WorkloadKind::Worker, "w").unwrap();
        assert_eq!(w.status().and_then(|s| s.phase.as_deref()), Some("Running"));

        let batch = vec![Update::Changes(
            Worker::upsert(Arc::new(worker(2, "Running")))
                .into_iter()
                .collect(),
        )];
        let (touched, _) = apply_batch(&mut catalog, Some(&stores), batch, &mut listed);
        assert_eq!(touched, Dependents::Some(vec![key.clone()]));

        // A Depot change touches the workloads of its namespace.
        let lake = stores
            .depots
            .get(&ObjectRef::new("lake").within("team"))
            .unwrap();
        let batch = vec![Update::Changes(Depot::removal(&lake).into_iter().collect())];
        let (touched, _) = apply_batch(&mut catalog, Some(&stores), batch, &mut listed);
        assert_eq!(touched, Dependents::Some(vec![key]));
        assert!(catalog.depot("team", "lake").is_none());
        drop(writers.depots);
    }

    #[test]
    fn a_relist_removes_what_went_while_the_watch_was_down() {
        let (stores, mut writers) = stores();
        let mut catalog = listed(&stores);
        // The watch was down while the Worker and the Stack were deleted: the relist
        // does not have them.
        writers.workers.apply_watcher_event(&watcher::Event::Init);
        writers
            .workers
            .apply_watcher_event(&watcher::Event::InitDone);
        writers.stacks.apply_watcher_event(&watcher::Event::Init);
        writers
            .stacks
            .apply_watcher_event(&watcher::Event::InitDone);
        writers.configs.apply_watcher_event(&watcher::Event::Init);
        writers
            .configs
            .apply_watcher_event(&watcher::Event::InitDone);
        let mut listed = Progress::default();
        let batch = vec![
            Update::Listed(Kind::Workload(WorkloadKind::Worker)),
            Update::Listed(Kind::Stack),
            Update::Listed(Kind::Settings),
        ];
        let (touched, problems) = apply_batch(&mut catalog, Some(&stores), batch, &mut listed);
        assert!(problems.is_empty());
        assert_eq!(
            touched,
            Dependents::Some(vec![WorkloadKey {
                namespace: "team".into(),
                kind: WorkloadKind::Worker,
                name: "w".into(),
            }])
        );
        assert_eq!(catalog.counts().workloads, 0);
        assert_eq!(catalog.counts().stacks, 0);
        assert_eq!(catalog.settings_namespaces().count(), 0);
        assert_eq!(catalog.counts().depots, 1);
    }

    #[test]
    fn without_stores_a_list_applies_its_objects_and_removes_what_it_did_not_have() {
        let mut catalog = MemoryCatalog::compact();
        let mut progress = Progress::default();
        let worker_kind = Kind::Workload(WorkloadKind::Worker);
        let first = vec![
            Update::Relisting(worker_kind),
            Update::Changes(
                Worker::upsert(Arc::new(worker(1, "Pending")))
                    .into_iter()
                    .collect(),
            ),
            Update::Listed(worker_kind),
        ];
        let (touched, _) = apply_batch(&mut catalog, None, first, &mut progress);
        assert_eq!(
            touched.clone(),
            Dependents::Some(vec![WorkloadKey {
                namespace: "team".into(),
                kind: WorkloadKind::Worker,
                name: "w".into(),
            }])
        );
        assert_eq!(catalog.counts().workloads, 1);
        assert!(progress.listed.contains(&worker_kind));
        // The watch came back after the Worker was deleted: the new list lacks it.
        let again = vec![Update::Relisting(worker_kind), Update::Listed(worker_kind)];
        let (gone, _) = apply_batch(&mut catalog, None, again, &mut progress);
        assert_eq!(gone, touched);
        assert_eq!(catalog.counts().workloads, 0);
    }

    #[test]
    fn a_config_map_of_another_name_is_not_settings_whatever_the_watch_sends() {
        let settings = config("team", json!({"default": "secretRefresh: true\n"}));
        let mut rendered = config("team", json!({"app.yaml": "inputs: []\n"}));
        rendered.metadata.name = Some("w-worker-abc123".into());
        assert!(ConfigMap::upsert(Arc::new(rendered.clone())).is_none());
        assert!(ConfigMap::removal(&rendered).is_none());
        assert!(matches!(
            ConfigMap::upsert(Arc::new(settings.clone())),
            Some(Change::Settings {
                entries: Some(_),
                ..
            })
        ));
        assert!(matches!(
            ConfigMap::removal(&settings),
            Some(Change::Settings { entries: None, .. })
        ));
    }

    #[test]
    fn a_nameless_object_is_reported_and_the_rest_still_apply() {
        let (stores, _writers) = stores();
        let mut catalog = listed(&stores);
        let nameless: Stack = object(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
            "metadata": {}, "spec": {"name": "x", "version": "1"}}));
        let mut listed = Progress::default();
        let batch = vec![Update::Changes(
            Stack::upsert(Arc::new(nameless)).into_iter().collect(),
        )];
        let (_, problems) = apply_batch(&mut catalog, Some(&stores), batch, &mut listed);
        assert_eq!(problems, vec!["Stack has no metadata.name".to_owned()]);
        assert_eq!(catalog.counts().stacks, 1);
    }
}

/// The watch started again after an error (`restarted_after_error`).
#[cfg(test)]
mod restart_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// kube's watcher, after an error, resumes from its last resourceVersion and says
    /// nothing when it is back; ours starts a new watcher, which lists again and ends
    /// that list with the `InitDone` the staleness bound waits for.
    #[tokio::test]
    async fn after_an_error_a_new_watch_is_started_and_the_old_one_never_read_again() {
        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        let stream = restarted_after_error(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            // Each watch: a list, then an error, then what a resumed watch would give.
            futures::stream::iter(vec![
                Ok(format!("list {n}")),
                Err(format!("error {n}")),
                Ok(format!("resumed {n}")),
            ])
        });
        let seen: Vec<Result<String, String>> = stream.take(6).collect().await;
        assert_eq!(
            seen,
            [
                Ok("list 0".to_owned()),
                Err("error 0".to_owned()),
                Ok("list 1".to_owned()),
                Err("error 1".to_owned()),
                Ok("list 2".to_owned()),
                Err("error 2".to_owned()),
            ]
        );
        assert_eq!(started.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_watch_that_ends_ends_the_stream() {
        let stream =
            restarted_after_error(|| futures::stream::iter(vec![Ok::<_, String>(1), Ok(2)]));
        assert_eq!(stream.collect::<Vec<_>>().await, [Ok(1), Ok(2)]);
    }
}

/// `start` against kube's mock client: the lists fill the catalog, readiness waits for
/// every watch's first sync, and a watch event reaches the catalog.
#[cfg(test)]
mod watch_tests {
    use std::time::Duration;

    use axum::http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};
    use stackhook_core::catalog::Catalog;
    use stackhook_core::model::StackRef;

    use super::*;

    fn stack(name: &str, version: &str, rv: &str) -> Value {
        json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
               "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": rv,
                            "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
               "spec": {"name": "app", "version": version, "workerConfig": {}}})
    }

    fn respond(send: tower_test::mock::SendResponse<Response<Body>>, body: String) {
        send.send_response(
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from(body.into_bytes()))
                .unwrap(),
        );
    }

    #[tokio::test]
    async fn the_watches_fill_the_catalog_and_ready_waits_for_every_first_sync() {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(service, "default");
        let state = Arc::new(LiveCatalog::new());
        let metrics = Arc::new(Metrics::new());
        let (tx, mut touched) = tokio::sync::broadcast::channel(16);
        let stores = start(
            client,
            Arc::clone(&state),
            metrics,
            Some("stackhook-system".into()),
            tx,
            false,
        );
        assert!(stores.is_none());
        let mut held = Vec::new();
        let mut lists = 0;
        let mut stack_watches = 0;
        let mut seen_paths = Vec::new();
        // Answer until the catalog has seen the watch event (or give up after 200
        // requests: the test then fails on its assertions).
        for _ in 0..200 {
            // Once the event is out, the watches have nothing more to ask.
            let wait = if stack_watches > 0 {
                Duration::from_millis(300)
            } else {
                Duration::from_secs(5)
            };
            let Ok(Some((request, send))) = tokio::time::timeout(wait, handle.next_request()).await
            else {
                break;
            };
            let path = request.uri().path().to_owned();
            let query = request.uri().query().unwrap_or_default().to_owned();
            if query.contains("watch=true") {
                if path.ends_with("/stacks") && stack_watches == 0 {
                    stack_watches += 1;
                    // One event, then the stream ends (the watcher watches again).
                    let event = json!({"type": "ADDED", "object": stack("app-2", "2", "7")});
                    respond(send, format!("{event}\n"));
                } else {
                    held.push(send);
                }
            } else {
                lists += 1;
                seen_paths.push(format!("{path}?{query}"));
                if lists < 6 {
                    assert!(!state.ready(), "ready before every watch synced");
                }
                let items = if path.ends_with("/stacks") {
                    vec![stack("app-1", "1", "5")]
                } else {
                    Vec::new()
                };
                respond(
                    send,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "5"}, "items": items})
                        .to_string(),
                );
            }
            let catalog = state.load();
            if stack_watches > 0 && catalog.stack(&StackRef::parse("app:2").unwrap()).is_ok() {
                break;
            }
        }
        // Give the catalog task its turn, then look.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(state.ready());
        let catalog = state.load();
        let one = catalog.stack(&StackRef::parse("app:1").unwrap()).unwrap();
        assert!(
            one.metadata
                .managed_fields
                .as_ref()
                .is_none_or(Vec::is_empty)
        );
        assert!(catalog.stack(&StackRef::parse("app:2").unwrap()).is_ok());
        // The first sync touches every workload (the controller reconciles all); a new
        // Stack no workload names touches none, and the controller is told nothing
        // of it (before #19 every Stack change reconciled every workload).
        assert_eq!(*touched.try_recv().unwrap(), Dependents::All);
        assert!(matches!(
            touched.try_recv(),
            Err(tokio::sync::broadcast::error::TryRecvError::Empty)
        ));
        seen_paths.sort();
        let kinds: Vec<&str> = seen_paths
            .iter()
            .map(|p| p.split('?').next().unwrap_or_default())
            .collect();
        assert!(
            kinds.contains(&"/apis/stackhook.io/v1alpha1/workflows"),
            "{kinds:?}"
        );
        assert!(
            seen_paths
                .iter()
                .any(|p| p.starts_with("/api/v1/configmaps?")
                    && p.contains("fieldSelector=metadata.name%3Dstackhook-config")),
            "{seen_paths:?}"
        );
        drop(held);
    }
}
