//! Pods that escaped admission ([`stackhook_core::escape`]): the controller watches
//! the labelled pods of the namespaces it manages (metadata only, nothing kept but the
//! escaped pods' names), and reports each escaped pod once: the
//! `stackhook_escaped_pods` metrics, a Warning Event on the pod and on its workload,
//! and the workload's `PodsInjected` condition (written by its reconcile, which a
//! change here wakes). With `--delete-escaped-pods` a pod that has an owner to recreate
//! it (a ReplicaSet, a Job) is deleted, so that it comes back through admission.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, ListParams, Preconditions};
use kube::core::PartialObjectMeta;
use kube::runtime::events::{Event, EventType};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use stackhook_core::catalog::Catalog as _;
use stackhook_core::catalog::{Dependents, WorkloadKey};
use stackhook_core::escape::{self, Escape};
use stackhook_core::model::{API_VERSION, Workload};
use stackhook_core::render::{STAMP_LABEL, WORKLOAD_KIND_LABEL, WORKLOAD_LABEL};

use super::{Context, Touched};
use crate::shared::metrics::ReasonLabels;

/// The escaped pods found, per workload (pod name → why). Bounded by the escaped pods
/// that exist: a pod is forgotten when it goes, is found admitted, or a re-list does
/// not return it.
#[derive(Debug, Default)]
pub struct Escapes(Mutex<HashMap<WorkloadKey, BTreeMap<String, Escape>>>);

impl Escapes {
    /// The escaped pods of a workload.
    pub fn of(&self, key: &WorkloadKey) -> BTreeMap<String, Escape> {
        self.lock().get(key).cloned().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<WorkloadKey, BTreeMap<String, Escape>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what `pod` is now; the previous finding, if it changed (`Some(None)`:
    /// it was not escaped), or `None` when nothing changed.
    fn record(&self, key: &WorkloadKey, pod: &str, now: Option<&Escape>) -> Option<Option<Escape>> {
        let mut map = self.lock();
        let before = map.get(key).and_then(|m| m.get(pod)).cloned();
        if before.as_ref() == now {
            return None;
        }
        match now {
            Some(e) => {
                map.entry(key.clone())
                    .or_default()
                    .insert(pod.to_owned(), e.clone());
            }
            None => {
                if let Some(m) = map.get_mut(key) {
                    m.remove(pod);
                    if m.is_empty() {
                        map.remove(key);
                    }
                }
            }
        }
        Some(before)
    }

    /// The pods recorded in `namespace` (every one for `None`), with their workloads.
    fn in_namespace(&self, namespace: Option<&str>) -> Vec<(WorkloadKey, String)> {
        self.lock()
            .iter()
            .filter(|(k, _)| namespace.is_none_or(|n| k.namespace == n))
            .flat_map(|(k, m)| m.keys().map(|p| (k.clone(), p.clone())))
            .collect()
    }
}

/// Most one escaped pod per workload is deleted in this time: while the webhook stays
/// skipped, the owner's replacement escapes too, and deleting each at once would make a
/// loop as fast as the API server. The others are deleted at a later look
/// ([`SWEEP_PERIOD`]).
pub const DELETE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// When an escaped pod of each workload was last deleted.
#[derive(Debug, Default)]
pub struct Deletions(Mutex<HashMap<WorkloadKey, std::time::Instant>>);

impl Deletions {
    /// Whether a pod of `key` may be deleted at `now` (then it counts as deleted),
    /// forgetting the workloads whose last deletion is older than [`DELETE_INTERVAL`].
    pub fn allow(&self, key: &WorkloadKey, now: std::time::Instant) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, at| now.saturating_duration_since(*at) < DELETE_INTERVAL);
        if map.contains_key(key) {
            return false;
        }
        map.insert(key.clone(), now);
        true
    }
}

/// Watches the labelled pods of the managed namespaces until the stream ends (it
/// does not: errors are retried with backoff).
pub async fn watch(ctx: Arc<Context>, touched: Touched) {
    let client = ctx.client.clone();
    let config = watcher::Config::default().labels(WORKLOAD_LABEL);
    // Metadata only: labels and annotations are all the decision reads.
    let apis: Vec<(Option<String>, Api<PartialObjectMeta<Pod>>)> = match &ctx.namespaces.only {
        Some(only) => only
            .iter()
            .filter(|n| ctx.namespaces.manages(n))
            .map(|n| (Some(n.clone()), Api::namespaced(client.clone(), n)))
            .collect(),
        None => vec![(None, Api::all(client))],
    };
    let watches = apis.into_iter().map(|(namespace, api)| {
        let ctx = Arc::clone(&ctx);
        let touched = touched.clone();
        let config = config.clone();
        let sweep = sweep(Arc::clone(&ctx), touched.clone(), api.clone());
        let watch = async move {
            let mut relisted: Option<HashSet<(String, String)>> = None;
            let mut events = std::pin::pin!(watcher(api, config).default_backoff());
            while let Some(event) = events.next().await {
                let event = match event {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(namespace = ?namespace, error = %e, "watching pods");
                        continue;
                    }
                };
                match event {
                    watcher::Event::Init => relisted = Some(HashSet::new()),
                    watcher::Event::InitApply(pod) => {
                        if let Some(seen) = relisted.as_mut() {
                            seen.insert((pod.namespace().unwrap_or_default(), pod.name_any()));
                        }
                        check(&ctx, &touched, &pod.metadata).await;
                    }
                    watcher::Event::InitDone => {
                        // Pods deleted while the watch was down are forgotten.
                        if let Some(seen) = relisted.take() {
                            for (key, pod) in ctx.escapes.in_namespace(namespace.as_deref()) {
                                if !seen.contains(&(key.namespace.clone(), pod.clone())) {
                                    forget(&ctx, &touched, &key, &pod);
                                }
                            }
                        }
                    }
                    watcher::Event::Apply(pod) => check(&ctx, &touched, &pod.metadata).await,
                    watcher::Event::Delete(pod) => {
                        if let Some((kind, name)) = escape::workload_of(&pod.metadata) {
                            let key = WorkloadKey {
                                namespace: pod.namespace().unwrap_or_default(),
                                kind,
                                name: name.to_owned(),
                            };
                            forget(&ctx, &touched, &key, &pod.name_any());
                        }
                    }
                }
            }
        };
        async move {
            tokio::join!(watch, sweep);
        }
    });
    futures::future::join_all(watches).await;
}

/// How often every labelled pod is looked at again: a pod admitted for a Stamp becomes
/// stale when later changes of its workload leave that Stamp's ConfigMap behind, and a
/// pod seen before its workload was in the catalog is decided once it is, without any
/// event of the pod's own.
pub const SWEEP_PERIOD: std::time::Duration = std::time::Duration::from_secs(300);

/// Looks at every labelled pod again each [`SWEEP_PERIOD`], a page of 500 at a time.
async fn sweep(ctx: Arc<Context>, touched: Touched, api: Api<PartialObjectMeta<Pod>>) {
    let mut ticks = tokio::time::interval(SWEEP_PERIOD);
    // The watch's first listing has just looked at every pod.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let mut params = ListParams::default().labels(WORKLOAD_LABEL).limit(500);
        loop {
            let page = match api.list(&params).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the labelled pods again");
                    break;
                }
            };
            for pod in &page.items {
                check(&ctx, &touched, &pod.metadata).await;
            }
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
    }
}

/// Forgets a pod that went; its workload's condition is written again.
fn forget(ctx: &Context, touched: &Touched, key: &WorkloadKey, pod: &str) {
    if let Some(Some(before)) = ctx.escapes.record(key, pod, None) {
        ctx.metrics
            .escaped_pods
            .get_or_create(&ReasonLabels {
                reason: before.label(),
            })
            .dec();
        let _ = touched.send(Arc::new(Dependents::Some(vec![key.clone()])));
    }
}

/// The Stamps whose ConfigMaps the workload keeps (their `stackhook.io/stamp` labels).
async fn kept_stamps(ctx: &Context, w: &Workload) -> Result<Vec<String>, kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), w.namespace());
    let selector = format!(
        "{WORKLOAD_LABEL}={},{WORKLOAD_KIND_LABEL}={}",
        w.name(),
        w.kind().kind()
    );
    let listed = api
        .list_metadata(&ListParams::default().labels(&selector))
        .await?;
    Ok(listed
        .items
        .iter()
        .filter_map(|c| c.labels().get(STAMP_LABEL).cloned())
        .collect())
}

/// Decides about one pod and reports what changed.
async fn check(ctx: &Context, touched: &Touched, pod: &ObjectMeta) {
    let namespace = pod.namespace.clone().unwrap_or_default();
    let pod_name = pod.name.clone().unwrap_or_default();
    if !ctx.namespaces.manages(&namespace) {
        return;
    }
    let Some((kind, name)) = escape::workload_of(pod) else {
        return;
    };
    let key = WorkloadKey {
        namespace: namespace.clone(),
        kind,
        name: name.to_owned(),
    };
    let Some(workload) = ctx.catalog.load().catalog.workload(&namespace, kind, name) else {
        // The webhook denies a pod naming no workload; nothing here to report it on.
        tracing::debug!(pod = %format!("{namespace}/{pod_name}"), workload = %key, "a labelled pod of no known workload");
        return;
    };
    let mut found = escape::escaped(pod, &workload, &[]);
    if matches!(found, Some(Escape::StaleStamp { .. })) {
        // Only then are the kept Stamps needed (a rollout in progress keeps the old).
        match kept_stamps(ctx, &workload).await {
            Ok(kept) => {
                let kept: Vec<&str> = kept.iter().map(String::as_str).collect();
                found = escape::escaped(pod, &workload, &kept);
            }
            Err(e) => {
                tracing::warn!(workload = %key, error = %e, "cannot list the ConfigMaps to see which Stamps are kept");
                return;
            }
        }
    }
    let owned = pod
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true));
    let changed = ctx.escapes.record(&key, &pod_name, found.as_ref());
    // An escaped pod with an owner is deleted when first found, or at a later look if
    // a deletion of the workload's came just before.
    let delete = found.is_some()
        && ctx.delete_escaped
        && owned
        && ctx.deletions.allow(&key, std::time::Instant::now());
    if delete {
        delete_pod(ctx, &namespace, &pod_name, pod).await;
    }
    let Some(before) = changed else {
        return;
    };
    let gauge = |e: &Escape| {
        ctx.metrics
            .escaped_pods
            .get_or_create(&ReasonLabels { reason: e.label() })
    };
    if let Some(before) = &before {
        gauge(before).dec();
    }
    let _ = touched.send(Arc::new(Dependents::Some(vec![key.clone()])));
    let Some(escape) = found else {
        return;
    };
    gauge(&escape).inc();
    ctx.metrics
        .escaped_pods_found
        .get_or_create(&ReasonLabels {
            reason: escape.label(),
        })
        .inc();
    let action = match (ctx.delete_escaped, owned, delete) {
        (false, ..) => String::new(),
        (true, true, true) => "; deleted, so that its owner recreates it through admission".into(),
        (true, true, false) => format!(
            "; to be deleted at a later look: one of the workload's was deleted less than {} s ago",
            DELETE_INTERVAL.as_secs()
        ),
        (true, false, _) => "; not deleted: it has no owner to recreate it".into(),
    };
    let what = escape.describe();
    tracing::warn!(pod = %format!("{namespace}/{pod_name}"), workload = %key, reason = escape.reason(), "{what}{action}");
    let pod_ref = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(pod_name.clone()),
        namespace: Some(namespace.clone()),
        uid: pod.uid.clone(),
        ..Default::default()
    };
    let workload_ref = ObjectReference {
        api_version: Some(API_VERSION.into()),
        kind: Some(workload.kind().kind().into()),
        name: Some(workload.name().into()),
        namespace: Some(namespace.clone()),
        uid: workload.meta().uid.clone(),
        ..Default::default()
    };
    // The workload's Event names the pod as its related object: Events of one
    // reason on one object are otherwise counted as a series of the first one, whose
    // note would then name the first pod only.
    for (reference, reason, note, related) in [
        (
            &pod_ref,
            escape.reason(),
            format!("escaped admission: {what}{action}"),
            None,
        ),
        (
            &workload_ref,
            "PodEscaped",
            format!("Pod {pod_name} escaped admission: {what}{action}"),
            Some(pod_ref.clone()),
        ),
    ] {
        let event = Event {
            type_: EventType::Warning,
            reason: reason.into(),
            note: Some(note),
            action: "Admission".into(),
            secondary: related,
        };
        // An Event that cannot be written does not stop the report.
        if let Err(e) = ctx.recorder.publish(&event, reference).await {
            tracing::warn!(pod = %pod_name, error = %e, "cannot publish an event");
        }
    }
}

/// Deletes the escaped pod seen (not another of the same name made since).
async fn delete_pod(ctx: &Context, namespace: &str, name: &str, pod: &ObjectMeta) {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => {}
        // Gone already, or another pod of that name now.
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
        Err(e) => {
            tracing::warn!(pod = %format!("{namespace}/{name}"), error = %e, "cannot delete an escaped pod");
        }
    }
}

#[cfg(test)]
mod tests {
    use stackhook_core::model::WorkloadKind;

    use super::*;

    fn key(namespace: &str, name: &str) -> WorkloadKey {
        WorkloadKey {
            namespace: namespace.into(),
            kind: WorkloadKind::Worker,
            name: name.into(),
        }
    }

    #[test]
    fn a_pod_is_reported_once_per_finding_and_forgotten_when_admitted_or_gone() {
        let escapes = Escapes::default();
        let w = key("retail", "w");
        let stale = Escape::StaleStamp {
            pod: "-a".into(),
            current: "-b".into(),
        };
        // Found: it was not escaped before.
        assert_eq!(
            escapes.record(&w, "p1", Some(&Escape::NotInjected)),
            Some(None)
        );
        // The same finding again (a status update of the pod): nothing changed.
        assert_eq!(escapes.record(&w, "p1", Some(&Escape::NotInjected)), None);
        assert_eq!(
            escapes.record(&w, "p1", Some(&stale)),
            Some(Some(Escape::NotInjected))
        );
        assert_eq!(
            escapes.record(&w, "p2", Some(&Escape::NotInjected)),
            Some(None)
        );
        escapes.record(&key("orders", "o"), "p3", Some(&Escape::NotInjected));
        assert_eq!(escapes.of(&w).len(), 2);
        assert_eq!(escapes.in_namespace(Some("retail")).len(), 2);
        assert_eq!(escapes.in_namespace(None).len(), 3);
        // Gone, or admitted: forgotten, and the map holds no empty entry.
        assert_eq!(escapes.record(&w, "p1", None), Some(Some(stale)));
        assert_eq!(
            escapes.record(&w, "p2", None),
            Some(Some(Escape::NotInjected))
        );
        assert_eq!(escapes.record(&w, "p2", None), None);
        assert!(escapes.of(&w).is_empty());
        assert_eq!(escapes.lock().len(), 1);
    }

    #[test]
    fn one_escaped_pod_per_workload_is_deleted_per_interval() {
        let deletions = Deletions::default();
        let (w, o) = (key("retail", "w"), key("retail", "o"));
        let t0 = std::time::Instant::now();
        assert!(deletions.allow(&w, t0));
        // The owner's replacement, escaped too: not at once.
        assert!(!deletions.allow(&w, t0 + DELETE_INTERVAL / 2));
        // Another workload's is not held back.
        assert!(deletions.allow(&o, t0));
        assert!(deletions.allow(&w, t0 + DELETE_INTERVAL));
    }
}
