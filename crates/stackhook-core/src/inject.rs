//! What a workload's Pod becomes (SPEC §3, `/mutate`): the RFC 6902 patch that gives
//! it its config, env vars, depot secrets and the projector.
//!
//! The patch is built against the exact object received: maps and lists that are
//! missing are created before anything is added into them, lists are appended to with
//! `/-` (the projector is inserted first among the init containers), and `/` and `~` in
//! keys are escaped. A Pod that already carries `stackhook.io/injected` gets an empty
//! patch, so the webhook is safe under `reinvocationPolicy: IfNeeded`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

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

/// One RFC 6902 `add` operation (the only kind stackhook needs), serialized directly.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PatchOp {
    op: &'static str,
    /// The JSON pointer.
    pub path: String,
    /// The value added.
    pub value: Value,
}

/// The parts of a Pod injection reads; everything else is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
struct PodView<'a> {
    #[serde(borrow, default)]
    metadata: MetaView<'a>,
    #[serde(borrow, default)]
    spec: SpecView<'a>,
}

#[derive(Debug, Default, Deserialize)]
struct MetaView<'a> {
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    labels: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(borrow, default)]
    annotations: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
}

#[derive(Debug, Default, Deserialize)]
struct SpecView<'a> {
    #[serde(borrow, default)]
    containers: Vec<ContainerView<'a>>,
    #[serde(rename = "initContainers", default)]
    init_containers: Option<IgnoredAny>,
    #[serde(default)]
    volumes: Option<IgnoredAny>,
    #[serde(rename = "imagePullSecrets", borrow, default)]
    image_pull_secrets: Option<Vec<Named<'a>>>,
    #[serde(rename = "securityContext", default)]
    security_context: Option<SecurityView>,
}

#[derive(Debug, Default, Deserialize)]
struct ContainerView<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    env: Option<Vec<Named<'a>>>,
    #[serde(rename = "envFrom", default)]
    env_from: Option<IgnoredAny>,
    #[serde(rename = "volumeMounts", default)]
    volume_mounts: Option<IgnoredAny>,
    #[serde(rename = "securityContext", default)]
    security_context: Option<SecurityView>,
}

#[derive(Debug, Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
struct SecurityView {
    #[serde(rename = "runAsUser", default)]
    run_as_user: Option<i64>,
}

/// RFC 6902 operations, built against one object: which maps and lists exist is
/// known from the pod as received and from what earlier operations created.
struct PatchBuilder {
    existing: HashSet<String>,
    ops: Vec<PatchOp>,
}

impl PatchBuilder {
    fn exists(&self, pointer: &str) -> bool {
        self.existing.contains(pointer)
    }

    fn add(&mut self, path: String, value: Value) {
        self.ops.push(PatchOp {
            op: "add",
            path,
            value,
        });
    }

    /// Adds `key: value` to the map at `map`, creating the map if missing.
    fn put(&mut self, map: &str, key: &str, value: Value) {
        if !self.exists(map) {
            self.add(map.to_owned(), Value::Object(Map::new()));
            self.existing.insert(map.to_owned());
        }
        self.add(format!("{map}/{}", escape(key)), value);
    }

    /// Appends to the list at `list`, creating it if missing.
    fn append(&mut self, list: &str, value: Value) {
        if self.exists(list) {
            self.add(format!("{list}/-"), value);
        } else {
            self.add(list.to_owned(), Value::Array(vec![value]));
            self.existing.insert(list.to_owned());
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
            self.existing.insert(list.to_owned());
        }
    }
}

/// A JSON object from pairs, moving the values (no re-serialization).
fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
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

/// Why a Pod's JSON cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the pod cannot be read: {0}")]
pub struct PodError(pub String);

/// The patch for a Pod given as JSON text (the object of an AdmissionReview): empty
/// when there is nothing to do. `namespace` is the request's, for pods whose object
/// does not carry one yet.
pub fn inject_json(
    pod: &str,
    namespace: &str,
    admission: &Admission<'_>,
    config: &Config,
) -> Result<Result<Vec<PatchOp>, InjectError>, PodError> {
    let view: PodView<'_> = serde_json::from_str(pod).map_err(|e| PodError(e.to_string()))?;
    Ok(inject(&view, namespace, admission, config))
}

fn inject(
    pod: &PodView<'_>,
    request_namespace: &str,
    admission: &Admission<'_>,
    config: &Config,
) -> Result<Vec<PatchOp>, InjectError> {
    let label = |k: &str| {
        pod.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .map(|v| v.as_ref())
    };
    let annotation = |k: &str| {
        pod.metadata
            .annotations
            .as_ref()
            .and_then(|l| l.get(k))
            .map(|v| v.as_ref())
    };
    let Some(name) = label(WORKLOAD_LABEL) else {
        return Ok(Vec::new());
    };
    if annotation(INJECTED_ANNOTATION).is_some() {
        return Ok(Vec::new());
    }
    let kind_text = label(WORKLOAD_KIND_LABEL).unwrap_or("Worker");
    let kind = WorkloadKind::parse(kind_text)
        .ok_or_else(|| InjectError::UnknownKind(kind_text.to_owned()))?;
    let namespace = pod
        .metadata
        .namespace
        .as_deref()
        .unwrap_or(request_namespace);
    let workload = admission
        .catalog
        .workload(namespace, kind, name)
        .ok_or_else(|| InjectError::WorkloadNotFound {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })?;
    let no_labels = BTreeMap::new();
    let settings = admission.catalog.settings(
        namespace,
        workload.meta().labels.as_ref().unwrap_or(&no_labels),
    );
    let projector_image = settings
        .projector_image
        .as_deref()
        .unwrap_or(&config.projector_image);
    let projector_resources = settings
        .projector_resources
        .as_ref()
        .unwrap_or(&config.projector_resources);
    // The pod's annotation decides; the namespace's setting is the default.
    let refresh = match annotation(SECRET_REFRESH_ANNOTATION) {
        Some(v) => v == "true",
        None => settings.secret_refresh == Some(true),
    };
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
    let Some(resolved) = admission.resolve_unit(&workload, unit, false, &mut verdict) else {
        return Err(stack_error(&verdict));
    };

    let containers = &pod.spec.containers;
    if containers.is_empty() {
        return Err(InjectError::NoContainers);
    }
    let target = match annotation(CONTAINER_ANNOTATION) {
        Some(wanted) => containers
            .iter()
            .position(|c| c.name == wanted)
            .ok_or_else(|| InjectError::ContainerNotFound {
                name: wanted.to_owned(),
                has: containers
                    .iter()
                    .map(|c| c.name.as_ref())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
        None => 0,
    };
    let container = &containers[target];
    let c = format!("/spec/containers/{target}");
    // A pod from a controller-rendered template keeps the Stamp it was made with.
    let stamp = annotation(STAMP_ANNOTATION).map_or_else(|| resolved.stamp.clone(), str::to_owned);
    let stack = &resolved.stack;

    let mut existing = HashSet::new();
    for (present, path) in [
        (
            pod.metadata.annotations.is_some(),
            "/metadata/annotations".to_owned(),
        ),
        (
            pod.spec.init_containers.is_some(),
            "/spec/initContainers".to_owned(),
        ),
        (pod.spec.volumes.is_some(), "/spec/volumes".to_owned()),
        (
            pod.spec.image_pull_secrets.is_some(),
            "/spec/imagePullSecrets".to_owned(),
        ),
        (container.env.is_some(), format!("{c}/env")),
        (container.env_from.is_some(), format!("{c}/envFrom")),
        (
            container.volume_mounts.is_some(),
            format!("{c}/volumeMounts"),
        ),
    ] {
        if present {
            existing.insert(path);
        }
    }
    let mut p = PatchBuilder {
        existing,
        ops: Vec::with_capacity(32),
    };

    p.put(
        "/metadata/annotations",
        INJECTED_ANNOTATION,
        text(&config.version),
    );
    if annotation(STAMP_ANNOTATION).is_none() {
        p.put("/metadata/annotations", STAMP_ANNOTATION, text(&stamp));
    }
    p.put(
        "/metadata/annotations",
        STACK_ANNOTATION,
        Value::String(stack.spec.reference().to_string()),
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
    let set: HashSet<&str> = container
        .env
        .as_ref()
        .map(|l| l.iter().map(|e| e.name.as_ref()).collect())
        .unwrap_or_default();
    let env_path = format!("{c}/env");
    for (k, v) in env {
        if !set.contains(k.as_str()) {
            p.append(
                &env_path,
                object([("name", Value::String(k)), ("value", Value::String(v))]),
            );
        }
    }

    let has_config = resolved
        .compiled
        .template(workload.kind(), TemplateField::ConfigFile)
        .is_some()
        || !workload.common().configs.is_empty();
    let mounts_path = format!("{c}/volumeMounts");
    if has_config {
        let cm = render::config_map_name(&resolved.unit.name, workload.kind(), &stamp);
        p.append(
            "/spec/volumes",
            object([
                ("name", text(CONFIG_VOLUME)),
                ("configMap", object([("name", Value::String(cm))])),
            ]),
        );
        p.append(
            &mounts_path,
            object([
                ("name", text(CONFIG_VOLUME)),
                ("mountPath", text(CONFIG_MOUNT_PATH)),
                ("readOnly", Value::Bool(true)),
            ]),
        );
    }

    if !resolved.depots.is_empty() {
        match stack.spec.projection_type() {
            ProjectionType::EnvVars => {
                for d in &resolved.depots {
                    p.append(
                        &format!("{c}/envFrom"),
                        object([
                            ("prefix", Value::String(env_prefix(d.name()))),
                            ("secretRef", object([("name", text(&d.secret.name))])),
                        ]),
                    );
                }
            }
            ProjectionType::PropFile => {
                let uid = container
                    .security_context
                    .as_ref()
                    .and_then(|s| s.run_as_user)
                    .or_else(|| {
                        pod.spec
                            .security_context
                            .as_ref()
                            .and_then(|s| s.run_as_user)
                    })
                    .filter(|u| *u > 0);
                // Same user as the program: owner-only files. Otherwise (the image's
                // default user), readable by the pod's containers only — the volume
                // is this pod's own memory.
                let (run_as, mode) = match uid {
                    Some(u) => (u, "0400"),
                    None => (PROJECTOR_UID, "0444"),
                };
                let mut mounts = Vec::new();
                let mut args: Vec<Value> = [
                    "project",
                    "--from",
                    DEPOT_MOUNT_ROOT,
                    "--to",
                    SECRET_MOUNT_PATH,
                    "--format",
                    "propFile",
                    "--mode",
                    mode,
                ]
                .into_iter()
                .map(text)
                .collect();
                for d in &resolved.depots {
                    let volume = format!("stackhook-depot-{}-{}", d.name(), d.secret.acl.as_str());
                    p.append(
                        "/spec/volumes",
                        object([
                            ("name", text(&volume)),
                            ("secret", object([("secretName", text(&d.secret.name))])),
                        ]),
                    );
                    mounts.push(object([
                        ("name", Value::String(volume)),
                        (
                            "mountPath",
                            Value::String(format!(
                                "{DEPOT_MOUNT_ROOT}/{}/{}",
                                d.name(),
                                d.secret.acl.as_str()
                            )),
                        ),
                        ("readOnly", Value::Bool(true)),
                    ]));
                    args.push(text("--depot"));
                    args.push(text(d.name()));
                    for f in &d.secret.files {
                        args.push(text("--file"));
                        args.push(Value::String(format!("{}/{f}", d.name())));
                    }
                }
                p.append(
                    "/spec/volumes",
                    object([
                        ("name", text(SECRETS_VOLUME)),
                        (
                            "emptyDir",
                            object([("medium", text("Memory")), ("sizeLimit", text("16Mi"))]),
                        ),
                    ]),
                );
                mounts.push(object([
                    ("name", text(SECRETS_VOLUME)),
                    ("mountPath", text(SECRET_MOUNT_PATH)),
                ]));
                let projector = |name: &str, mode_arg: &str, sidecar: bool| {
                    let mut a = args.clone();
                    a.push(text(mode_arg));
                    let mut fields = vec![
                        ("name", text(name)),
                        ("image", text(projector_image)),
                        ("imagePullPolicy", text("IfNotPresent")),
                        ("args", Value::Array(a)),
                        ("volumeMounts", Value::Array(mounts.clone())),
                        ("resources", projector_resources.clone()),
                        ("securityContext", restricted(run_as)),
                        ("terminationMessagePolicy", text("FallbackToLogsOnError")),
                    ];
                    if sidecar {
                        fields.push(("restartPolicy", text("Always")));
                    }
                    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                };
                let mut init = vec![projector(PROJECTOR_NAME, "--once", false)];
                if refresh {
                    init.push(projector(REFRESH_NAME, "--watch", true));
                }
                p.prepend("/spec/initContainers", init);
                p.append(
                    &mounts_path,
                    object([
                        ("name", text(SECRETS_VOLUME)),
                        ("mountPath", text(SECRET_MOUNT_PATH)),
                        ("readOnly", Value::Bool(true)),
                    ]),
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
            .spec
            .image_pull_secrets
            .as_ref()
            .is_some_and(|l| l.iter().any(|s| s.name == secret.as_str()));
        if !has {
            p.append("/spec/imagePullSecrets", object([("name", text(secret))]));
        }
    }
    Ok(p.ops)
}

#[cfg(test)]
mod tests;
