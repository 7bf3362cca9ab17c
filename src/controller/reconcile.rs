//! One reconcile of one workload: the API calls around the pure plan.
//!
//! 1. Workflows: list the workload's Jobs (DAG progress; Jobs whose Stamp changed are
//!    deleted, since a Job's template cannot change).
//! 2. `orchestrate::desired` from the catalog — the same plan `stackhook render` prints.
//! 3. Server-side apply of every object (field manager `stackhook`, forced: the
//!    controller owns these objects).
//! 4. ConfigMaps of Stamps older than the last three are deleted.
//! 5. Events when the Stamp changes, the workload cannot be rendered, or its mode
//!    (`Warn`, `Audit`) admitted violations (also counted in a metric); the status
//!    (`progress::status`) is applied to the status subresource when it changed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
    PropagationPolicy,
};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};
use stackhook_core::engine::Engine;
use stackhook_core::model::{API_VERSION, GROUP, VERSION, Workload, WorkloadStatus};
use stackhook_core::orchestrate::{self, Dag, OrchestrateError, Planned};
use stackhook_core::progress::{self, Outcome, Relaxed};
use stackhook_core::render::{STAMP_LABEL, WORKLOAD_KIND_LABEL, WORKLOAD_LABEL};
use stackhook_core::resolve::Problem;

use super::Context;

/// The field manager of every object the controller applies.
pub const FIELD_MANAGER: &str = "stackhook";

/// Why a reconcile failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Applying an object failed.
    #[error("cannot apply {kind} {namespace}/{name}: {}", brief(.source))]
    Apply {
        /// The object's kind.
        kind: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Reading an object before applying it failed.
    #[error("cannot read {kind} {namespace}/{name} to see who owns it: {}", brief(.source))]
    Read {
        /// The object's kind.
        kind: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Listing the workload's objects failed.
    #[error("cannot list the {what} of {workload}: {}", brief(.source))]
    List {
        /// ConfigMaps or Jobs.
        what: &'static str,
        /// `Kind namespace/name`.
        workload: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Deleting an object failed.
    #[error("cannot delete {kind} {namespace}/{name}: {}", brief(.source))]
    Delete {
        /// The object's kind.
        kind: &'static str,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Writing the status failed.
    #[error("cannot update the status of {workload}: {}", brief(.source))]
    Status {
        /// `Kind namespace/name`.
        workload: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The API server does not serve the kind of an object in the plan (API
    /// discovery does not find it).
    #[error("cannot find the API resource of {kind} in {api_version}: {}", brief(.source))]
    Discover {
        /// The object's `apiVersion`.
        api_version: String,
        /// Its kind.
        kind: String,
        /// The discovery error.
        #[source]
        source: Box<kube::Error>,
    },
    /// An object read from the API server cannot be turned into JSON: nothing is
    /// decided on a stand-in (the ownership check would see no owner).
    #[error("cannot read {kind} {namespace}/{name} as JSON")]
    Encode {
        /// The object's kind.
        kind: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The plan holds an object without `apiVersion`, `kind` or `metadata.name` (a
    /// Stack's `resourceTemplate` can render one).
    #[error("{workload}: the rendered object #{index} has no {missing}")]
    Shapeless {
        /// `Kind namespace/name`.
        workload: String,
        /// Its position in the plan.
        index: usize,
        /// What it lacks.
        missing: &'static str,
    },
}

/// The API server's answer in one line (`409 Conflict: …`), or the client's error.
fn brief(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            format!("{} {}: {}", status.code, status.reason, status.message)
        }
        other => other.to_string(),
    }
}

/// `object` as JSON, or [`ReconcileError::Encode`] naming it.
fn to_json<T: serde::Serialize>(
    object: &T,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, ReconcileError> {
    serde_json::to_value(object).map_err(|source| ReconcileError::Encode {
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        source,
    })
}

/// `apiVersion` and `kind` as a [`GroupVersionKind`] (`group/version`, or `version`
/// for the core group): the one place an `apiVersion` is split.
fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

/// The kinds the controller makes itself, with their plurals from k8s-openapi.
fn own_kind(api_version: &str, kind: &str) -> Option<ApiResource> {
    use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy};
    [
        ApiResource::erase::<core::v1::ConfigMap>(&()),
        ApiResource::erase::<core::v1::Service>(&()),
        ApiResource::erase::<apps::v1::Deployment>(&()),
        ApiResource::erase::<batch::v1::Job>(&()),
        ApiResource::erase::<batch::v1::CronJob>(&()),
        ApiResource::erase::<networking::v1::Ingress>(&()),
        ApiResource::erase::<autoscaling::v2::HorizontalPodAutoscaler>(&()),
        ApiResource::erase::<policy::v1::PodDisruptionBudget>(&()),
    ]
    .into_iter()
    .find(|r| r.api_version == api_version && r.kind == kind)
}

/// The API resource of an object in the plan. Any other kind than the controller's
/// own (a Stack's `resourceTemplate` may make any) is looked up by API discovery,
/// since a CRD's plural need not be the guessed one; what discovery found is kept,
/// and a kind not kept (never found, or forgotten when the API server answered 404
/// for it) is discovered again.
async fn resource_of(
    ctx: &Context,
    api_version: &str,
    kind: &str,
) -> Result<ApiResource, ReconcileError> {
    if let Some(r) = own_kind(api_version, kind) {
        return Ok(r);
    }
    if let Some(r) = ctx.kinds.get(api_version, kind) {
        return Ok(r);
    }
    let (resource, _) = kube::discovery::pinned_kind(&ctx.client, &gvk(api_version, kind))
        .await
        .map_err(|source| ReconcileError::Discover {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            source: Box::new(source),
        })?;
    ctx.kinds.insert(resource.clone());
    Ok(resource)
}

fn describe(w: &Workload) -> String {
    format!("{} {}/{}", w.kind().kind(), w.namespace(), w.name())
}

fn selector(w: &Workload) -> String {
    format!(
        "{WORKLOAD_LABEL}={},{WORKLOAD_KIND_LABEL}={}",
        w.name(),
        w.kind().kind()
    )
}

/// The API of an object in the plan, from its `apiVersion` and `kind`.
async fn api_for(
    ctx: &Context,
    w: &Workload,
    index: usize,
    object: &Value,
) -> Result<(Api<DynamicObject>, String, String), ReconcileError> {
    let shapeless = |missing| ReconcileError::Shapeless {
        workload: describe(w),
        index,
        missing,
    };
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| shapeless("apiVersion"))?;
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| shapeless("kind"))?;
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .ok_or_else(|| shapeless("metadata.name"))?;
    let resource = resource_of(ctx, api_version, kind).await?;
    Ok((
        Api::namespaced_with(ctx.client.clone(), w.namespace(), &resource),
        kind.to_owned(),
        name.to_owned(),
    ))
}

async fn list(
    ctx: &Context,
    w: &Workload,
    what: &'static str,
    resource: ApiResource,
) -> Result<Vec<Value>, ReconcileError> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), w.namespace(), &resource);
    let listed = api
        .list(&ListParams::default().labels(&selector(w)))
        .await
        .map_err(|source| ReconcileError::List {
            what,
            workload: describe(w),
            source: Box::new(source),
        })?;
    listed
        .items
        .iter()
        .map(|o| {
            let mut v = to_json(o, &resource.kind, w.namespace(), &o.name_any())?;
            // Lists leave out each item's apiVersion and kind.
            v["apiVersion"] = json!(resource.api_version);
            v["kind"] = json!(resource.kind);
            Ok(v)
        })
        .collect()
}

async fn delete(
    ctx: &Context,
    w: &Workload,
    kind: &'static str,
    resource: &ApiResource,
    name: &str,
) -> Result<(), ReconcileError> {
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), w.namespace(), resource);
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        // Already gone: what we wanted.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(ReconcileError::Delete {
            kind,
            namespace: w.namespace().to_owned(),
            name: name.to_owned(),
            source: Box::new(source),
        }),
    }
}

fn job_resource() -> ApiResource {
    ApiResource::erase::<k8s_openapi::api::batch::v1::Job>(&())
}

fn config_map_resource() -> ApiResource {
    ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&())
}

async fn publish(ctx: &Context, w: &Workload, type_: EventType, reason: &str, note: String) {
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(API_VERSION.into()),
        kind: Some(w.kind().kind().into()),
        name: Some(w.name().into()),
        namespace: Some(w.namespace().into()),
        uid: w.meta().uid.clone(),
        resource_version: w.meta().resource_version.clone(),
        ..Default::default()
    };
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    // An event that cannot be written is not a reason to fail the reconcile.
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        tracing::warn!(workload = %describe(w), reason, error = %e, "cannot publish an event");
    }
}

/// Reconciles one workload.
pub async fn reconcile(w: &Workload, ctx: &Context) -> Result<Action, ReconcileError> {
    if w.meta().deletion_timestamp.is_some() {
        ctx.violations.set(w, None, 0);
        // Owner references take the objects with it.
        return Ok(Action::await_change());
    }
    let jobs = match w {
        Workload::Workflow(_) => list(ctx, w, "Jobs", job_resource()).await?,
        _ => Vec::new(),
    };
    // The plan is made from one catalog snapshot, before any further await.
    let (planned, compiled) = {
        let catalog = ctx.catalog.load();
        let engine = Engine::new(&catalog.catalog, &ctx.catalog.cache, &ctx.engine);
        let planned = match w {
            // Which steps may start depends on which have succeeded with their
            // current Stamps, which the whole plan gives.
            // A scheduled DAG: its CronJobs start each run's first steps; the rest
            // of the latest run follows as its steps succeed.
            Workload::Workflow(_) if orchestrate::scheduled_dag(w) => {
                orchestrate::desired(&engine, w, &ctx.orchestrate, &Dag::All).and_then(|all| {
                    let (run, succeeded) = progress::scheduled_run(&jobs, &all);
                    let dag = Dag::Run {
                        run: run.as_deref(),
                        succeeded: &succeeded,
                    };
                    orchestrate::plan(&engine, w, &ctx.orchestrate, &dag)
                })
            }
            Workload::Workflow(wf) if !wf.spec.dag.is_empty() => {
                orchestrate::desired(&engine, w, &ctx.orchestrate, &Dag::All).and_then(|all| {
                    let succeeded = progress::succeeded_steps(&jobs, &all);
                    orchestrate::plan(&engine, w, &ctx.orchestrate, &Dag::Succeeded(&succeeded))
                })
            }
            _ => orchestrate::plan(&engine, w, &ctx.orchestrate, &Dag::All),
        };
        (planned, compiled_stack(&engine, w))
    };
    let previous = w.status();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let (objects, relaxed) = match planned {
        Ok(Planned {
            mut objects,
            enforcement,
            relaxed,
        }) => {
            orchestrate::end_schedules(w, &mut objects, now.0);
            let relaxed = (!relaxed.is_empty()).then(|| {
                let message: Vec<String> = relaxed.iter().map(Problem::at).collect();
                (enforcement, message.join("; "), relaxed.len())
            });
            (objects, relaxed)
        }
        Err(e) => {
            let text = e.to_string();
            // The reason is the first problem's, the message every problem, as
            // admission would deny the workload.
            let (reason, outcome) = match &e {
                OrchestrateError::Invalid(problems) => {
                    let reason = problems.first().map_or("Invalid", |p| p.reason());
                    (
                        reason,
                        Outcome::Invalid {
                            reason,
                            message: &text,
                        },
                    )
                }
                OrchestrateError::Render(_) => ("RenderFailed", Outcome::RenderFailed(&text)),
                OrchestrateError::KindNotAllowed { .. } => (
                    "KindNotAllowed",
                    Outcome::Refused {
                        reason: "KindNotAllowed",
                        message: &text,
                    },
                ),
            };
            publish(ctx, w, EventType::Warning, reason, text.clone()).await;
            // Denied outright: no longer a violation some mode admits.
            ctx.violations.set(w, None, 0);
            let status = progress::status(w, &outcome, None, None, previous, &now);
            write_status(ctx, w, previous, status).await?;
            // A change of its Stack, Depots or settings wakes it; until then, look
            // again now and then in case a watch missed it.
            return Ok(Action::requeue(Duration::from_secs(300)));
        }
    };

    // Nothing is taken over: every object of the plan must be absent or the
    // workload's own before any is applied (a refused plan leaves everything as it was).
    let mut conflicts = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        let (api, kind, name) = api_for(ctx, w, index, object).await?;
        let found = api
            .get_opt(&name)
            .await
            .map_err(|source| ReconcileError::Read {
                kind: kind.clone(),
                namespace: w.namespace().to_owned(),
                name: name.clone(),
                source: Box::new(source),
            })?;
        let mut found = found
            .map(|o| to_json(&o, &kind, w.namespace(), &name))
            .transpose()?;
        if let Some(v) = found.as_mut() {
            v["kind"] = object["kind"].clone();
        }
        if let progress::Ownership::Foreign(why) = progress::ownership(found.as_ref(), w) {
            conflicts.push(why);
        }
    }
    if !conflicts.is_empty() {
        let text = format!("not applied: {}", conflicts.join("; "));
        publish(ctx, w, EventType::Warning, "Conflict", text.clone()).await;
        let outcome = Outcome::Refused {
            reason: "Conflict",
            message: &text,
        };
        let status = progress::status(w, &outcome, None, None, previous, &now);
        write_status(ctx, w, previous, status).await?;
        // Until the other object goes or the workload is renamed; look again now and
        // then.
        return Ok(Action::requeue(Duration::from_secs(300)));
    }

    for name in progress::jobs_to_replace(&objects, &jobs) {
        delete(ctx, w, "Job", &job_resource(), &name).await?;
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut live = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        let (api, kind, name) = api_for(ctx, w, index, object).await?;
        let applied = api
            .patch(&name, &params, &Patch::Apply(object))
            .await
            .map_err(|source| {
                if matches!(&source, kube::Error::Api(e) if e.code == 404) {
                    // Not served there (any more): the next try discovers the kind
                    // again.
                    let api_version = object["apiVersion"].as_str().unwrap_or_default();
                    ctx.kinds.forget(api_version, &kind);
                }
                ReconcileError::Apply {
                    kind: kind.clone(),
                    namespace: w.namespace().to_owned(),
                    name: name.clone(),
                    source: Box::new(source),
                }
            })?;
        let mut v = to_json(&applied, &kind, w.namespace(), &name)?;
        v["apiVersion"] = object["apiVersion"].clone();
        v["kind"] = object["kind"].clone();
        live.push(v);
    }

    // What a field no longer asks for (autoScaling, highAvailabilityConfig, an
    // Ingress turned off) goes, when it is the workload's own.
    for (api_version, kind, name) in orchestrate::withdrawn(w, &objects) {
        let resource = resource_of(ctx, api_version, kind).await?;
        let api: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), w.namespace(), &resource);
        let found = api
            .get_opt(&name)
            .await
            .map_err(|source| ReconcileError::Read {
                kind: kind.to_owned(),
                namespace: w.namespace().to_owned(),
                name: name.clone(),
                source: Box::new(source),
            })?;
        let Some(found) = found else {
            continue;
        };
        let mut v = to_json(&found, kind, w.namespace(), &name)?;
        v["kind"] = json!(kind);
        if progress::ownership(Some(&v), w) == progress::Ownership::Ours {
            delete(ctx, w, kind, &resource, &name).await?;
        }
    }

    let stamp_pointer = format!("/metadata/labels/{}", STAMP_LABEL.replace('/', "~1"));
    let config_maps: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .collect();
    let current: BTreeSet<String> = config_maps
        .iter()
        .filter_map(|o| o.pointer(&stamp_pointer))
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let existing = list(ctx, w, "ConfigMaps", config_map_resource()).await?;
    for name in progress::stale_config_maps(&existing, &current) {
        delete(ctx, w, "ConfigMap", &config_map_resource(), &name).await?;
    }

    let config_map_name = config_maps
        .first()
        .and_then(|o| o.pointer("/metadata/name"))
        .and_then(Value::as_str);
    let stamp = objects
        .iter()
        .find_map(|o| o.pointer(&stamp_pointer).and_then(Value::as_str))
        .map(|s| format!("-{s}"));
    let count = relaxed.as_ref().map_or(0, |(_, _, n)| *n);
    let relaxed = relaxed.as_ref().map(|(enforcement, message, _)| Relaxed {
        enforcement: *enforcement,
        message,
    });
    record_violations(ctx, w, relaxed.as_ref(), count, previous).await;
    let outcome = Outcome::Applied {
        live: &live,
        conditions: compiled
            .as_ref()
            .map(|c| c.conditions.usable())
            .unwrap_or_default(),
        relaxed,
    };
    let status = progress::status(
        w,
        &outcome,
        stamp.as_deref(),
        config_map_name,
        previous,
        &now,
    );
    if previous.and_then(|p| p.stamp.as_deref()) != stamp.as_deref() {
        let names: Vec<String> = live
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o["kind"].as_str().unwrap_or("?"),
                    o.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                )
            })
            .collect();
        publish(
            ctx,
            w,
            EventType::Normal,
            "Applied",
            format!(
                "Stamp {}: applied {}",
                stamp.as_deref().unwrap_or("(none)"),
                names.join(", ")
            ),
        )
        .await;
    }
    let phase = status.phase.clone();
    write_status(ctx, w, previous, status).await?;
    Ok(match phase.as_deref() {
        Some("Succeeded" | "Failed") => Action::await_change(),
        // Owned Deployments and Jobs wake the workload when they change; a
        // resourceTemplate object of another kind is not watched, so look again soon.
        _ if compiled
            .is_some_and(|c| c.conditions.success.is_some() || c.conditions.failure.is_some()) =>
        {
            Action::requeue(Duration::from_secs(15))
        }
        _ => Action::requeue(Duration::from_secs(600)),
    })
}

/// Records what `Warn` or `Audit` admitted (SPEC §3, staged enforcement): the metric
/// `stackhook_workload_violations` always (0 drops the series), and a Warning Event
/// when the violations differ from those the `Validated` condition already holds,
/// so a reconcile every few minutes does not repeat it.
async fn record_violations(
    ctx: &Context,
    w: &Workload,
    relaxed: Option<&Relaxed<'_>>,
    count: usize,
    previous: Option<&WorkloadStatus>,
) {
    ctx.violations.set(w, relaxed.map(|r| r.enforcement), count);
    let Some(r) = relaxed else {
        return;
    };
    let text = r.text();
    let known = previous
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == "Validated"))
        .is_some_and(|c| c.reason == r.reason() && c.message == text);
    if !known {
        publish(ctx, w, EventType::Warning, r.reason(), text).await;
    }
}

/// The compiled Stack of a single-Stack workload, for its resource conditions.
fn compiled_stack(
    engine: &Engine<'_>,
    w: &Workload,
) -> Option<Arc<stackhook_core::compiled::CompiledStack>> {
    let reference = w.stack_references().into_iter().next()?;
    let reference = stackhook_core::model::StackRef::parse(reference).ok()?;
    let stack = engine.catalog().stack(&reference).ok()?;
    Some(engine.cache().get(&stack))
}

async fn write_status(
    ctx: &Context,
    w: &Workload,
    previous: Option<&WorkloadStatus>,
    status: WorkloadStatus,
) -> Result<(), ReconcileError> {
    // Whether every pod went through admission, as the pod watch found it.
    let mut status = status;
    let key = stackhook_core::catalog::WorkloadKey {
        namespace: w.namespace().to_owned(),
        kind: w.kind(),
        name: w.name().to_owned(),
    };
    if let Some(c) = stackhook_core::escape::condition(
        &ctx.escapes.of(&key),
        previous.map_or(&[], |p| p.conditions.as_slice()),
        w.meta().generation,
        &Time(k8s_openapi::jiff::Timestamp::now()),
    ) {
        status.conditions.push(c);
    }
    if previous == Some(&status) {
        return Ok(());
    }
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(GROUP, VERSION, w.kind().kind()));
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), w.namespace(), &resource);
    let body = json!({"apiVersion": API_VERSION, "kind": w.kind().kind(), "status": status});
    api.patch_status(
        w.name(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|source| ReconcileError::Status {
        workload: describe(w),
        source: Box::new(source),
    })?;
    Ok(())
}

/// The workload an object of a watched kind is, for the generic controller.
pub trait AsWorkload: Resource<DynamicType = ()> {
    /// The object as a [`Workload`].
    fn workload(self: Arc<Self>) -> Workload;
}

impl AsWorkload for stackhook_core::model::Worker {
    fn workload(self: Arc<Self>) -> Workload {
        Workload::Worker(self)
    }
}

impl AsWorkload for stackhook_core::model::Service {
    fn workload(self: Arc<Self>) -> Workload {
        Workload::Service(self)
    }
}

impl AsWorkload for stackhook_core::model::Workflow {
    fn workload(self: Arc<Self>) -> Workload {
        Workload::Workflow(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_that_cannot_be_json_is_an_error_naming_it_not_a_null() {
        // A map with non-string keys is what serde_json refuses.
        let object: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let e = to_json(&object, "Deployment", "retail", "w").unwrap_err();
        assert!(matches!(e, ReconcileError::Encode { .. }), "{e:?}");
        assert_eq!(e.to_string(), "cannot read Deployment retail/w as JSON");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn an_api_version_is_split_into_group_and_version_in_one_place() {
        assert_eq!(
            gvk("apps/v1", "Deployment"),
            GroupVersionKind::gvk("apps", "v1", "Deployment")
        );
        assert_eq!(
            gvk("v1", "ConfigMap"),
            GroupVersionKind::gvk("", "v1", "ConfigMap")
        );
        assert_eq!(
            gvk(API_VERSION, "Worker"),
            GroupVersionKind::gvk(GROUP, VERSION, "Worker")
        );
    }

    #[test]
    fn the_controllers_own_kinds_need_no_discovery() {
        let hpa = own_kind("autoscaling/v2", "HorizontalPodAutoscaler").unwrap();
        assert_eq!(hpa.plural, "horizontalpodautoscalers");
        assert_eq!(own_kind("v1", "ConfigMap").unwrap().plural, "configmaps");
        // Another version, or a kind of a Stack's resourceTemplate: discovered.
        assert!(own_kind("autoscaling/v1", "HorizontalPodAutoscaler").is_none());
        assert!(own_kind("sparkoperator.k8s.io/v1beta2", "SparkApplication").is_none());
    }
}
