//! What a workload's Pod becomes (SPEC §3, `/mutate`): the RFC 6902 patch that gives
//! it its config, env vars, depot secrets and the projector.
//!
//! The patch is built against the exact object received: maps and lists that are
//! missing are created before anything is added into them, lists are appended to with
//! `/-` (the projector is inserted first among the init containers), and `/` and `~` in
//! keys are escaped. A Pod that already carries `stackhook.io/injected` gets an empty
//! patch, so the webhook is safe under `reinvocationPolicy: IfNeeded`.
//!
//! Collisions have one rule: what the Pod has is never taken over or shadowed. Our
//! objects (the `stackhook-config`, `stackhook-secrets` and `stackhook-depot-*`
//! volumes, the `stackhook-project` and `stackhook-refresh` init containers, the
//! target's mounts at `/etc/dataos/config` and `/etc/dataos/secret`) are recognised
//! from their content; a foreign object under one of those names or paths denies the
//! Pod, naming it ([`InjectError::VolumeClash`], [`InjectError::MountClash`],
//! [`InjectError::ContainerClash`]). An earlier injection found by content (a copy of a
//! mutated Pod without our annotations) is brought to the current Stamp with `replace`
//! and `remove` operations, never injected twice. [`pod_rules`] is the API server's
//! validation of what we touch, which the tests run on every Pod they mutate.
//!
//! A patch is made in two halves: the workload's plan (from the catalog alone) and
//! the pod's shape (which lists exist, which container, which env vars it
//! sets, its user, its Stamp). The operations are a function of those two only, which
//! lets the webhook keep plans and encoded patches per catalog ([`InjectMemo`]): the
//! replicas of a Deployment cost a parse and two lookups.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::borrowed::Text;
use crate::engine::Engine;
use crate::model::WorkloadKind;

mod memo;
mod patch;
mod plan;
pub mod pod_rules;

pub use memo::InjectMemo;
use memo::PlanKey;
use patch::Shape;
use plan::Plan;

/// The labels and annotations shared with the objects the controller makes are
/// defined once, in [`crate::render`].
use crate::render::{STAMP_ANNOTATION, STEP_LABEL, WORKLOAD_KIND_LABEL, WORKLOAD_LABEL};
/// The prefix of every label and annotation stackhook reads on a pod.
const OUR_PREFIX: &str = "stackhook.io/";
/// Annotation naming the container to inject into (default: the first).
pub const CONTAINER_ANNOTATION: &str = "stackhook.io/container";
/// Annotation asking for the refresh sidecar.
pub const SECRET_REFRESH_ANNOTATION: &str = "stackhook.io/secret-refresh";
/// Annotation marking an injected pod (value: the stackhook version).
pub const INJECTED_ANNOTATION: &str = "stackhook.io/injected";
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
pub struct InjectSettings {
    /// The projector's image (default: the stackhook image of this version).
    pub projector_image: String,
    /// The projector's resources.
    pub projector_resources: Value,
    /// The stackhook version, for `stackhook.io/injected`.
    pub version: String,
}

impl Default for InjectSettings {
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
    /// The catalog holds the workload the Pod names but cannot decode it.
    #[error(transparent)]
    Undecodable(crate::catalog::Undecodable),
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
    /// The Pod has a volume of a name stackhook adds, which stackhook did not add.
    #[error(
        "the pod already has a volume named {name:?} that stackhook did not add ({found}); rename it: stackhook adds its own volume of that name"
    )]
    VolumeClash {
        /// The volume's name.
        name: String,
        /// What the volume is (`a secret volume of "x"`).
        found: String,
    },
    /// The target container mounts something of its own where stackhook mounts its
    /// volume.
    #[error(
        "container {container:?} already mounts volume {volume:?} at {path}, where stackhook mounts {what}; mount it elsewhere"
    )]
    MountClash {
        /// The container.
        container: String,
        /// The volume it mounts there.
        volume: String,
        /// The mount path.
        path: String,
        /// What stackhook mounts there.
        what: &'static str,
    },
    /// The Pod has a container of a name stackhook gives its init container, which
    /// stackhook did not add.
    #[error(
        "the pod already has {list} named {name:?} that stackhook did not add; rename it: stackhook adds its own init container of that name"
    )]
    ContainerClash {
        /// `an init container` or `a container`.
        list: &'static str,
        /// The name.
        name: String,
    },
}

/// Escapes a key for a JSON pointer (`stackhook.io/stamp` → `stackhook.io~1stamp`).
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// One RFC 6902 operation, serialized directly: `add` for what a pod lacks, `replace`
/// and `remove` for what an earlier injection left (an older ConfigMap, Secret or
/// projector).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PatchOp {
    /// `add`, `replace` or `remove`.
    pub op: &'static str,
    /// The JSON pointer.
    pub path: String,
    /// The value added or replaced (`null` for a `remove`, and then not serialized).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

/// The parts of a Pod injection reads; everything else is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PodView<'a> {
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
    labels: Option<OurKeys<'a>>,
    #[serde(borrow, default)]
    annotations: Option<OurKeys<'a>>,
}

/// The `stackhook.io/` entries of a labels or annotations map; the others (most of a
/// pod's annotations) are skipped without being kept.
#[derive(Debug, Default)]
struct OurKeys<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl OurKeys<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // As in a map, the last of duplicate keys wins.
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for OurKeys<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = OurKeys<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut ours = Vec::new();
                while let Some(Text(key)) = map.next_key()? {
                    if key.starts_with(OUR_PREFIX) {
                        let Text(value) = map.next_value()?;
                        ours.push((key, value));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(OurKeys(ours))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

#[derive(Debug, Default, Deserialize)]
struct SpecView<'a> {
    #[serde(borrow, default)]
    containers: Vec<ContainerView<'a>>,
    #[serde(rename = "initContainers", borrow, default)]
    init_containers: Option<Vec<ContainerView<'a>>>,
    #[serde(borrow, default)]
    volumes: Option<Vec<VolumeView<'a>>>,
    /// Whether the pod's service-account token is mounted (`false`: never).
    #[serde(rename = "automountServiceAccountToken", default)]
    automount_token: Option<bool>,
    #[serde(rename = "imagePullSecrets", borrow, default)]
    image_pull_secrets: Option<Vec<Named<'a>>>,
    #[serde(rename = "securityContext", default)]
    security_context: Option<SecurityView>,
}

/// A container or init container: what injection compares with its own (names,
/// mounts, env, and for init containers the projector's command).
#[derive(Debug, Default, Deserialize)]
struct ContainerView<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    args: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    env: Option<Vec<EnvView<'a>>>,
    #[serde(rename = "envFrom", borrow, default)]
    env_from: Option<Vec<EnvFromView<'a>>>,
    #[serde(rename = "volumeMounts", borrow, default)]
    volume_mounts: Option<Vec<MountView<'a>>>,
    #[serde(rename = "securityContext", default)]
    security_context: Option<SecurityView>,
}

/// A volume: its name and the sources injection recognises as its own.
#[derive(Debug, Default, Deserialize)]
struct VolumeView<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(rename = "configMap", borrow, default)]
    config_map: Option<Named<'a>>,
    #[serde(borrow, default)]
    secret: Option<SecretSourceView<'a>>,
    #[serde(rename = "emptyDir", borrow, default)]
    empty_dir: Option<EmptyDirView<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct SecretSourceView<'a> {
    #[serde(rename = "secretName", borrow, default)]
    secret_name: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
struct EmptyDirView<'a> {
    #[serde(borrow, default)]
    medium: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct MountView<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(rename = "mountPath", borrow, default)]
    mount_path: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
struct EnvView<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct EnvFromView<'a> {
    #[serde(borrow, default)]
    prefix: Option<Cow<'a, str>>,
    #[serde(rename = "secretRef", borrow, default)]
    secret_ref: Option<Named<'a>>,
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
    /// Pod-level only: the group volumes are given to and every container runs in.
    #[serde(rename = "fsGroup", default)]
    fs_group: Option<i64>,
}

/// Why a Pod's JSON cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the pod cannot be read: {0}")]
pub struct PodError(pub String);

impl PodView<'_> {
    fn label(&self, key: &str) -> Option<&str> {
        self.metadata.labels.as_ref().and_then(|l| l.get(key))
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.as_ref().and_then(|l| l.get(key))
    }
}

/// Which workload unit a pod belongs to, from its labels; `None` when the pod is not
/// a stackhook workload's or is injected already.
fn plan_key(
    pod: &PodView<'_>,
    request_namespace: &str,
    catalog: &dyn crate::catalog::Catalog,
) -> Result<Option<PlanKey>, InjectError> {
    let Some(name) = pod.label(WORKLOAD_LABEL) else {
        return Ok(None);
    };
    if pod.annotation(INJECTED_ANNOTATION).is_some() {
        return Ok(None);
    }
    let kind_text = pod.label(WORKLOAD_KIND_LABEL).unwrap_or("Worker");
    let kind = WorkloadKind::parse(kind_text)
        .ok_or_else(|| InjectError::UnknownKind(kind_text.to_owned()))?;
    let workload = crate::catalog::WorkloadKey {
        namespace: pod
            .metadata
            .namespace
            .as_deref()
            .unwrap_or(request_namespace)
            .to_owned(),
        kind,
        name: name.to_owned(),
    };
    Ok(Some(PlanKey {
        epoch: catalog.epoch_of(&workload),
        workload,
        step: pod.label(STEP_LABEL).map(str::to_owned),
    }))
}

fn build_plan(
    key: &PlanKey,
    engine: &Engine<'_>,
    config: &InjectSettings,
) -> Result<Plan, InjectError> {
    Plan::build(
        engine,
        config,
        &key.workload.namespace,
        key.workload.kind,
        &key.workload.name,
        key.step.as_deref(),
    )
}

fn read_pod(pod: &str) -> Result<PodView<'_>, PodError> {
    serde_json::from_str(pod).map_err(|e| PodError(e.to_string()))
}

/// The patch for a Pod given as JSON text (the object of an AdmissionReview): empty
/// when there is nothing to do. `namespace` is the request's, for pods whose object
/// does not carry one yet.
pub fn inject_json(
    pod: &str,
    namespace: &str,
    engine: &Engine<'_>,
    config: &InjectSettings,
) -> Result<Result<Vec<PatchOp>, InjectError>, PodError> {
    let view = read_pod(pod)?;
    Ok((|| {
        let Some(key) = plan_key(&view, namespace, engine.catalog)? else {
            return Ok(Vec::new());
        };
        let plan = build_plan(&key, engine, config)?;
        let shape = Shape::of(&view, &plan)?;
        Ok(patch::ops(&plan, &shape, token_volume_of(&view, &shape)))
    })())
}

/// The name of the pod's service-account token volume when its shape's patch names it
/// ([`Shape::takes_token`], checked once by [`Shape::of`]).
fn token_volume_of<'p>(view: &'p PodView<'_>, shape: &Shape) -> Option<&'p str> {
    if !shape.takes_token() {
        return None;
    }
    patch::first_token_volume(view)
}

/// What the kept patch of a shape that takes the token has where each pod's token
/// volume name goes: a string no volume can be named (a volume's name is a DNS label).
const TOKEN_SLOT: &str = "<token volume>";

/// A shape's patch as the memo keeps it, base64-encoded as the response carries it.
#[derive(Debug)]
pub(super) enum KeptPatch {
    /// The same patch for every pod of the shape.
    Whole(Arc<str>),
    /// A patch that names each pod's own token volume ([`Shape::takes_token`]).
    Open {
        /// The base64 text of the operations before the first that names the volume:
        /// their JSON array left open after a `,` and padded with spaces to a multiple
        /// of 3 bytes, so that its base64 text ends on a whole group and the base64 of
        /// the rest can be appended to it without decoding it.
        head: Arc<str>,
        /// The JSON text of the rest (the projectors, [`patch::ops`] adds them last),
        /// up to its closing `]`, cut where the volume's name goes.
        rest: Box<[Box<str>]>,
    },
}

impl KeptPatch {
    /// An estimate of the memory it holds, for the cache's budget.
    pub(super) fn weight(&self) -> usize {
        match self {
            Self::Whole(text) => text.len(),
            Self::Open { head, rest } => {
                head.len() + rest.iter().map(|piece| piece.len() + 16).sum::<usize>()
            }
        }
    }
}

/// The patch of a shape as kept: `ops`, made with [`TOKEN_SLOT`] for the token volume's
/// name, which they name `slots` times ([`Shape::token_slots`]).
fn encode_kept(ops: &[PatchOp], slots: usize) -> Result<KeptPatch, PodError> {
    use base64::Engine as _;
    let base64 = &base64::engine::general_purpose::STANDARD;
    if slots == 0 {
        let json = serde_json::to_vec(ops).map_err(|e| PodError(e.to_string()))?;
        return Ok(KeptPatch::Whole(base64.encode(json).into()));
    }
    let slot = serde_json::to_string(TOKEN_SLOT).map_err(|e| PodError(e.to_string()))?;
    let texts = ops
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PodError(e.to_string()))?;
    let first = texts
        .iter()
        .position(|t| t.contains(&slot))
        .unwrap_or(texts.len());
    let mut head = format!("[{}", texts[..first].join(","));
    if first > 0 {
        head.push(',');
    }
    while head.len() % 3 != 0 {
        head.push(' ');
    }
    let rest = format!("{}]", texts[first..].join(","));
    let rest: Box<[Box<str>]> = rest.split(slot.as_str()).map(Box::from).collect();
    if rest.len() != slots + 1 {
        return Err(PodError(format!(
            "the patch names the token volume's placeholder {slot} {} times, not {slots}: a value of the plan is that placeholder",
            rest.len() - 1
        )));
    }
    Ok(KeptPatch::Open {
        head: base64.encode(head).into(),
        rest,
    })
}

/// A pod's patch from the one kept for its shape and the name of its token volume
/// (`volume`), when the kept patch names it.
fn complete(kept: &KeptPatch, volume: Option<&str>) -> Result<Arc<str>, PodError> {
    use base64::Engine as _;
    let (head, rest) = match kept {
        KeptPatch::Whole(text) => return Ok(Arc::clone(text)),
        KeptPatch::Open { head, rest } => (head, rest),
    };
    let volume = volume.ok_or_else(|| {
        // Shape::of found it in this same pod: unreachable, but never a wrong patch.
        PodError("the pod's shape mounts its service-account token volume, but it has none".into())
    })?;
    let name = serde_json::to_string(volume).map_err(|e| PodError(e.to_string()))?;
    let json = rest.join(name.as_str());
    let mut text = String::with_capacity(head.len() + json.len() * 4 / 3 + 4);
    text.push_str(head);
    base64::engine::general_purpose::STANDARD.encode_string(json, &mut text);
    Ok(text.into())
}

/// The patch of `shape` under `plan`, as kept.
fn kept_of(plan: &Plan, shape: &Shape) -> Result<KeptPatch, PodError> {
    let slot = shape.takes_token().then_some(TOKEN_SLOT);
    encode_kept(&patch::ops(plan, shape, slot), shape.token_slots())
}

/// [`inject_json`], answered as the response carries it (base64 of the patch's JSON;
/// `None` when there is nothing to do), with plans and patches taken from `memo` when
/// it has them.
pub fn encoded_patch(
    pod: &str,
    namespace: &str,
    engine: &Engine<'_>,
    config: &InjectSettings,
    memo: Option<&InjectMemo>,
) -> PodOutcome {
    match read_pod(pod) {
        Ok(view) => encoded_patch_of(&view, namespace, engine, config, memo),
        Err(e) => PodOutcome::Unreadable(e),
    }
}

/// [`encoded_patch`] of a pod already read.
pub(crate) fn encoded_patch_of(
    view: &PodView<'_>,
    namespace: &str,
    engine: &Engine<'_>,
    config: &InjectSettings,
    memo: Option<&InjectMemo>,
) -> PodOutcome {
    let key = match plan_key(view, namespace, engine.catalog) {
        Ok(Some(key)) => key,
        Ok(None) => return PodOutcome::NotOurs,
        Err(e) => return PodOutcome::Refused(e),
    };
    let Some(memo) = memo else {
        let made =
            build_plan(&key, engine, config).and_then(|plan| Ok((Shape::of(view, &plan)?, plan)));
        return match made {
            Ok((shape, plan)) => {
                let patch = kept_of(&plan, &shape)
                    .and_then(|kept| complete(&kept, token_volume_of(view, &shape)));
                PodOutcome::patched(patch, &plan.warnings)
            }
            Err(e) => PodOutcome::Refused(e),
        };
    };
    let numbered = match memo.plan(&key, || build_plan(&key, engine, config)) {
        Ok(n) => n,
        Err(e) => return PodOutcome::Refused(e),
    };
    let shape = match Shape::of(view, &numbered.plan) {
        Ok(s) => s,
        Err(e) => return PodOutcome::Refused(e),
    };
    // Taken before the shape goes into the memo as a key.
    let volume = token_volume_of(view, &shape);
    let patch = memo
        .patch(numbered.id, shape, |shape| kept_of(&numbered.plan, shape))
        .and_then(|kept| complete(&kept, volume));
    PodOutcome::patched(patch, &numbered.plan.warnings)
}

/// What becomes of a pod being created.
#[derive(Debug)]
pub enum PodOutcome {
    /// Not a workload's pod: it passes unchanged.
    NotOurs,
    /// A workload's pod and its patch.
    Patch(Injected),
    /// A workload's pod that cannot be admitted: why.
    Refused(InjectError),
    /// The pod cannot be read (or its patch not written).
    Unreadable(PodError),
}

impl PodOutcome {
    /// The patch (or why it could not be encoded) with the plan's warnings.
    fn patched(patch: Result<Arc<str>, PodError>, warnings: &Arc<[String]>) -> Self {
        match patch {
            Ok(patch) => Self::Patch(Injected {
                patch,
                warnings: Arc::clone(warnings),
            }),
            Err(e) => Self::Unreadable(e),
        }
    }
}

/// What a pod gets: the patch, base64-encoded as the response carries it, and what
/// the response should warn about (a Depot of the workload that does not resolve,
/// and so is not mounted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injected {
    /// The encoded patch.
    pub patch: Arc<str>,
    /// Warnings for the response.
    pub warnings: Arc<[String]>,
}

/// [`encoded_patch_of`] when the answer is already kept (or needs no plan): `None`
/// when a plan or patch would have to be built (not kept yet). This is the answer a webhook can give
/// without leaving its I/O thread.
pub(crate) fn kept_patch_of(
    view: &PodView<'_>,
    namespace: &str,
    catalog: &dyn crate::catalog::Catalog,
    memo: &InjectMemo,
) -> Option<PodOutcome> {
    let key = match plan_key(view, namespace, catalog) {
        Ok(Some(key)) => key,
        Ok(None) => return Some(PodOutcome::NotOurs),
        Err(e) => return Some(PodOutcome::Refused(e)),
    };
    let numbered = memo.kept_plan(&key)?;
    let shape = match Shape::of(view, &numbered.plan) {
        Ok(s) => s,
        Err(e) => return Some(PodOutcome::Refused(e)),
    };
    let volume = token_volume_of(view, &shape);
    let kept = memo.kept_patch(numbered.id, shape)?;
    Some(PodOutcome::patched(
        complete(&kept, volume),
        &numbered.plan.warnings,
    ))
}

#[cfg(test)]
mod clash_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod token_tests;
