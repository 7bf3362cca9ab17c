//! The catalog from Kubernetes watches (`--kube`): reflectors keep Stacks, Depots,
//! Workers, Services, Workflows and `stackhook-config` ConfigMaps in memory, and every
//! change builds the same [`MemoryCatalog`] the file loader fills; the served catalog
//! is updated to it (unchanged entries and the plans of untouched workloads kept).
//! The admission path reads that catalog and never calls the API server.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use stackhook_core::MemoryCatalog;
use stackhook_core::catalog::Dependents;
use stackhook_core::model::{self, Depot, Service, Stack, Worker, Workflow, Workload};
use stackhook_core::settings::{self, CONFIG_MAP_NAME};
use tokio::sync::Notify;

use crate::server::catalog::CatalogState;
use crate::server::metrics::Metrics;

/// How long changes are gathered before the catalog is rebuilt: a burst of events (a
/// `kubectl apply -f dir/`) makes one rebuild.
const SETTLE: Duration = Duration::from_millis(25);

/// The reflectors' stores.
#[derive(Clone)]
pub struct Stores {
    /// Stacks (cluster-scoped).
    pub stacks: Store<Stack>,
    /// Depots.
    pub depots: Store<Depot>,
    /// Workers.
    pub workers: Store<Worker>,
    /// Services.
    pub services: Store<Service>,
    /// Workflows.
    pub workflows: Store<Workflow>,
    /// `stackhook-config` ConfigMaps.
    pub configs: Store<ConfigMap>,
}

/// What the catalog is built from, in a form tests can make without a cluster.
#[derive(Default)]
pub struct Snapshot {
    /// Stacks.
    pub stacks: Vec<Arc<Stack>>,
    /// Depots.
    pub depots: Vec<Arc<Depot>>,
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// `stackhook-config` ConfigMaps.
    pub configs: Vec<Arc<ConfigMap>>,
}

impl Stores {
    fn snapshot(&self) -> Snapshot {
        let mut workloads: Vec<Workload> = Vec::new();
        workloads.extend(self.workers.state().into_iter().map(Workload::Worker));
        workloads.extend(self.services.state().into_iter().map(Workload::Service));
        workloads.extend(self.workflows.state().into_iter().map(Workload::Workflow));
        Snapshot {
            stacks: self.stacks.state(),
            depots: self.depots.state(),
            workloads,
            configs: self.configs.state(),
        }
    }
}

/// The catalog of a snapshot, and what could not join it (logged, not fatal: one
/// broken object must not take admission down for everyone).
pub fn build(snapshot: Snapshot, release_namespace: Option<&str>) -> (MemoryCatalog, Vec<String>) {
    let mut catalog = MemoryCatalog::new();
    let mut problems = Vec::new();
    catalog.set_release_namespace(release_namespace.map(str::to_owned));
    let resources = snapshot
        .stacks
        .into_iter()
        .map(model::Resource::Stack)
        .chain(snapshot.depots.into_iter().map(model::Resource::Depot))
        .chain(
            snapshot
                .workloads
                .into_iter()
                .map(model::Resource::Workload),
        );
    for r in resources {
        let what = format!(
            "{} {}",
            r.kind(),
            r.meta().name.as_deref().unwrap_or_default()
        );
        if let Err(e) = catalog.insert(r) {
            problems.push(format!("{what}: {e}"));
        }
    }
    for cm in snapshot.configs {
        if cm.name_any() != CONFIG_MAP_NAME {
            continue;
        }
        let namespace = cm.namespace().unwrap_or_default();
        match serde_json::to_value(&*cm)
            .map_err(|e| e.to_string())
            .and_then(|v| settings::entries(&v).map_err(|e| e.to_string()))
        {
            Ok(entries) => catalog.set_settings(&namespace, entries),
            Err(e) => problems.push(e),
        }
    }
    (catalog, problems)
}

/// Identifies the Stacks', Depots' and settings' versions: when it changes, every
/// workload's Stamp may have changed and the controller reconciles them all.
fn inputs_version(s: &Snapshot) -> u64 {
    let mut h = DefaultHasher::new();
    let mut ids: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    ids.extend(s.stacks.iter().map(|o| {
        (
            o.meta().uid.as_deref(),
            o.meta().resource_version.as_deref(),
        )
    }));
    ids.extend(s.depots.iter().map(|o| {
        (
            o.meta().uid.as_deref(),
            o.meta().resource_version.as_deref(),
        )
    }));
    ids.extend(s.configs.iter().map(|o| {
        (
            o.meta().uid.as_deref(),
            o.meta().resource_version.as_deref(),
        )
    }));
    ids.sort_unstable();
    ids.hash(&mut h);
    h.finish()
}

/// Identifies everything the catalog is built from: the inputs, and each workload's
/// identity, spec generation, labels and annotations. A workload's status is left
/// out: the controller's own status writes must not rebuild the catalog (and drop the
/// webhook's kept plans and patches with it).
fn catalog_version(s: &Snapshot) -> u64 {
    let mut h = DefaultHasher::new();
    inputs_version(s).hash(&mut h);
    let mut ids: Vec<_> = s
        .workloads
        .iter()
        .map(|w| {
            let m = w.meta();
            (
                w.kind(),
                m.namespace.as_deref(),
                m.name.as_deref(),
                m.uid.as_deref(),
                // Without a generation (not a CRD the API server versions), any change.
                m.generation
                    .map_or(m.resource_version.as_deref().map(str::to_owned), |g| {
                        Some(g.to_string())
                    }),
                m.labels.as_ref(),
                m.annotations.as_ref(),
            )
        })
        .collect();
    ids.sort_unstable();
    ids.hash(&mut h);
    h.finish()
}

/// Starts one reflector; its events wake the rebuild.
fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    changed: Arc<Notify>,
) -> (Store<K>, impl Stream<Item = ()> + Send + 'static)
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let kind = K::kind(&()).into_owned();
    let stream = reflector::reflector(
        writer,
        watcher(api, config)
            .default_backoff()
            // Managed fields are most of an object's size and nothing here reads them.
            .modify(|o| o.managed_fields_mut().clear()),
    )
    .map(move |event| match event {
        Ok(_) => changed.notify_one(),
        Err(e) => tracing::warn!(kind = %kind, error = %e, "watch failed; retrying"),
    });
    (reader, stream)
}

/// Watches the cluster and keeps `state` current. Each change's touched workloads go
/// to `touched_tx` (for the controller). Runs until the client's watches end.
pub async fn run(
    client: Client,
    state: Arc<CatalogState>,
    metrics: Arc<Metrics>,
    release_namespace: Option<String>,
    touched_tx: crate::controller::Touched,
) {
    let changed = Arc::new(Notify::new());
    let config = watcher::Config::default();
    let (stacks, s1) = reflect(
        Api::<Stack>::all(client.clone()),
        config.clone(),
        Arc::clone(&changed),
    );
    let (depots, s2) = reflect(
        Api::<Depot>::all(client.clone()),
        config.clone(),
        Arc::clone(&changed),
    );
    let (workers, s3) = reflect(
        Api::<Worker>::all(client.clone()),
        config.clone(),
        Arc::clone(&changed),
    );
    let (services, s4) = reflect(
        Api::<Service>::all(client.clone()),
        config.clone(),
        Arc::clone(&changed),
    );
    let (workflows, s5) = reflect(
        Api::<Workflow>::all(client.clone()),
        config.clone(),
        Arc::clone(&changed),
    );
    let (configs, s6) = reflect(
        Api::<ConfigMap>::all(client),
        watcher::Config::default().fields(&format!("metadata.name={CONFIG_MAP_NAME}")),
        Arc::clone(&changed),
    );
    let stores = Stores {
        stacks,
        depots,
        workers,
        services,
        workflows,
        configs,
    };
    let streams = futures::stream::select_all([
        s1.boxed(),
        s2.boxed(),
        s3.boxed(),
        s4.boxed(),
        s5.boxed(),
        s6.boxed(),
    ]);
    let drive = tokio::spawn(streams.for_each(|()| async {}));

    let synced = async {
        let s = &stores;
        tokio::try_join!(
            s.stacks.wait_until_ready(),
            s.depots.wait_until_ready(),
            s.workers.wait_until_ready(),
            s.services.wait_until_ready(),
            s.workflows.wait_until_ready(),
            s.configs.wait_until_ready(),
        )
    };
    if synced.await.is_err() {
        tracing::error!("the watches stopped before their first sync");
        return;
    }
    tracing::info!("initial sync of Stacks, Depots, workloads and stackhook-config done");
    let mut last_catalog = None;
    loop {
        let snapshot = stores.snapshot();
        let whole = catalog_version(&snapshot);
        if last_catalog != Some(whole) {
            last_catalog = Some(whole);
            let (catalog, problems) = build(snapshot, release_namespace.as_deref());
            for p in &problems {
                tracing::warn!(problem = %p, "left out of the catalog");
            }
            // Kept: every unchanged entry, and the webhook's plans of the workloads the
            // change did not touch.
            let (counts, touched) = state.reload(catalog, &metrics);
            tracing::debug!(
                stacks = counts.stacks,
                depots = counts.depots,
                workloads = counts.workloads,
                touched = crate::server::catalog::touched_count(&touched),
                "catalog updated from the watches"
            );
            if touched != Dependents::Some(Vec::new()) {
                // No controller listening (the webhook alone) is no error.
                let _ = touched_tx.send(Arc::new(touched));
            }
        }
        if drive.is_finished() {
            tracing::error!("the watches stopped");
            return;
        }
        changed.notified().await;
        tokio::time::sleep(SETTLE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stackhook_core::Catalog;
    use stackhook_core::model::WorkloadKind;

    fn object<K: DeserializeOwned>(v: serde_json::Value) -> Arc<K> {
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            stacks: vec![object(json!({
                "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
                "metadata": {"name": "app-1", "uid": "s1", "resourceVersion": "1"},
                "spec": {"name": "app", "version": "1", "workerConfig": {}}}))],
            depots: vec![object(json!({
                "apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
                "metadata": {"name": "lake", "namespace": "team", "uid": "d1", "resourceVersion": "2"},
                "spec": {"type": "S3"}}))],
            workloads: vec![Workload::Worker(object(json!({
                "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
                "metadata": {"name": "w", "namespace": "team", "uid": "w1"},
                "spec": {"stack": "app:1"}})))],
            configs: vec![
                object(json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": CONFIG_MAP_NAME, "namespace": "team", "uid": "c1"},
                    "data": {"default": "ingressDomainSuffix: team.example\n"}})),
                object(json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": CONFIG_MAP_NAME, "namespace": "broken", "uid": "c2"},
                    "data": {"x": "colour: blue\n"}})),
            ],
        }
    }

    #[test]
    fn builds_the_catalog_the_admission_path_reads() {
        let (catalog, problems) = build(snapshot(), Some("stackhook-system"));
        let counts = catalog.counts();
        assert_eq!((counts.stacks, counts.depots, counts.workloads), (1, 1, 1));
        assert!(
            catalog
                .workload("team", WorkloadKind::Worker, "w")
                .is_some()
        );
        assert!(catalog.depot("team", "lake").is_some());
        assert_eq!(
            catalog
                .settings("team", &Default::default())
                .ingress_domain_suffix
                .as_deref(),
            Some("team.example")
        );
        // A broken stackhook-config is reported and left out, not fatal.
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("broken/stackhook-config entry \"x\": unknown field `colour`"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_nameless_object_is_reported_and_the_rest_still_load() {
        let mut s = snapshot();
        s.stacks.push(object(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
            "metadata": {}, "spec": {"name": "x", "version": "1"}})));
        let (catalog, problems) = build(s, None);
        assert_eq!(catalog.counts().stacks, 1);
        assert!(
            problems.iter().any(|p| p.starts_with("Stack : ")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_catalog_version_ignores_a_workload_status_and_nothing_else() {
        let worker = |generation: i64, labels: serde_json::Value, status: &str| {
            Workload::Worker(object(json!({
                "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
                "metadata": {"name": "w", "namespace": "team", "uid": "w1",
                             "generation": generation, "resourceVersion": status, "labels": labels},
                "spec": {"stack": "app:1", "stackSpec": {}},
                "status": {"phase": status}})))
        };
        let with = |w: Workload| Snapshot {
            workloads: vec![w],
            ..snapshot()
        };
        let a = catalog_version(&with(worker(1, json!({"env": "prod"}), "Pending")));
        // The controller's status write: a new resourceVersion, the same generation.
        assert_eq!(
            catalog_version(&with(worker(1, json!({"env": "prod"}), "Running"))),
            a
        );
        // A spec change, a label change (settings select by labels), a deletion.
        assert_ne!(
            catalog_version(&with(worker(2, json!({"env": "prod"}), "Pending"))),
            a
        );
        assert_ne!(
            catalog_version(&with(worker(1, json!({"env": "dev"}), "Pending"))),
            a
        );
        let mut gone = snapshot();
        gone.workloads.clear();
        assert_ne!(catalog_version(&gone), a);
        // The inputs count too.
        let mut s = with(worker(1, json!({"env": "prod"}), "Pending"));
        s.depots.clear();
        assert_ne!(catalog_version(&s), a);
    }

    #[test]
    fn the_inputs_version_moves_with_stacks_and_depots_not_workloads() {
        let a = inputs_version(&snapshot());
        let mut s = snapshot();
        s.workloads.clear();
        assert_eq!(inputs_version(&s), a);
        let mut s = snapshot();
        s.stacks = vec![object(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
            "metadata": {"name": "app-1", "uid": "s1", "resourceVersion": "9"},
            "spec": {"name": "app", "version": "1", "workerConfig": {}}}))];
        assert_ne!(inputs_version(&s), a);
    }
}

/// `run` against kube's mock client: the lists fill the catalog, readiness waits for
/// every watch's first sync, and a watch event reaches the catalog.
#[cfg(test)]
mod watch_tests {
    use std::time::Duration;

    use axum::http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};
    use stackhook_core::Catalog;
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
        let state = Arc::new(CatalogState::new());
        let metrics = Arc::new(Metrics::new());
        let (tx, mut touched) = tokio::sync::broadcast::channel(16);
        tokio::spawn(run(
            client,
            Arc::clone(&state),
            metrics,
            Some("stackhook-system".into()),
            tx,
        ));
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
        // Give the rebuild its settle time, then look.
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
        // The first catalog (a new release namespace) touches every workload; a new
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
