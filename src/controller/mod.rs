//! The controller (`stackhook controller`, `serve --controller`): one kube-rs
//! controller per workload kind, reconciling from the same catalog the webhook answers
//! from, under a Lease so that only one replica acts at a time.
//!
//! A reconcile is [`reconcile::reconcile`]: the pure plan from `stackhook-core`, then
//! server-side apply. Failures are retried with exponential backoff per workload
//! (5 s doubling to 5 min). A change of a Stack, Depot or `stackhook-config`
//! reconciles the workloads that depend on it (their Stamps may have changed), as
//! the catalog announces them ([`Touched`]); a change of the release namespace's
//! `stackhook-config`, or announcements missed, reconciles every workload.

pub mod escapes;
pub mod reconcile;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::de::DeserializeOwned;
use stackhook_core::catalog::{Dependents, WorkloadKey};
use stackhook_core::engine::EngineSettings;
use stackhook_core::model::{Enforcement, Service, Worker, Workflow, Workload};
use stackhook_core::orchestrate::OrchestrateSettings;
use stackhook_core::render::WORKLOAD_LABEL;
use tokio::sync::{broadcast, watch};

use crate::shared::live::LiveCatalog;
use crate::shared::metrics::ViolationLabels;
use crate::shared::{Stores, Touched};
use reconcile::{AsWorkload, ReconcileError};

/// The Lease the replicas compete for.
pub const LEASE_NAME: &str = "stackhook-controller";

/// What a reconcile needs.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The catalog (from the watches).
    pub catalog: Arc<LiveCatalog>,
    /// The engine's settings (render bounds).
    pub engine: EngineSettings,
    /// The orchestration settings (installation-wide: Ingress domain, kinds allowed).
    pub orchestrate: OrchestrateSettings,
    /// The namespaces it writes in.
    pub namespaces: Namespaces,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    failures: Failures,
    /// API resources found by discovery, by `apiVersion` and kind.
    kinds: Kinds,
    /// The pods found to have escaped admission.
    pub escapes: escapes::Escapes,
    /// Whether an escaped pod with an owner is deleted (so that it is recreated
    /// through admission).
    pub delete_escaped: bool,
    /// When an escaped pod of each workload was last deleted.
    pub deletions: escapes::Deletions,
    /// Where the escaped pods are counted.
    pub metrics: Arc<crate::shared::metrics::Metrics>,
    /// The violations `Warn` and `Audit` admitted, as a metric.
    pub violations: Violations,
}

/// The metric `stackhook_workload_violations`, one series per workload that has
/// violations its mode admitted.
#[derive(Clone, Debug, Default)]
pub struct Violations(pub Family<ViolationLabels, Gauge>);

impl Violations {
    /// Sets the workload's series to `count` violations admitted under
    /// `enforcement`; no mode or no violation removes its series (of either mode).
    pub fn set(&self, w: &Workload, enforcement: Option<Enforcement>, count: usize) {
        for mode in [Enforcement::Warn, Enforcement::Audit] {
            let labels = ViolationLabels {
                namespace: w.namespace().to_owned(),
                kind: w.kind().kind(),
                name: w.name().to_owned(),
                enforcement: mode.as_str(),
            };
            if enforcement == Some(mode) && count > 0 {
                self.0
                    .get_or_create(&labels)
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            } else {
                self.0.remove(&labels);
            }
        }
    }
}

/// The API resources discovery found (`resourceTemplate` kinds): a kind is
/// discovered when not found here, and forgotten when the API server says it does
/// not serve that resource (a CRD replaced), so that it is discovered again.
#[derive(Debug, Default)]
struct Kinds(Mutex<HashMap<(String, String), kube::api::ApiResource>>);

impl Kinds {
    fn get(&self, api_version: &str, kind: &str) -> Option<kube::api::ApiResource> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(api_version.to_owned(), kind.to_owned()))
            .cloned()
    }

    fn forget(&self, api_version: &str, kind: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(api_version.to_owned(), kind.to_owned()));
    }

    fn insert(&self, resource: kube::api::ApiResource) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (resource.api_version.clone(), resource.kind.clone()),
                resource,
            );
    }
}

/// Consecutive failures per workload, for the backoff. A workload deleted while it
/// fails is never reconciled again to clear its count, so each failure recorded
/// also drops the counts of workloads that no longer exist: the map holds no more
/// than the workloads failing now.
#[derive(Debug, Default)]
pub struct Failures(Mutex<HashMap<WorkloadKey, u32>>);

impl Failures {
    /// Counts one more failure of `key` (returned), forgetting every other workload
    /// for which `exists` is false.
    pub fn failed(&self, key: &WorkloadKey, exists: impl Fn(&WorkloadKey) -> bool) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|k, _| k == key || exists(k));
        let n = map.entry(key.clone()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    /// Forgets the failures of `key`.
    pub fn succeeded(&self, key: &WorkloadKey) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// The workloads with failures counted.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no failure is counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Context {
    /// A context reporting Events as `stackhook` from `instance` (the pod name).
    pub fn new(
        client: Client,
        catalog: Arc<LiveCatalog>,
        orchestrate: OrchestrateSettings,
        instance: &str,
    ) -> Self {
        let reporter = Reporter {
            controller: "stackhook".into(),
            instance: Some(instance.to_owned()),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            catalog,
            engine: EngineSettings::default(),
            orchestrate,
            namespaces: Namespaces::default(),
            failures: Failures::default(),
            kinds: Kinds::default(),
            escapes: escapes::Escapes::default(),
            delete_escaped: false,
            deletions: escapes::Deletions::default(),
            metrics: Arc::new(crate::shared::metrics::Metrics::new()),
            violations: Violations::default(),
        }
    }

    /// The delay before retrying a workload that failed `failures` times in a row.
    pub fn backoff(failures: u32) -> Duration {
        let secs = 5u64.saturating_mul(1u64 << failures.saturating_sub(1).min(6));
        Duration::from_secs(secs.min(300))
    }

    fn failed(&self, key: &WorkloadKey) -> u32 {
        let catalog = self.catalog.load();
        self.failures
            .failed(key, |k| catalog.catalog.contains_workload(k))
    }

    fn succeeded(&self, key: &WorkloadKey) {
        self.failures.succeeded(key);
    }
}

/// Namespaces the controller never writes in, whatever it is told.
pub const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// Which namespaces the controller manages workloads in: the chosen ones (all when
/// none are chosen), never the system namespaces or its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// The chosen namespaces; `None`: every other.
    pub only: Option<std::collections::BTreeSet<String>>,
    /// The release namespace.
    pub release: Option<String>,
}

impl Namespaces {
    /// Whether workloads in `namespace` are the controller's to reconcile.
    pub fn manages(&self, namespace: &str) -> bool {
        !SYSTEM_NAMESPACES.contains(&namespace)
            && self.release.as_deref() != Some(namespace)
            && self.only.as_ref().is_none_or(|o| o.contains(namespace))
    }
}

#[cfg(test)]
#[test]
fn system_and_release_namespaces_are_never_managed() {
    let all = Namespaces {
        only: None,
        release: Some("stackhook-system".into()),
    };
    assert!(all.manages("retail"));
    for ns in [
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "stackhook-system",
    ] {
        assert!(!all.manages(ns), "{ns}");
    }
    let chosen = Namespaces {
        only: Some(["retail".to_owned(), "kube-system".to_owned()].into()),
        release: None,
    };
    assert!(chosen.manages("retail"));
    assert!(!chosen.manages("orders"));
    assert!(!chosen.manages("kube-system"));
}

#[cfg(test)]
#[test]
fn failures_of_a_deleted_workload_are_forgotten() {
    use stackhook_core::model::WorkloadKind;
    let key = |name: &str| WorkloadKey {
        namespace: "retail".into(),
        kind: WorkloadKind::Worker,
        name: name.into(),
    };
    let failures = Failures::default();
    let all = |_: &WorkloadKey| true;
    assert_eq!(failures.failed(&key("gone"), all), 1);
    assert_eq!(failures.failed(&key("gone"), all), 2);
    assert_eq!(failures.failed(&key("kept"), all), 1);
    assert_eq!(failures.len(), 2);
    // "gone" was deleted while failing: the next failure recorded drops its count.
    let exists = |k: &WorkloadKey| k.name != "gone";
    assert_eq!(failures.failed(&key("kept"), exists), 2);
    assert_eq!(failures.len(), 1);
    failures.succeeded(&key("kept"));
    assert!(failures.is_empty());
}

fn key<K: Resource<DynamicType = ()>>(o: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        o.namespace().unwrap_or_default(),
        o.name_any()
    )
}

fn workload_key(w: &Workload) -> WorkloadKey {
    WorkloadKey {
        namespace: w.namespace().to_owned(),
        kind: w.kind(),
        name: w.name().to_owned(),
    }
}

async fn reconcile_one<K>(object: Arc<K>, ctx: Arc<Context>) -> Result<Action, ReconcileError>
where
    K: AsWorkload + Clone,
{
    let k = key(&*object);
    let workload = object.workload();
    if !ctx.namespaces.manages(workload.namespace()) {
        // Not granted there (the chart gives no Role): left to whoever is.
        tracing::debug!(workload = %k, "not a managed namespace");
        return Ok(Action::await_change());
    }
    let result = reconcile::reconcile(&workload, &ctx).await;
    match &result {
        Ok(_) => {
            ctx.succeeded(&workload_key(&workload));
            tracing::debug!(workload = %k, "reconciled");
        }
        Err(e) => tracing::warn!(workload = %k, error = %e, "reconcile failed"),
    }
    result
}

fn error_policy<K: AsWorkload>(
    object: Arc<K>,
    _error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let key = workload_key(&object.workload());
    Action::requeue(Context::backoff(ctx.failed(&key)))
}

/// The announcements for kind `K`, split into what reconciles every workload (a
/// change of the release namespace's settings, or announcements missed) and the
/// workloads to reconcile one by one.
fn touched_streams<K>(
    touched: &Touched,
) -> (
    impl futures::Stream<Item = ()> + Send + 'static,
    impl futures::Stream<Item = ObjectRef<K>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
{
    let mut rx = touched.subscribe();
    let (all_tx, all_rx) = futures::channel::mpsc::unbounded::<()>();
    let (one_tx, one_rx) = futures::channel::mpsc::unbounded::<ObjectRef<K>>();
    let kind = K::kind(&()).into_owned();
    tokio::spawn(async move {
        loop {
            let sent = match rx.recv().await {
                Ok(d) => match &*d {
                    Dependents::All => all_tx.unbounded_send(()).is_ok(),
                    Dependents::Some(keys) => {
                        keys.iter().filter(|k| k.kind.kind() == kind).all(|k| {
                            one_tx
                                .unbounded_send(ObjectRef::new(&k.name).within(&k.namespace))
                                .is_ok()
                        })
                    }
                },
                Err(broadcast::error::RecvError::Lagged(_)) => all_tx.unbounded_send(()).is_ok(),
                Err(broadcast::error::RecvError::Closed) => false,
            };
            if !sent {
                return;
            }
        }
    });
    (all_rx, one_rx)
}

async fn run_kind<K>(
    ctx: Arc<Context>,
    touched: Touched,
    store: Store<K>,
    stop: impl Future<Output = ()> + Send + Sync + 'static,
) where
    K: AsWorkload + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let client = ctx.client.clone();
    // Only the objects the controller made (they carry the workload label).
    let ours = watcher::Config::default().labels(WORKLOAD_LABEL);
    let (all, some) = touched_streams::<K>(&touched);
    // Everything once the catalog is ready (this replica may have synced long ago, or
    // just now), then what the catalog's changes touch.
    let catalog = Arc::clone(&ctx.catalog);
    let first = futures::stream::once(async move {
        while !catalog.ready() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let all = first.chain(all);
    // The catalog's own store of K: the objects are held once, and only a change of
    // what a workload is made from (not its status) wakes it.
    let controller = Controller::for_shared_stream(futures::stream::pending(), store);
    // A change of what the workload made wakes it: Deployments for Workers and
    // Services, Jobs and CronJobs for Workflows.
    let controller = if K::kind(&()) == "Workflow" {
        controller
            .owns(Api::<Job>::all(client.clone()), ours.clone())
            .owns(Api::<CronJob>::all(client), ours)
    } else {
        controller.owns(Api::<Deployment>::all(client), ours)
    };
    controller
        // A Stack, Depot or stackhook-config change reconciles the workloads that
        // depend on it, not all.
        .reconcile_all_on(all)
        .reconcile_on(some)
        .graceful_shutdown_on(stop)
        .with_config(kube::runtime::controller::Config::default().concurrency(4))
        .run(reconcile_one::<K>, error_policy::<K>, ctx)
        .for_each(|_| async {})
        .await;
}

/// Runs the three controllers until `stop` resolves.
pub async fn run_controllers(
    ctx: Arc<Context>,
    touched: Touched,
    stores: Stores,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let pods = {
        let (ctx, touched, stop) = (Arc::clone(&ctx), touched.clone(), stopped());
        async move {
            tokio::select! {
                () = escapes::watch(ctx, touched) => {}
                () = stop => {}
            }
        }
    };
    let all = futures::future::join4(
        pods,
        run_kind::<Worker>(Arc::clone(&ctx), touched.clone(), stores.workers, stopped()),
        run_kind::<Service>(
            Arc::clone(&ctx),
            touched.clone(),
            stores.services,
            stopped(),
        ),
        run_kind::<Workflow>(ctx, touched, stores.workflows, stopped()),
    );
    tokio::pin!(all);
    tokio::select! {
        _ = &mut all => {}
        () = stop => {
            let _ = tx.send(true);
            all.await;
        }
    }
}

/// Runs the controllers while this replica holds the Lease `namespace/stackhook-controller`,
/// until `shutdown` resolves (then the Lease is released).
pub async fn run_leader(
    ctx: Arc<Context>,
    touched: Touched,
    stores: Stores,
    namespace: &str,
    identity: &str,
    shutdown: impl Future<Output = ()>,
) -> Result<(), kube_lease_manager::LeaseManagerError> {
    let manager = kube_lease_manager::LeaseManagerBuilder::new(ctx.client.clone(), LEASE_NAME)
        .with_namespace(namespace)
        .with_identity(identity)
        .build()
        .await?;
    let (mut leading, task) = manager.watch().await;
    tokio::pin!(shutdown);
    loop {
        tracing::info!(lease = %format!("{namespace}/{LEASE_NAME}"), identity, "waiting for the lease");
        tokio::select! {
            r = leading.wait_for(|l| *l) => if r.is_err() { break },
            () = &mut shutdown => break,
        }
        tracing::info!(identity, "holding the lease: reconciling");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(run_controllers(
            Arc::clone(&ctx),
            touched.clone(),
            stores.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        let lost = tokio::select! {
            r = leading.wait_for(|l| !*l) => r.is_ok(),
            () = &mut shutdown => false,
        };
        let _ = tx.send(());
        let _ = running.await;
        if lost {
            tracing::warn!(identity, "lost the lease: stopped reconciling");
        } else {
            break;
        }
    }
    // Dropping the receiver makes the manager release the Lease.
    drop(leading);
    match task.await {
        Ok(Ok(_)) => tracing::info!("lease released"),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot release the lease"),
        Err(e) => tracing::warn!(error = %e, "the lease task failed"),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
