//! The patch for one pod: a [`Plan`] applied to the pod's [`Shape`], everything about
//! the pod that the patch depends on. [`ops`] sees nothing else, so two pods of the
//! same shape get the same patch and the webhook may reuse it (see [`super::memo`]).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::plan::{EnvValue, Plan, Secrets};
use super::{
    CONFIG_VOLUME, CONTAINER_ANNOTATION, INJECTED_ANNOTATION, InjectError, PROJECTOR_NAME,
    PROJECTOR_UID, PatchOp, PodView, REFRESH_NAME, SECRET_REFRESH_ANNOTATION, SECRETS_VOLUME,
    STACK_ANNOTATION, STAMP_ANNOTATION, escape,
};
use crate::render::{self, CONFIG_MOUNT_PATH, DEPOT_MOUNT_ROOT, SECRET_MOUNT_PATH};

/// Which of the maps and lists the patch adds to the pod already has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Present {
    annotations: bool,
    init_containers: bool,
    volumes: bool,
    image_pull_secrets: bool,
    env: bool,
    env_from: bool,
    volume_mounts: bool,
}

/// Which of the volumes the patch adds the pod has already, and which the target
/// container mounts: a pod made from a DataOS template mounts them itself (see
/// `orchestrate::pod`), and a name or mount path twice is a pod Kubernetes refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Ours {
    config_volume: bool,
    secrets_volume: bool,
    config_mounted: bool,
    secrets_mounted: bool,
}

/// Everything about a pod that its patch depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Shape {
    /// The index of the container injected into.
    target: usize,
    present: Present,
    ours: Ours,
    /// The pod's own `stackhook.io/stamp` (a pod from a controller-rendered template).
    stamp: Option<String>,
    /// Whether the refresh sidecar is wanted.
    refresh: bool,
    /// The target container's user (or the pod's), when known and not root.
    run_as_user: Option<i64>,
    /// Whether the pod already lists the Stack's image pull Secret.
    has_pull_secret: bool,
    /// For each of the plan's env vars, whether the container already sets it.
    env_set: Vec<bool>,
    /// For each of the plan's whole Secrets, whether the container reads it already.
    env_from_set: Vec<bool>,
}

impl Shape {
    /// The shape of `pod` for `plan`.
    pub(super) fn of(pod: &PodView<'_>, plan: &Plan) -> Result<Self, InjectError> {
        let containers = &pod.spec.containers;
        if containers.is_empty() {
            return Err(InjectError::NoContainers);
        }
        let target = match pod.annotation(CONTAINER_ANNOTATION) {
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
        let mut set: Vec<&str> = container
            .env
            .as_ref()
            .map(|l| l.iter().map(|e| e.name.as_ref()).collect())
            .unwrap_or_default();
        set.sort_unstable();
        let (volumes, mounts) = (
            pod.spec.volumes.unwrap_or_default(),
            container.volume_mounts.unwrap_or_default(),
        );
        let ours = Ours {
            config_volume: volumes.config,
            secrets_volume: volumes.secrets,
            config_mounted: mounts.config,
            secrets_mounted: mounts.secrets,
        };
        Ok(Self {
            target,
            present: Present {
                annotations: pod.metadata.annotations.is_some(),
                init_containers: pod.spec.init_containers.is_some(),
                volumes: pod.spec.volumes.is_some(),
                image_pull_secrets: pod.spec.image_pull_secrets.is_some(),
                env: container.env.is_some(),
                env_from: container.env_from.is_some(),
                volume_mounts: container.volume_mounts.is_some(),
            },
            ours,
            stamp: pod.annotation(STAMP_ANNOTATION).map(str::to_owned),
            // The pod's annotation decides; the namespace's setting is the default.
            refresh: match pod.annotation(SECRET_REFRESH_ANNOTATION) {
                Some(v) => v == "true",
                None => plan.refresh,
            },
            run_as_user: container
                .security_context
                .as_ref()
                .and_then(|s| s.run_as_user)
                .or_else(|| {
                    pod.spec
                        .security_context
                        .as_ref()
                        .and_then(|s| s.run_as_user)
                })
                .filter(|u| *u > 0),
            has_pull_secret: plan.image_pull_secret.as_ref().is_some_and(|secret| {
                pod.spec
                    .image_pull_secrets
                    .as_ref()
                    .is_some_and(|l| l.iter().any(|s| s.name == secret.as_str()))
            }),
            env_from_set: plan
                .secret_env_from
                .iter()
                .map(|name| {
                    container.env_from.as_ref().is_some_and(|l| {
                        l.iter().any(|f| {
                            f.secret_ref
                                .as_ref()
                                .is_some_and(|s| s.name == name.as_str())
                        })
                    })
                })
                .collect(),
            env_set: plan
                .env
                .iter()
                .map(|(k, _)| set.binary_search(&k.as_str()).is_ok())
                .collect(),
        })
    }

    /// An estimate of the memory the shape holds, for the cache's budget.
    pub(super) fn weight(&self) -> usize {
        64 + self.stamp.as_ref().map_or(0, String::len)
            + self.env_set.len()
            + self.env_from_set.len()
    }
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

/// The patch of a pod of shape `shape` under `plan`.
pub(super) fn ops(plan: &Plan, shape: &Shape) -> Vec<PatchOp> {
    let c = format!("/spec/containers/{}", shape.target);
    let present = shape.present;
    let mut existing = HashSet::new();
    for (is, path) in [
        (present.annotations, "/metadata/annotations".to_owned()),
        (present.init_containers, "/spec/initContainers".to_owned()),
        (present.volumes, "/spec/volumes".to_owned()),
        (
            present.image_pull_secrets,
            "/spec/imagePullSecrets".to_owned(),
        ),
        (present.env, format!("{c}/env")),
        (present.env_from, format!("{c}/envFrom")),
        (present.volume_mounts, format!("{c}/volumeMounts")),
    ] {
        if is {
            existing.insert(path);
        }
    }
    let mut p = PatchBuilder {
        existing,
        ops: Vec::with_capacity(32),
    };
    // A pod from a controller-rendered template keeps the Stamp it was made with.
    let stamp = shape.stamp.as_deref().unwrap_or(&plan.stamp);

    p.put(
        "/metadata/annotations",
        INJECTED_ANNOTATION,
        text(&plan.version),
    );
    if shape.stamp.is_none() {
        p.put("/metadata/annotations", STAMP_ANNOTATION, text(stamp));
    }
    p.put("/metadata/annotations", STACK_ANNOTATION, text(&plan.stack));

    // Environment: ours, the Stack's, the workload's; never over what the pod sets.
    let env_path = format!("{c}/env");
    for ((k, v), set) in plan.env.iter().zip(&shape.env_set) {
        if !set {
            let value = match v {
                EnvValue::Text(t) => text(t),
                EnvValue::Stamp => text(stamp),
                EnvValue::SecretKey(secret, key) => {
                    let from = object([(
                        "secretKeyRef",
                        object([("name", text(secret)), ("key", text(key))]),
                    )]);
                    p.append(&env_path, object([("name", text(k)), ("valueFrom", from)]));
                    continue;
                }
            };
            p.append(&env_path, object([("name", text(k)), ("value", value)]));
        }
    }
    for (secret, set) in plan.secret_env_from.iter().zip(&shape.env_from_set) {
        if !set {
            p.append(
                &format!("{c}/envFrom"),
                object([("secretRef", object([("name", text(secret))]))]),
            );
        }
    }

    let mounts_path = format!("{c}/volumeMounts");
    if plan.has_config {
        let cm = render::config_map_name(&plan.unit_name, plan.kind, stamp);
        if !shape.ours.config_volume {
            p.append(
                "/spec/volumes",
                object([
                    ("name", text(CONFIG_VOLUME)),
                    ("configMap", object([("name", Value::String(cm))])),
                ]),
            );
        }
        if !shape.ours.config_mounted {
            p.append(
                &mounts_path,
                object([
                    ("name", text(CONFIG_VOLUME)),
                    ("mountPath", text(CONFIG_MOUNT_PATH)),
                    ("readOnly", Value::Bool(true)),
                ]),
            );
        }
    }

    match &plan.secrets {
        Secrets::None => {}
        Secrets::EnvFrom(depots) => {
            let env_from = format!("{c}/envFrom");
            for (prefix, secret) in depots {
                p.append(
                    &env_from,
                    object([
                        ("prefix", text(prefix)),
                        ("secretRef", object([("name", text(secret))])),
                    ]),
                );
            }
        }
        Secrets::PropFile { volumes, args } => {
            // Same user as the program: owner-only files. Otherwise (the image's
            // default user), readable by the pod's containers only — the volume is
            // this pod's own memory.
            let (run_as, mode) = match shape.run_as_user {
                Some(u) => (u, "0400"),
                None => (PROJECTOR_UID, "0444"),
            };
            let all_args: Vec<Value> = [
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
            .chain(args.iter().map(String::as_str))
            .map(text)
            .collect();
            let mut mounts = Vec::with_capacity(volumes.len() + 1);
            for v in volumes {
                p.append(
                    "/spec/volumes",
                    object([
                        ("name", text(&v.volume)),
                        ("secret", object([("secretName", text(&v.secret))])),
                    ]),
                );
                mounts.push(object([
                    ("name", text(&v.volume)),
                    ("mountPath", text(&v.mount_path)),
                    ("readOnly", Value::Bool(true)),
                ]));
            }
            if !shape.ours.secrets_volume {
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
            }
            mounts.push(object([
                ("name", text(SECRETS_VOLUME)),
                ("mountPath", text(SECRET_MOUNT_PATH)),
            ]));
            let projector = |name: &str, mode_arg: &str, sidecar: bool| {
                let mut a = all_args.clone();
                a.push(text(mode_arg));
                let mut fields = vec![
                    ("name", text(name)),
                    ("image", text(&plan.projector_image)),
                    ("imagePullPolicy", text("IfNotPresent")),
                    ("args", Value::Array(a)),
                    ("volumeMounts", Value::Array(mounts.clone())),
                    ("resources", plan.projector_resources.clone()),
                    ("securityContext", restricted(run_as)),
                    ("terminationMessagePolicy", text("FallbackToLogsOnError")),
                ];
                if sidecar {
                    fields.push(("restartPolicy", text("Always")));
                }
                Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            };
            let mut init = vec![projector(PROJECTOR_NAME, "--once", false)];
            if shape.refresh {
                init.push(projector(REFRESH_NAME, "--watch", true));
            }
            p.prepend("/spec/initContainers", init);
            if !shape.ours.secrets_mounted {
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

    if let Some(secret) = &plan.image_pull_secret
        && !shape.has_pull_secret
    {
        p.append("/spec/imagePullSecrets", object([("name", text(secret))]));
    }
    p.ops
}
