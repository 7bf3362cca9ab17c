//! What the controller makes for a workload (SPEC §5), as a pure function: the
//! workload and the catalog in, the desired objects out — the ConfigMap of each unit
//! and the orchestration objects:
//!
//! | workload | objects (named after it) |
//! |---|---|
//! | Worker | Deployment; HorizontalPodAutoscaler with `autoScaling`; PodDisruptionBudget with `highAvailabilityConfig` |
//! | Service | as a Worker, and a Service, and an Ingress when `ingress.enabled` |
//! | Workflow | Job, or CronJob with `schedule.cron`; with a `dag`, one Job `<name>-<step>` per step whose dependencies have succeeded; a scheduled `dag`: one CronJob `<name>-<step>` per step without dependencies, and per run `<run>` (the suffix of the Jobs those CronJobs start) a Job `<name>-<step>-<run>` per other step once its dependencies succeeded in that run |
//! | any, with the Stack's `resourceTemplate` | that object instead |
//!
//! Pod templates carry the workload labels (so the webhook injects them) and the
//! `stackhook.io/stamp` annotation (so a new Stamp rolls a Deployment). A workload
//! annotated `stackhook.io/orchestrate: "false"` gets only its ConfigMap.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec,
    Service, ServicePort, ServiceSpec, WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use crate::compiled::TemplateField;
use crate::enforce;
use crate::engine::Engine;
use crate::model::{
    API_VERSION, AutoScalingSpec, Enforcement, HighAvailabilityMode, HighAvailabilitySpec,
    Workload, WorkloadKind,
};
use crate::render::{STAMP_LABEL, WORKLOAD_KIND_LABEL, WORKLOAD_LABEL};
use crate::resolve::{self, Problem, Resolved};

use crate::render::{ORCHESTRATE_ANNOTATION, STAMP_ANNOTATION, STEP_LABEL};

/// Settings of the whole installation; a namespace's `stackhook-config` (read through
/// the catalog) overrides them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrchestrateSettings {
    /// Hosts of Ingresses are `<name>.<namespace>.<suffix>`.
    pub ingress_domain_suffix: String,
    /// The kinds (`Kind.group`, `Kind` for the core group) a Stack's
    /// `resourceTemplate` may make; `None`: any (offline, where no cluster's policy
    /// applies).
    pub resource_kinds: Option<Vec<String>>,
}

impl Default for OrchestrateSettings {
    fn default() -> Self {
        Self {
            ingress_domain_suffix: "example.com".into(),
            resource_kinds: None,
        }
    }
}

/// Which DAG steps to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dag<'a> {
    /// Every step (`stackhook render`: the whole plan).
    All,
    /// The steps whose dependencies are all in this set of succeeded steps.
    Succeeded(&'a BTreeSet<String>),
    /// A scheduled DAG's run: the CronJobs of its first steps, and the Jobs
    /// `<name>-<step>-<run>` of the run's steps whose dependencies are all in the set
    /// (no run yet: only the CronJobs). Unscheduled DAGs read it as `Succeeded`.
    Run {
        /// The run: the suffix Kubernetes gave the Jobs of the first steps' CronJobs.
        run: Option<&'a str>,
        /// The steps that succeeded in that run.
        succeeded: &'a BTreeSet<String>,
    },
}

/// Annotation on a scheduled DAG's later steps' Jobs: the CronJobs whose runs start them.
pub const SCHEDULED_BY_ANNOTATION: &str = "stackhook.io/scheduled-by";
/// Annotation on a scheduled DAG's Jobs: the run they belong to.
pub const RUN_ANNOTATION: &str = "stackhook.io/run";
/// Annotation on a Workflow's CronJobs: the `schedule.endOn` after which they are
/// suspended.
pub const END_ON_ANNOTATION: &str = "stackhook.io/end-on";

/// Whether `workload` is a Workflow with both a `dag` and a `schedule.cron`.
pub fn scheduled_dag(workload: &Workload) -> bool {
    matches!(workload, Workload::Workflow(wf)
        if !wf.spec.dag.is_empty()
            && wf.spec.schedule.as_ref().is_some_and(|s| s.cron.is_some()))
}

/// Suspends the CronJobs among `objects` when the Workflow's `schedule.endOn` is at or
/// before `now` (Kubernetes CronJobs have no end of their own). An `endOn` that is not
/// an RFC 3339 time is left alone (conversion and admission say so).
pub fn end_schedules(workload: &Workload, objects: &mut [Value], now: jiff::Timestamp) {
    let Workload::Workflow(wf) = workload else {
        return;
    };
    let Some(end) = wf
        .spec
        .schedule
        .as_ref()
        .and_then(|s| s.end_on.as_deref())
        .and_then(|e| e.trim().parse::<jiff::Timestamp>().ok())
    else {
        return;
    };
    if end > now {
        return;
    }
    for o in objects.iter_mut().filter(|o| o["kind"] == "CronJob") {
        if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("suspend".into(), Value::Bool(true));
        }
    }
}

/// Why the objects cannot be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OrchestrateError {
    /// The workload has problems (the ones admission denies it for).
    #[error("{}", .0.iter().map(Problem::at).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// A template fails when rendered for real.
    #[error("{}", .0.at())]
    Render(Problem),
    /// The Stack's `resourceTemplate` makes a kind that is not on the controller's
    /// allow-list.
    #[error(
        "the Stack's resourceTemplate makes a {kind}, which the controller may not create; allowed: {allowed}"
    )]
    KindNotAllowed {
        /// `Kind.group` (`Kind` for the core group).
        kind: String,
        /// The allow-list, listed.
        allowed: String,
    },
}

/// Whether the controller makes more than the ConfigMap (not annotated
/// `stackhook.io/orchestrate: "false"`).
pub fn orchestrated(workload: &Workload) -> bool {
    workload
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(ORCHESTRATE_ANNOTATION))
        .map(String::as_str)
        != Some("false")
}

/// The objects (`apiVersion`, `kind`, name) the controller makes for a workload only
/// while a field asks for them (an Ingress, an autoscaler, a disruption budget) and
/// that `objects`, its current plan, lacks: the controller deletes those it owns, so
/// that turning a field off takes its object away.
pub fn withdrawn(
    workload: &Workload,
    objects: &[Value],
) -> Vec<(&'static str, &'static str, String)> {
    let optional: &[(&str, &str)] = match workload {
        Workload::Worker(_) => &[
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("policy/v1", "PodDisruptionBudget"),
        ],
        Workload::Service(_) => &[
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("policy/v1", "PodDisruptionBudget"),
            ("networking.k8s.io/v1", "Ingress"),
        ],
        Workload::Workflow(_) => &[],
    };
    optional
        .iter()
        .filter(|(_, kind)| !objects.iter().any(|o| o["kind"] == *kind))
        .map(|(v, k)| (*v, *k, workload.name().to_owned()))
        .collect()
}

/// The workload as the controlling owner of what is made for it (when it has a uid:
/// objects read from files have none).
/// `Kind.group` of an object (`Kind` for the core group), as allow-lists name kinds.
pub fn group_kind(object: &Value) -> String {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match object
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.rsplit_once('/'))
    {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind.to_owned(),
    }
}

fn owner(workload: &Workload) -> Option<Vec<OwnerReference>> {
    workload.meta().uid.as_ref().map(|uid| {
        vec![OwnerReference {
            api_version: API_VERSION.into(),
            kind: workload.kind().kind().into(),
            name: workload.name().into(),
            uid: uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    })
}

fn labels(workload: &Workload, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert(WORKLOAD_LABEL.into(), workload.name().into());
    labels.insert(WORKLOAD_KIND_LABEL.into(), workload.kind().kind().into());
    for (k, v) in extra {
        labels.insert((*k).into(), (*v).into());
    }
    labels
}

fn metadata(workload: &Workload, name: &str, extra: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(workload.namespace().into()),
        labels: Some(labels(workload, extra)),
        owner_references: owner(workload),
        ..ObjectMeta::default()
    }
}

/// A typed object as the JSON the controller applies (with its apiVersion and kind).
fn object<T: serde::Serialize>(o: &T) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// A container name from the Stack's name (DNS-1123 label).
fn container_name(stack: &str) -> String {
    let n: String = stack
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let n = n.trim_matches('-');
    if n.is_empty() {
        "main".into()
    } else {
        n.chars().take(63).collect()
    }
}

/// The pod template of a unit. `shape` is the `containerResourceTemplate`'s output:
/// `{initContainers, container}` replaces the default container shape.
fn pod_template(
    workload: &Workload,
    r: &Resolved,
    restart: Option<&str>,
    extra: &[(&str, &str)],
    shape: Option<&Value>,
) -> Result<PodTemplateSpec, OrchestrateError> {
    let common = workload.common();
    let stack = &r.stack.spec;
    let mut labels = common.labels.clone();
    labels.extend(self::labels(workload, extra));
    let mut annotations = common.annotations.clone();
    annotations.insert(STAMP_ANNOTATION.into(), r.stamp.clone());
    let not_a = |what: &str, e: serde_json::Error| {
        OrchestrateError::Render(Problem::Rendered {
            path: r.unit.stack_spec_path.clone(),
            stack: stack.reference().to_string(),
            field: TemplateField::ContainerResource.name(),
            message: format!("its {what} is not a Kubernetes container: {e}"),
        })
    };
    let mut container = Container {
        name: container_name(&stack.name),
        image: stack.image.as_ref().map(|i| i.reference()),
        command: (!stack.command.is_empty()).then(|| stack.command.clone()),
        args: (!stack.arguments.is_empty()).then(|| stack.arguments.clone()),
        image_pull_policy: common.image_pull_policy.clone(),
        // The unit's (a DAG step's own, or the workload's), written from a
        // ResourceRequirements, so it reads back as one.
        resources: r
            .unit
            .resources
            .as_object()
            .filter(|o| !o.is_empty())
            .and_then(|_| serde_json::from_value(r.unit.resources.clone()).ok()),
        ..Container::default()
    };
    let mounts = pod::unit_mounts(workload, r);
    if !mounts.is_empty() {
        container.volume_mounts = Some(mounts);
    }
    if workload.kind() == WorkloadKind::Service
        && let Some(port) = stack.ports.as_ref().and_then(|p| p.target_port)
    {
        container.ports = Some(vec![ContainerPort {
            name: stack
                .ports
                .as_ref()
                .map(|p| p.name.clone())
                .filter(|n| !n.is_empty())
                .or_else(|| Some("http".into())),
            container_port: port,
            ..ContainerPort::default()
        }]);
    }
    let mut spec = PodSpec {
        containers: vec![container],
        service_account_name: common.service_account_name.clone(),
        node_selector: (!common.node_selector.is_empty()).then(|| common.node_selector.clone()),
        tolerations: (!common.tolerations.is_empty()).then(|| common.tolerations.clone()),
        restart_policy: restart.map(str::to_owned),
        security_context: common.security_context.clone(),
        affinity: high_availability(workload).map(|ha| anti_affinity(workload, ha)),
        ..PodSpec::default()
    };
    if let Some(shape) = shape {
        if let Some(c) = shape.get("container").filter(|c| c.is_object()) {
            let mut c = c.clone();
            if c.get("name").is_none() {
                c["name"] = json!(container_name(&stack.name));
            }
            spec.containers = vec![serde_json::from_value(c).map_err(|e| not_a("container", e))?];
        }
        if let Some(init) = shape.get("initContainers").filter(|i| i.is_array()) {
            spec.init_containers =
                Some(serde_json::from_value(init.clone()).map_err(|e| not_a("initContainers", e))?);
        }
        // DataOS templates (lakesearch's) add containers beside the program's.
        if let Some(more) = shape.get("sidecars").filter(|s| s.is_array()) {
            let more: Vec<Container> =
                serde_json::from_value(more.clone()).map_err(|e| not_a("sidecars", e))?;
            spec.containers.extend(more);
        }
        if let Some(volumes) = shape.get("volumes").filter(|v| v.is_array()) {
            spec.volumes =
                Some(serde_json::from_value(volumes.clone()).map_err(|e| not_a("volumes", e))?);
        }
    }
    pod::complete(&mut spec, workload, r).map_err(|message| {
        OrchestrateError::Render(Problem::Rendered {
            path: r.unit.stack_spec_path.clone(),
            stack: stack.reference().to_string(),
            field: TemplateField::ContainerResource.name(),
            message,
        })
    })?;
    Ok(PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(spec),
    })
}

/// A Worker's or Service's `highAvailabilityConfig`.
fn high_availability(workload: &Workload) -> Option<&HighAvailabilitySpec> {
    match workload {
        Workload::Worker(w) => w.spec.high_availability_config.as_ref(),
        Workload::Service(s) => s.spec.high_availability_config.as_ref(),
        Workload::Workflow(_) => None,
    }
}

/// A Worker's or Service's `autoScaling`, when enabled.
fn auto_scaling(workload: &Workload) -> Option<&AutoScalingSpec> {
    match workload {
        Workload::Worker(w) => w.spec.auto_scaling.as_ref(),
        Workload::Service(s) => s.spec.auto_scaling.as_ref(),
        Workload::Workflow(_) => None,
    }
    .filter(|a| a.enabled())
}

/// Replicas kept apart at the level `highAvailabilityConfig` names.
fn anti_affinity(workload: &Workload, ha: &HighAvailabilitySpec) -> Affinity {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(labels(workload, &[])),
            ..LabelSelector::default()
        }),
        topology_key: ha.level.unwrap_or_default().topology_key().into(),
        ..PodAffinityTerm::default()
    };
    let anti = match ha.mode.unwrap_or_default() {
        HighAvailabilityMode::Required => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..PodAntiAffinity::default()
        },
        HighAvailabilityMode::Preferred => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    pod_affinity_term: term,
                    weight: 100,
                },
            ]),
            ..PodAntiAffinity::default()
        },
    };
    Affinity {
        pod_anti_affinity: Some(anti),
        ..Affinity::default()
    }
}

/// The HorizontalPodAutoscaler of a Deployment named `name`.
fn autoscaler(workload: &Workload, name: &str, a: &AutoScalingSpec) -> HorizontalPodAutoscaler {
    let metric = |resource: &str, percent: i32| MetricSpec {
        type_: "Resource".into(),
        resource: Some(ResourceMetricSource {
            name: resource.into(),
            target: MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(percent),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    };
    let mut metrics = Vec::new();
    if let Some(p) = a.target_cpu_utilization_percentage {
        metrics.push(metric("cpu", p));
    }
    if let Some(p) = a.target_memory_utilization_percentage {
        metrics.push(metric("memory", p));
    }
    let min = a.min_replicas.unwrap_or(1);
    HorizontalPodAutoscaler {
        metadata: metadata(workload, name, &[]),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: name.into(),
            },
            min_replicas: Some(min),
            // Admission requires maxReplicas; this only keeps the object valid.
            max_replicas: a.max_replicas.unwrap_or(min).max(min),
            metrics: (!metrics.is_empty()).then_some(metrics),
            ..HorizontalPodAutoscalerSpec::default()
        }),
        status: None,
    }
}

/// One pod at a time may be evicted (a drain never takes every replica down).
fn disruption_budget(workload: &Workload, name: &str) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: metadata(workload, name, &[]),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(labels(workload, &[])),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

/// A template rendered for real and read as YAML: one document
/// ([`crate::render::single_document`], the rule `configFileTemplate` follows too).
fn render_template(
    engine: &Engine<'_>,
    workload: &Workload,
    r: &Resolved,
    field: TemplateField,
) -> Result<Option<Value>, OrchestrateError> {
    let Some(out) =
        resolve::render(engine, workload, r, field, false).map_err(OrchestrateError::Render)?
    else {
        return Ok(None);
    };
    crate::render::single_document(&out).map_err(|e| {
        OrchestrateError::Render(Problem::Rendered {
            path: r.unit.stack_spec_path.clone(),
            stack: r.stack.spec.reference().to_string(),
            field: field.name(),
            message: match e {
                crate::render::DocumentError::NotYaml(e) => {
                    format!("did not render YAML: line {e}")
                }
                crate::render::DocumentError::Documents(n) => {
                    format!("rendered {n} YAML documents; it must render one object")
                }
            },
        })
    })
}

/// Annotation on DAG step Jobs naming the steps they run after.
pub const AFTER_ANNOTATION: &str = "stackhook.io/after";

/// A Service's ports: the workload's `servicePorts`, else its `servicePort` or the
/// Stack's port.
fn service_ports(s: &crate::model::Service, r: &Resolved) -> Vec<ServicePort> {
    let stack_ports = r.stack.spec.ports.as_ref();
    let mut ports: Vec<ServicePort> = s
        .spec
        .service_ports
        .iter()
        .map(|p| ServicePort {
            name: Some(
                p.name
                    .clone()
                    .unwrap_or_else(|| format!("port-{}", p.service_port)),
            ),
            port: p.service_port,
            target_port: Some(IntOrString::Int(p.target_port.unwrap_or(p.service_port))),
            ..ServicePort::default()
        })
        .collect();
    if ports.is_empty()
        && let Some(port) = s
            .spec
            .service_port
            .or_else(|| stack_ports.and_then(|p| p.service_port))
    {
        let target = stack_ports.and_then(|p| p.target_port).unwrap_or(port);
        ports.push(ServicePort {
            name: Some(
                stack_ports
                    .map(|p| p.name.clone())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "http".into()),
            ),
            port,
            target_port: Some(IntOrString::Int(target)),
            ..ServicePort::default()
        });
    }
    ports
}

fn object_list(o: &[OwnerReference]) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// Every object the controller applies for `workload`.
pub fn desired(
    engine: &Engine<'_>,
    workload: &Workload,
    settings: &OrchestrateSettings,
    dag: &Dag<'_>,
) -> Result<Vec<Value>, OrchestrateError> {
    plan(engine, workload, settings, dag).map(|p| p.objects)
}

/// What the controller applies for a workload, and the violations its mode admitted.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// The objects, as [`desired`] gives them.
    pub objects: Vec<Value>,
    /// The workload's mode.
    pub enforcement: Enforcement,
    /// The problems `Warn` or `Audit` admitted: the objects are made regardless, and
    /// the controller records these on the workload.
    pub relaxed: Vec<Problem>,
}

/// [`desired`], with the violations the workload's mode admitted. A workload with a
/// problem its mode does not admit is [`OrchestrateError::Invalid`], listing every
/// problem, as under `Enforce`.
pub fn plan(
    engine: &Engine<'_>,
    workload: &Workload,
    settings: &OrchestrateSettings,
    dag: &Dag<'_>,
) -> Result<Planned, OrchestrateError> {
    let resolution = resolve::resolve(engine, workload);
    let judged = enforce::judge(resolution.enforcement, resolution.problems.clone());
    if !judged.allowed() {
        return Err(OrchestrateError::Invalid(resolution.problems));
    }
    let objects = objects(engine, workload, settings, dag, resolution)?;
    Ok(Planned {
        objects,
        enforcement: judged.enforcement,
        relaxed: judged.relaxed,
    })
}

/// The objects of a workload whose resolution its mode admits.
fn objects(
    engine: &Engine<'_>,
    workload: &Workload,
    settings: &OrchestrateSettings,
    dag: &Dag<'_>,
    resolution: resolve::Resolution,
) -> Result<Vec<Value>, OrchestrateError> {
    // Nothing is made that the API server would refuse by its name (or, for a
    // Service, for lack of a port).
    let suffix = resolution
        .units
        .first()
        .and_then(|r| r.settings.ingress_domain_suffix.clone())
        .unwrap_or_else(|| settings.ingress_domain_suffix.clone());
    let (named, _) = resolve::name_problems(workload, &resolution.units, Some(&suffix));
    if !named.is_empty() {
        return Err(OrchestrateError::Invalid(named));
    }
    let resolved = resolution.units;
    let mut objects = Vec::new();
    for r in &resolved {
        // As the webhook mounts one only then: a ConfigMap when there is config.
        if r.has_config(workload) {
            objects
                .push(resolve::config_map(engine, workload, r).map_err(OrchestrateError::Render)?);
        }
    }
    if !orchestrated(workload) {
        return Ok(objects);
    }
    let name = workload.name();
    let stamp_label = |r: &Resolved| r.stamp.trim_start_matches('-').to_owned();

    if let Some(first) = resolved.first()
        && let Some(object) = render_template(engine, workload, first, TemplateField::Resource)?
    {
        let mut object = object;
        if let Some(allowed) = &settings.resource_kinds {
            let kind = group_kind(&object);
            if !allowed.contains(&kind) {
                return Err(OrchestrateError::KindNotAllowed {
                    kind,
                    allowed: if allowed.is_empty() {
                        "none".into()
                    } else {
                        allowed.join(", ")
                    },
                });
            }
        }
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.entry("name").or_insert_with(|| name.into());
            meta.insert("namespace".into(), workload.namespace().into());
            if let Some(o) = owner(workload) {
                meta.insert("ownerReferences".into(), object_list(&o));
            }
        }
        objects.push(object);
        return Ok(objects);
    }

    match workload {
        Workload::Worker(_) | Workload::Service(_) => {
            let r = &resolved[0];
            let shape = render_template(engine, workload, r, TemplateField::ContainerResource)?;
            let replicas = match workload {
                Workload::Worker(w) => w.spec.replicas,
                Workload::Service(s) => s.spec.replicas,
                Workload::Workflow(_) => None,
            }
            .unwrap_or(1);
            let stamp = stamp_label(r);
            let scaling = auto_scaling(workload);
            objects.push(object(&Deployment {
                metadata: metadata(workload, name, &[(STAMP_LABEL, &stamp)]),
                spec: Some(DeploymentSpec {
                    // The autoscaler owns the count when there is one.
                    replicas: scaling.is_none().then_some(replicas),
                    selector: LabelSelector {
                        match_labels: Some(labels(workload, &[])),
                        ..LabelSelector::default()
                    },
                    template: pod_template(workload, r, None, &[], shape.as_ref())?,
                    ..DeploymentSpec::default()
                }),
                status: None,
            }));
            if let Some(a) = scaling {
                objects.push(object(&autoscaler(workload, name, a)));
            }
            if high_availability(workload).is_some() {
                objects.push(object(&disruption_budget(workload, name)));
            }
            if let Workload::Service(s) = workload {
                let ports = service_ports(s, r);
                objects.push(object(&Service {
                    metadata: metadata(workload, name, &[]),
                    spec: Some(ServiceSpec {
                        selector: Some(labels(workload, &[])),
                        ports: Some(ports.clone()),
                        ..ServiceSpec::default()
                    }),
                    status: None,
                }));
                if let Some(ingress) = s.spec.ingress.as_ref().filter(|i| i.enabled) {
                    let port = ports.first().map_or(80, |p| p.port);
                    let suffix = r
                        .settings
                        .ingress_domain_suffix
                        .clone()
                        .unwrap_or_else(|| settings.ingress_domain_suffix.clone());
                    objects.push(object(&Ingress {
                        metadata: metadata(workload, name, &[]),
                        spec: Some(IngressSpec {
                            rules: Some(vec![IngressRule {
                                host: Some(format!("{name}.{}.{suffix}", workload.namespace())),
                                http: Some(HTTPIngressRuleValue {
                                    paths: vec![HTTPIngressPath {
                                        path: Some(
                                            ingress.path.clone().unwrap_or_else(|| "/".into()),
                                        ),
                                        path_type: "Prefix".into(),
                                        backend: IngressBackend {
                                            service: Some(IngressServiceBackend {
                                                name: name.into(),
                                                port: Some(ServiceBackendPort {
                                                    number: Some(port),
                                                    ..ServiceBackendPort::default()
                                                }),
                                            }),
                                            ..IngressBackend::default()
                                        },
                                    }],
                                }),
                            }]),
                            ..IngressSpec::default()
                        }),
                        status: None,
                    }));
                }
            }
        }
        Workload::Workflow(wf) => {
            let job_spec = |r: &Resolved,
                            extra: &[(&str, &str)]|
             -> Result<JobSpec, OrchestrateError> {
                let shape = render_template(engine, workload, r, TemplateField::ContainerResource)?;
                Ok(JobSpec {
                    backoff_limit: Some(r.unit.retry.as_ref().and_then(|x| x.count).unwrap_or(2)),
                    template: pod_template(workload, r, Some("Never"), extra, shape.as_ref())?,
                    ..JobSpec::default()
                })
            };
            if wf.spec.dag.is_empty() {
                let r = &resolved[0];
                let stamp = stamp_label(r);
                let spec = job_spec(r, &[])?;
                let meta = metadata(workload, name, &[(STAMP_LABEL, &stamp)]);
                match wf
                    .spec
                    .schedule
                    .as_ref()
                    .and_then(|s| s.cron.as_ref().map(|c| (s, c)))
                {
                    Some((schedule, cron)) => objects.push(object(&CronJob {
                        metadata: meta,
                        spec: Some(CronJobSpec {
                            schedule: cron.clone(),
                            concurrency_policy: schedule.concurrency_policy.clone(),
                            time_zone: schedule.timezone.clone(),
                            job_template: JobTemplateSpec {
                                metadata: None,
                                spec: Some(spec),
                            },
                            ..CronJobSpec::default()
                        }),
                        status: None,
                    })),
                    None => objects.push(object(&Job {
                        metadata: meta,
                        spec: Some(spec),
                        status: None,
                    })),
                }
            } else {
                let steps: Vec<(String, Vec<String>)> = wf
                    .spec
                    .dag
                    .iter()
                    .map(|n| (n.name.clone(), n.dependencies.clone()))
                    .collect();
                let schedule = wf
                    .spec
                    .schedule
                    .as_ref()
                    .and_then(|s| s.cron.as_ref().map(|c| (s, c)));
                let firsts: Vec<String> = steps
                    .iter()
                    .filter(|(_, deps)| deps.is_empty())
                    .map(|(step, _)| format!("{name}-{step}"))
                    .collect();
                for i in resolve::dag_order(&wf.spec.dag) {
                    let (step, deps) = &steps[i];
                    let r = &resolved[i];
                    let stamp = stamp_label(r);
                    let step_labels = [(STAMP_LABEL, stamp.as_str()), (STEP_LABEL, step.as_str())];
                    if let Some((schedule, cron)) = schedule
                        && deps.is_empty()
                    {
                        // A first step of a scheduled DAG: a CronJob whose Jobs carry
                        // the step's labels, so the controller sees each run.
                        let mut meta = metadata(workload, &format!("{name}-{step}"), &step_labels);
                        if let Some(end) = &schedule.end_on {
                            meta.annotations =
                                Some([(END_ON_ANNOTATION.to_owned(), end.clone())].into());
                        }
                        objects.push(object(&CronJob {
                            metadata: meta,
                            spec: Some(CronJobSpec {
                                schedule: cron.clone(),
                                concurrency_policy: schedule.concurrency_policy.clone(),
                                time_zone: schedule.timezone.clone(),
                                job_template: JobTemplateSpec {
                                    metadata: Some(ObjectMeta {
                                        labels: Some(labels(workload, &step_labels)),
                                        ..ObjectMeta::default()
                                    }),
                                    spec: Some(job_spec(r, &[(STEP_LABEL, step)])?),
                                },
                                ..CronJobSpec::default()
                            }),
                            status: None,
                        }));
                        continue;
                    }
                    let (ready, run) = match (dag, schedule.is_some()) {
                        (Dag::All, _) => (true, None),
                        (Dag::Succeeded(done), false)
                        | (
                            Dag::Run {
                                succeeded: done, ..
                            },
                            false,
                        ) => (deps.iter().all(|d| done.contains(d)), None),
                        (
                            Dag::Run {
                                run: Some(run),
                                succeeded,
                            },
                            true,
                        ) => (deps.iter().all(|d| succeeded.contains(d)), Some(*run)),
                        (Dag::Succeeded(_) | Dag::Run { run: None, .. }, true) => (false, None),
                    };
                    if !ready {
                        continue;
                    }
                    let job_name = match run {
                        Some(run) => format!("{name}-{step}-{run}"),
                        None => format!("{name}-{step}"),
                    };
                    let spec = job_spec(r, &[(STEP_LABEL, step)])?;
                    let mut meta = metadata(workload, &job_name, &step_labels);
                    let mut annotations = BTreeMap::new();
                    if !deps.is_empty() {
                        annotations.insert(AFTER_ANNOTATION.to_owned(), deps.join(","));
                    }
                    if schedule.is_some() {
                        annotations.insert(SCHEDULED_BY_ANNOTATION.to_owned(), firsts.join(","));
                    }
                    if let Some(run) = run {
                        annotations.insert(RUN_ANNOTATION.to_owned(), run.to_owned());
                    }
                    if !annotations.is_empty() {
                        meta.annotations = Some(annotations);
                    }
                    objects.push(object(&Job {
                        metadata: meta,
                        spec: Some(spec),
                        status: None,
                    }));
                }
            }
        }
    }
    Ok(objects)
}

mod pod;
#[cfg(test)]
mod tests;
