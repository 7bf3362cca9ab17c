//! What a workload's Pod becomes (SPEC §3, `/mutate`): the RFC 6902 patch that gives
//! it its config, env vars, depot secrets and the projector.
//!
//! The patch is built against the exact object received: maps and lists that are
//! missing are created before anything is added into them, lists are appended to with
//! `/-` (the projector is inserted first among the init containers), and `/` and `~` in
//! keys are escaped. A Pod that already carries `stackhook.io/injected` gets an empty
//! patch, so the webhook is safe under `reinvocationPolicy: IfNeeded`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use crate::admit::{Admission, Verdict};
use crate::compiled::TemplateField;
use crate::model::{ProjectionType, WorkloadKind};
use crate::projection::env_prefix;
use crate::render::{self, CONFIG_MOUNT_PATH, DEPOT_MOUNT_ROOT, SECRET_MOUNT_PATH};

pub use crate::render::{WORKLOAD_KIND_LABEL, WORKLOAD_LABEL};
/// Pod label naming the DAG step, for Workflow steps.
pub const STEP_LABEL: &str = "stackhook.io/step";
/// Annotation naming the container to inject into (default: the first).
pub const CONTAINER_ANNOTATION: &str = "stackhook.io/container";
/// Annotation asking for the refresh sidecar.
pub const SECRET_REFRESH_ANNOTATION: &str = "stackhook.io/secret-refresh";
/// Annotation marking an injected pod (value: the stackhook version).
pub const INJECTED_ANNOTATION: &str = "stackhook.io/injected";
/// Annotation with the Stamp.
pub const STAMP_ANNOTATION: &str = "stackhook.io/stamp";
/// Annotation with the Stack reference.
pub const STACK_ANNOTATION: &str = "stackhook.io/stack";

/// Name of the projector init container.
pub const PROJECTOR_NAME: &str = "stackhook-project";
/// Name of the refresh sidecar.
pub const REFRESH_NAME: &str = "stackhook-refresh";
/// Volume of the rendered config.
pub const CONFIG_VOLUME: &str = "stackhook-config";
/// Volume of the projected files.
pub const SECRETS_VOLUME: &str = "stackhook-secrets";
/// The user the projector runs as when the target container's user is unknown.
pub const PROJECTOR_UID: i64 = 65532;

/// How injection is configured.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The projector's image (default: the stackhook image of this version).
    pub projector_image: String,
    /// The projector's resources.
    pub projector_resources: Value,
    /// The stackhook version, for `stackhook.io/injected`.
    pub version: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            projector_image: format!("stackhook/stackhook:{}", env!("CARGO_PKG_VERSION")),
            projector_resources: json!({
                "requests": {"cpu": "10m", "memory": "16Mi"},
                "limits": {"cpu": "100m", "memory": "64Mi"}
            }),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Why a Pod is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// The workload the Pod names is not in the catalog.
    #[error("{kind} {namespace}/{name} (pod label {WORKLOAD_LABEL}) not found")]
    WorkloadNotFound {
        /// Its kind.
        kind: WorkloadKind,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The kind label names no workload kind.
    #[error("pod label {WORKLOAD_KIND_LABEL}={0:?} is not Worker, Service or Workflow")]
    UnknownKind(String),
    /// The DAG step the Pod names is not in the Workflow.
    #[error("Workflow {namespace}/{name} has no step {step:?} (pod label {STEP_LABEL})")]
    StepNotFound {
        /// The Workflow's namespace.
        namespace: String,
        /// The Workflow's name.
        name: String,
        /// The step named.
        step: String,
    },
    /// The workload's Stack cannot be used.
    #[error("{kind} {namespace}/{name}: {message}")]
    Stack {
        /// The workload's kind.
        kind: WorkloadKind,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The annotation names a container the Pod does not have.
    #[error(
        "container {name:?} (annotation {CONTAINER_ANNOTATION}) is not in the pod; it has: {has}"
    )]
    ContainerNotFound {
        /// The name given.
        name: String,
        /// The containers the Pod has.
        has: String,
    },
    /// The Pod has no containers.
    #[error("the pod has no containers")]
    NoContainers,
}

/// Escapes a key for a JSON pointer (`stackhook.io/stamp` → `stackhook.io~1stamp`).
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// RFC 6902 operations, built against one object.
struct PatchBuilder<'a> {
    object: &'a Value,
    ops: Vec<Value>,
    created: HashSet<String>,
}

impl<'a> PatchBuilder<'a> {
    fn new(object: &'a Value) -> Self {
        Self {
            object,
            ops: Vec::new(),
            created: HashSet::new(),
        }
    }

    fn exists(&self, pointer: &str) -> bool {
        self.created.contains(pointer) || self.object.pointer(pointer).is_some()
    }

    fn add(&mut self, pointer: String, value: Value) {
        self.ops
            .push(json!({"op": "add", "path": pointer, "value": value}));
    }

    /// Adds `key: value` to the map at `map`, creating the map if missing.
    fn put(&mut self, map: &str, key: &str, value: Value) {
        if !self.exists(map) {
            self.add(map.to_owned(), json!({}));
            self.created.insert(map.to_owned());
        }
        self.add(format!("{map}/{}", escape(key)), value);
    }

    /// Appends to the list at `list`, creating it if missing.
    fn append(&mut self, list: &str, value: Value) {
        if self.exists(list) {
            self.add(format!("{list}/-"), value);
        } else {
            self.add(list.to_owned(), json!([value]));
            self.created.insert(list.to_owned());
        }
    }

    /// Inserts at the front of the list at `list`, creating it if missing.
    fn prepend(&mut self, list: &str, values: Vec<Value>) {
        if self.exists(list) {
            for (i, v) in values.into_iter().enumerate() {
                self.add(format!("{list}/{i}"), v);
            }
        } else {
            self.add(list.to_owned(), Value::Array(values));
            self.created.insert(list.to_owned());
        }
    }
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The restricted-profile security context of the injected containers, running as
/// `uid`.
fn restricted(uid: i64) -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": uid,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}
    })
}

/// The patch for a Pod: empty when there is nothing to do.
pub fn inject(
    pod: &Value,
    admission: &Admission<'_>,
    config: &Config,
) -> Result<Vec<Value>, InjectError> {
    let labels = pod.pointer("/metadata/labels");
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let Some(name) = label(WORKLOAD_LABEL) else {
        return Ok(Vec::new());
    };
    if pod
        .pointer(&format!(
            "/metadata/annotations/{}",
            escape(INJECTED_ANNOTATION)
        ))
        .is_some()
    {
        return Ok(Vec::new());
    }
    let kind_text = label(WORKLOAD_KIND_LABEL).unwrap_or("Worker");
    let kind = WorkloadKind::parse(kind_text)
        .ok_or_else(|| InjectError::UnknownKind(kind_text.to_owned()))?;
    let namespace = str_at(pod, "/metadata/namespace").unwrap_or_default();
    let workload = admission
        .catalog
        .workload(namespace, kind, name)
        .ok_or_else(|| InjectError::WorkloadNotFound {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })?;
    let mut units = render::units(&workload);
    let unit = match label(STEP_LABEL) {
        Some(step) => {
            let wanted = format!("{name}-{step}");
            let i = units.iter().position(|u| u.name == wanted).ok_or_else(|| {
                InjectError::StepNotFound {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    step: step.to_owned(),
                }
            })?;
            units.swap_remove(i)
        }
        None => units.swap_remove(0),
    };
    let mut verdict = Verdict::default();
    let stack_error = |verdict: &Verdict| InjectError::Stack {
        kind,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        message: verdict
            .violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    };
    let Some(resolved) = admission.resolve_unit(&workload, unit, &mut verdict) else {
        return Err(stack_error(&verdict));
    };

    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or(InjectError::NoContainers)?;
    let annotations = pod.pointer("/metadata/annotations");
    let target = match annotations
        .and_then(|a| a.get(CONTAINER_ANNOTATION))
        .and_then(Value::as_str)
    {
        Some(wanted) => containers
            .iter()
            .position(|c| c.get("name").and_then(Value::as_str) == Some(wanted))
            .ok_or_else(|| InjectError::ContainerNotFound {
                name: wanted.to_owned(),
                has: containers
                    .iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
        None => 0,
    };
    let container = &containers[target];
    let c = format!("/spec/containers/{target}");
    // A pod from a controller-rendered template keeps the Stamp it was made with.
    let stamp = annotations
        .and_then(|a| a.get(STAMP_ANNOTATION))
        .and_then(Value::as_str)
        .map_or_else(|| resolved.stamp.clone(), str::to_owned);
    let stack = &resolved.stack;
    let mut p = PatchBuilder::new(pod);

    p.put(
        "/metadata/annotations",
        INJECTED_ANNOTATION,
        json!(config.version),
    );
    if annotations.and_then(|a| a.get(STAMP_ANNOTATION)).is_none() {
        p.put("/metadata/annotations", STAMP_ANNOTATION, json!(stamp));
    }
    p.put(
        "/metadata/annotations",
        STACK_ANNOTATION,
        json!(stack.spec.reference().to_string()),
    );

    // Environment: ours, the Stack's, the workload's; never over what the pod sets.
    let mut env: Vec<(String, String)> = vec![
        ("DATAOS_NAME".into(), resolved.unit.name.clone()),
        ("DATAOS_TYPE".into(), workload.kind().type_name().into()),
        ("DATAOS_WORKSPACE".into(), namespace.into()),
        ("DATAOS_STAMP".into(), stamp.clone()),
        ("DATAOS_CONFIG_DIR".into(), CONFIG_MOUNT_PATH.into()),
        ("DATAOS_SECRET_DIR".into(), SECRET_MOUNT_PATH.into()),
        ("LOG_LEVEL".into(), resolved.unit.log_level.clone()),
        ("DATAOS_LOG_LEVEL".into(), resolved.unit.log_level.clone()),
    ];
    let ours: BTreeMap<String, String> = render::environment(stack, &resolved.unit);
    env.retain(|(k, _)| !ours.contains_key(k));
    env.extend(ours);
    let existing: HashSet<&str> = container
        .get("env")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in env {
        if !existing.contains(k.as_str()) {
            p.append(&format!("{c}/env"), json!({"name": k, "value": v}));
        }
    }

    let has_config = resolved
        .compiled
        .template(workload.kind(), TemplateField::ConfigFile)
        .is_some()
        || !workload.common().configs.is_empty();
    if has_config {
        let cm = render::config_map_name(&resolved.unit.name, workload.kind(), &stamp);
        p.append(
            "/spec/volumes",
            json!({"name": CONFIG_VOLUME, "configMap": {"name": cm}}),
        );
        p.append(
            &format!("{c}/volumeMounts"),
            json!({"name": CONFIG_VOLUME, "mountPath": CONFIG_MOUNT_PATH, "readOnly": true}),
        );
    }

    if !resolved.depots.is_empty() {
        match stack.spec.projection_type() {
            ProjectionType::EnvVars => {
                for d in &resolved.depots {
                    p.append(
                        &format!("{c}/envFrom"),
                        json!({"prefix": env_prefix(d.name()), "secretRef": {"name": d.secret.name}}),
                    );
                }
            }
            ProjectionType::PropFile => {
                let uid = container
                    .pointer("/securityContext/runAsUser")
                    .or_else(|| pod.pointer("/spec/securityContext/runAsUser"))
                    .and_then(Value::as_i64)
                    .filter(|u| *u > 0);
                // Same user as the program: owner-only files. Otherwise (the image's
                // default user), readable by the pod's containers only — the volume
                // is this pod's own memory.
                let (run_as, mode) = match uid {
                    Some(u) => (u, "0400"),
                    None => (PROJECTOR_UID, "0444"),
                };
                let mut mounts = Vec::new();
                let mut args = vec![
                    "project".to_owned(),
                    "--from".into(),
                    DEPOT_MOUNT_ROOT.into(),
                    "--to".into(),
                    SECRET_MOUNT_PATH.into(),
                    "--format".into(),
                    "propFile".into(),
                    "--mode".into(),
                    mode.into(),
                ];
                for d in &resolved.depots {
                    let volume = format!("stackhook-depot-{}-{}", d.name(), d.secret.acl.as_str());
                    p.append(
                        "/spec/volumes",
                        json!({"name": volume, "secret": {"secretName": d.secret.name}}),
                    );
                    mounts.push(json!({
                        "name": volume,
                        "mountPath": format!("{DEPOT_MOUNT_ROOT}/{}/{}", d.name(), d.secret.acl.as_str()),
                        "readOnly": true
                    }));
                    args.push("--depot".into());
                    args.push(d.name().to_owned());
                    for f in &d.secret.files {
                        args.push("--file".into());
                        args.push(format!("{}/{f}", d.name()));
                    }
                }
                p.append(
                    "/spec/volumes",
                    json!({"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}),
                );
                mounts.push(json!({"name": SECRETS_VOLUME, "mountPath": SECRET_MOUNT_PATH}));
                let projector = |name: &str, mode_arg: &str, sidecar: bool| {
                    let mut a = args.clone();
                    a.push(mode_arg.into());
                    let mut c = json!({
                        "name": name,
                        "image": config.projector_image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": a,
                        "volumeMounts": mounts,
                        "resources": config.projector_resources,
                        "securityContext": restricted(run_as),
                        "terminationMessagePolicy": "FallbackToLogsOnError",
                    });
                    if sidecar {
                        c["restartPolicy"] = json!("Always");
                    }
                    c
                };
                let mut init = vec![projector(PROJECTOR_NAME, "--once", false)];
                let refresh = annotations
                    .and_then(|a| a.get(SECRET_REFRESH_ANNOTATION))
                    .and_then(Value::as_str)
                    == Some("true");
                if refresh {
                    init.push(projector(REFRESH_NAME, "--watch", true));
                }
                p.prepend("/spec/initContainers", init);
                p.append(
                    &format!("{c}/volumeMounts"),
                    json!({"name": SECRETS_VOLUME, "mountPath": SECRET_MOUNT_PATH, "readOnly": true}),
                );
            }
        }
    }

    if let Some(secret) = stack
        .spec
        .image
        .as_ref()
        .and_then(|i| i.auth.as_ref())
        .map(|a| &a.image_pull_secret)
    {
        let has = pod
            .pointer("/spec/imagePullSecrets")
            .and_then(Value::as_array)
            .is_some_and(|l| {
                l.iter()
                    .any(|s| s.get("name").and_then(Value::as_str) == Some(secret))
            });
        if !has {
            p.append("/spec/imagePullSecrets", json!({"name": secret}));
        }
    }
    Ok(p.ops)
}
