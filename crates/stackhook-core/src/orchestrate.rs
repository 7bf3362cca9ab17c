//! What the controller makes for a workload (SPEC §5), as a pure function: the
//! workload and the catalog in, the desired objects out — the ConfigMap of each unit
//! and the orchestration objects:
//!
//! | workload | objects (named after it) |
//! |---|---|
//! | Worker | Deployment |
//! | Service | Deployment, Service, Ingress when `ingress.enabled` |
//! | Workflow | Job, or CronJob with `schedule.cron`; with a `dag`, one Job `<name>-<step>` per step whose dependencies have succeeded |
//! | any, with the Stack's `resourceTemplate` | that object instead |
//!
//! Pod templates carry the workload labels (so the webhook injects them) and the
//! `stackhook.io/stamp` annotation (so a new Stamp rolls a Deployment). A workload
//! annotated `stackhook.io/orchestrate: "false"` gets only its ConfigMap.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::compiled::TemplateField;
use crate::engine::Admission;
use crate::model::{API_VERSION, Workload, WorkloadKind};
use crate::render::{STAMP_LABEL, WORKLOAD_KIND_LABEL, WORKLOAD_LABEL};
use crate::resolve::{self, Problem, Resolved};

pub use crate::render::{ORCHESTRATE_ANNOTATION, STAMP_ANNOTATION, STEP_LABEL};

/// Settings of the whole installation; a namespace's `stackhook-config` (read through
/// the catalog) overrides them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defaults {
    /// Hosts of Ingresses are `<name>.<namespace>.<suffix>`.
    pub ingress_domain_suffix: String,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            ingress_domain_suffix: "example.com".into(),
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

fn owner(workload: &Workload) -> Option<Value> {
    workload.meta().uid.as_ref().map(|uid| {
        json!([{
            "apiVersion": API_VERSION,
            "kind": workload.kind().kind(),
            "name": workload.name(),
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }])
    })
}

fn metadata(workload: &Workload, name: &str, extra: &[(&str, &str)]) -> Value {
    let mut labels = Map::new();
    labels.insert(WORKLOAD_LABEL.into(), workload.name().into());
    labels.insert(WORKLOAD_KIND_LABEL.into(), workload.kind().kind().into());
    for (k, v) in extra {
        labels.insert((*k).into(), (*v).into());
    }
    let mut m = json!({"name": name, "namespace": workload.namespace(), "labels": labels});
    if let Some(o) = owner(workload) {
        m["ownerReferences"] = o;
    }
    m
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

/// The pod template of a unit.
fn pod_template(
    workload: &Workload,
    r: &Resolved,
    restart: Option<&str>,
    extra: &[(&str, &str)],
    shape: Option<&Value>,
) -> Value {
    let common = workload.common();
    let stack = &r.stack.spec;
    let mut labels: Map<String, Value> = common
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    labels.insert(WORKLOAD_LABEL.into(), workload.name().into());
    labels.insert(WORKLOAD_KIND_LABEL.into(), workload.kind().kind().into());
    for (k, v) in extra {
        labels.insert((*k).into(), (*v).into());
    }
    let mut annotations: Map<String, Value> = common
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    annotations.insert(STAMP_ANNOTATION.into(), r.stamp.clone().into());
    let mut container = json!({
        "name": container_name(&stack.name),
        "image": stack.image.as_ref().map(|i| i.reference()).unwrap_or_default(),
    });
    if !stack.command.is_empty() {
        container["command"] = json!(stack.command);
    }
    if !stack.arguments.is_empty() {
        container["args"] = json!(stack.arguments);
    }
    if let Some(p) = &common.image_pull_policy {
        container["imagePullPolicy"] = json!(p);
    }
    if r.unit.resources.as_object().is_some_and(|o| !o.is_empty()) {
        container["resources"] = r.unit.resources.clone();
    }
    if workload.kind() == WorkloadKind::Service
        && let Some(port) = stack.ports.as_ref().and_then(|p| p.target_port)
    {
        container["ports"] = json!([{"name": stack.ports.as_ref().map(|p| p.name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| "http".into()), "containerPort": port}]);
    }
    let mut spec = json!({"containers": [container]});
    // containerResourceTemplate: `{initContainers, container}` replaces the default shape.
    if let Some(shape) = shape {
        if let Some(c) = shape.get("container").filter(|c| c.is_object()) {
            let mut c = c.clone();
            if c.get("name").is_none() {
                c["name"] = json!(container_name(&stack.name));
            }
            spec["containers"] = json!([c]);
        }
        if let Some(init) = shape.get("initContainers").filter(|i| i.is_array()) {
            spec["initContainers"] = init.clone();
        }
    }
    if let Some(sa) = &common.service_account_name {
        spec["serviceAccountName"] = json!(sa);
    }
    if !common.node_selector.is_empty() {
        spec["nodeSelector"] = json!(common.node_selector);
    }
    if !common.tolerations.is_empty() {
        spec["tolerations"] = serde_json::to_value(&common.tolerations).unwrap_or(Value::Null);
    }
    if let Some(policy) = restart {
        spec["restartPolicy"] = json!(policy);
    }
    json!({"metadata": {"labels": labels, "annotations": annotations}, "spec": spec})
}

/// A template rendered for real and read as YAML (its first document).
fn render_template(
    admission: &Admission<'_>,
    workload: &Workload,
    r: &Resolved,
    field: TemplateField,
) -> Result<Option<Value>, OrchestrateError> {
    let Some(out) =
        resolve::render(admission, workload, r, field, false).map_err(OrchestrateError::Render)?
    else {
        return Ok(None);
    };
    let docs = crate::source::parse_documents(&out).map_err(|e| {
        OrchestrateError::Render(Problem::Rendered {
            path: r.unit.stack_spec_path.clone(),
            stack: r.stack.spec.reference().to_string(),
            field: field.name(),
            message: format!("did not render YAML: line {e}"),
        })
    })?;
    Ok(docs.into_iter().next().map(|d| d.value))
}

/// The order DAG steps run in. [`resolve::resolve`] has checked that every dependency
/// names a step and that there is no cycle; anything it could not order is left out.
fn dag_order(steps: &[(String, Vec<String>)]) -> Vec<usize> {
    let names: BTreeMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let mut order = Vec::new();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    while order.len() < steps.len() {
        let ready: Vec<usize> = (0..steps.len())
            .filter(|i| !done.contains(i))
            .filter(|i| {
                steps[*i]
                    .1
                    .iter()
                    .all(|d| names.get(d.as_str()).is_some_and(|j| done.contains(j)))
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in ready {
            done.insert(i);
            order.push(i);
        }
    }
    order
}

/// Every object the controller applies for `workload`.
pub fn desired(
    admission: &Admission<'_>,
    workload: &Workload,
    defaults: &Defaults,
    dag: &Dag<'_>,
) -> Result<Vec<Value>, OrchestrateError> {
    let resolution = resolve::resolve(admission, workload);
    if !resolution.ok() {
        return Err(OrchestrateError::Invalid(resolution.problems));
    }
    let resolved = resolution.units;
    let mut objects = Vec::new();
    for r in &resolved {
        // As the webhook mounts one only then: a ConfigMap when there is config.
        if r.has_config(workload) {
            objects.push(
                resolve::config_map(admission, workload, r).map_err(OrchestrateError::Render)?,
            );
        }
    }
    if !orchestrated(workload) {
        return Ok(objects);
    }
    let name = workload.name();
    let stamp_label = |r: &Resolved| r.stamp.trim_start_matches('-').to_owned();

    if let Some(first) = resolved.first()
        && let Some(object) = render_template(admission, workload, first, TemplateField::Resource)?
    {
        let mut object = object;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.entry("name").or_insert_with(|| name.into());
            meta.insert("namespace".into(), workload.namespace().into());
            if let Some(o) = owner(workload) {
                meta.insert("ownerReferences".into(), o);
            }
        }
        objects.push(object);
        return Ok(objects);
    }

    match workload {
        Workload::Worker(_) | Workload::Service(_) => {
            let r = &resolved[0];
            let shape = render_template(admission, workload, r, TemplateField::ContainerResource)?;
            let replicas = match workload {
                Workload::Worker(w) => w.spec.replicas,
                Workload::Service(s) => s.spec.replicas,
                Workload::Workflow(_) => None,
            }
            .unwrap_or(1);
            let stamp = stamp_label(r);
            objects.push(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": metadata(workload, name, &[(STAMP_LABEL, &stamp)]),
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {WORKLOAD_LABEL: name, WORKLOAD_KIND_LABEL: workload.kind().kind()}},
                    "template": pod_template(workload, r, None, &[], shape.as_ref()),
                },
            }));
            if let Workload::Service(s) = workload {
                let stack_ports = r.stack.spec.ports.as_ref();
                let mut ports: Vec<Value> = s
                    .spec
                    .service_ports
                    .iter()
                    .map(|p| {
                        json!({
                            "name": p.name.clone().unwrap_or_else(|| format!("port-{}", p.service_port)),
                            "port": p.service_port,
                            "targetPort": p.target_port.unwrap_or(p.service_port),
                        })
                    })
                    .collect();
                if ports.is_empty()
                    && let Some(port) = s
                        .spec
                        .service_port
                        .or_else(|| stack_ports.and_then(|p| p.service_port))
                {
                    let target = stack_ports.and_then(|p| p.target_port).unwrap_or(port);
                    let pname = stack_ports
                        .map(|p| p.name.clone())
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "http".into());
                    ports.push(json!({"name": pname, "port": port, "targetPort": target}));
                }
                objects.push(json!({
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": metadata(workload, name, &[]),
                    "spec": {
                        "selector": {WORKLOAD_LABEL: name, WORKLOAD_KIND_LABEL: "Service"},
                        "ports": ports,
                    },
                }));
                if let Some(ingress) = s.spec.ingress.as_ref().filter(|i| i.enabled) {
                    let port = ports
                        .first()
                        .and_then(|p| p.get("port"))
                        .cloned()
                        .unwrap_or(json!(80));
                    let no_labels = BTreeMap::new();
                    let suffix = admission
                        .catalog
                        .settings(
                            workload.namespace(),
                            workload.meta().labels.as_ref().unwrap_or(&no_labels),
                        )
                        .ingress_domain_suffix
                        .unwrap_or_else(|| defaults.ingress_domain_suffix.clone());
                    let host = format!("{name}.{}.{suffix}", workload.namespace());
                    objects.push(json!({
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "Ingress",
                        "metadata": metadata(workload, name, &[]),
                        "spec": {"rules": [{"host": host, "http": {"paths": [{
                            "path": ingress.path.clone().unwrap_or_else(|| "/".into()),
                            "pathType": "Prefix",
                            "backend": {"service": {"name": name, "port": {"number": port}}},
                        }]}}]},
                    }));
                }
            }
        }
        Workload::Workflow(wf) => {
            let job_spec = |r: &Resolved,
                            extra: &[(&str, &str)]|
             -> Result<Value, OrchestrateError> {
                let shape =
                    render_template(admission, workload, r, TemplateField::ContainerResource)?;
                Ok(
                    json!({"backoffLimit": 2, "template": pod_template(workload, r, Some("Never"), extra, shape.as_ref())}),
                )
            };
            if wf.spec.dag.is_empty() {
                let r = &resolved[0];
                let stamp = stamp_label(r);
                let job = job_spec(r, &[])?;
                match wf.spec.schedule.as_ref().and_then(|s| s.cron.as_ref().map(|c| (s, c))) {
                    Some((schedule, cron)) => {
                        let mut spec = json!({"schedule": cron, "jobTemplate": {"spec": job}});
                        if let Some(p) = &schedule.concurrency_policy {
                            spec["concurrencyPolicy"] = json!(p);
                        }
                        if let Some(tz) = &schedule.timezone {
                            spec["timeZone"] = json!(tz);
                        }
                        objects.push(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata(workload, name, &[(STAMP_LABEL, &stamp)]), "spec": spec}));
                    }
                    None => objects.push(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata(workload, name, &[(STAMP_LABEL, &stamp)]), "spec": job})),
                }
            } else {
                let steps: Vec<(String, Vec<String>)> = wf
                    .spec
                    .dag
                    .iter()
                    .map(|n| (n.name.clone(), n.dependencies.clone()))
                    .collect();
                for i in dag_order(&steps) {
                    let (step, deps) = &steps[i];
                    let ready = match dag {
                        Dag::All => true,
                        Dag::Succeeded(done) => deps.iter().all(|d| done.contains(d)),
                    };
                    if !ready {
                        continue;
                    }
                    let r = &resolved[i];
                    let stamp = stamp_label(r);
                    let job_name = format!("{name}-{step}");
                    let job = job_spec(r, &[(STEP_LABEL, step)])?;
                    let mut meta = metadata(
                        workload,
                        &job_name,
                        &[(STAMP_LABEL, &stamp), (STEP_LABEL, step)],
                    );
                    if !deps.is_empty() {
                        meta["annotations"] = json!({"stackhook.io/after": deps.join(",")});
                    }
                    objects.push(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": job}));
                }
            }
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests;
