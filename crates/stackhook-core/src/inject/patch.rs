//! The patch for one pod: a [`Plan`] applied to the pod's [`Shape`], everything about
//! the pod that the patch depends on. [`ops`] sees nothing else, so two pods of the
//! same shape get the same patch and the webhook may reuse it (see [`super::memo`]).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::plan::{DepotVolume, EnvValue, Plan, Secrets};
use super::{
    CONFIG_VOLUME, CONTAINER_ANNOTATION, ContainerView, INJECTED_ANNOTATION, InjectError,
    PROJECTOR_NAME, PROJECTOR_UID, PatchOp, PodView, REFRESH_NAME, SECRET_REFRESH_ANNOTATION,
    SECRETS_VOLUME, STACK_ANNOTATION, STAMP_ANNOTATION, VolumeView, escape,
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

/// Where the pod has one of the objects the patch adds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum Slot {
    /// Not there: added.
    #[default]
    Absent,
    /// There, from stackhook, as the plan wants it: kept.
    Current,
    /// There, from an earlier injection (an older Stamp or Secret), at this index:
    /// brought to the plan's.
    Stale(usize),
}

/// What the pod holds of an injection, found from its content (not from
/// annotations, which a copied Pod template or a restored backup loses): volumes and
/// mounts that the controller or an earlier injection made, and the projector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Ours {
    /// The `stackhook-config` volume (a ConfigMap `{Name}-{Type}{Stamp}`).
    config_volume: Slot,
    /// The `stackhook-secrets` volume (an in-memory emptyDir).
    secrets_volume: bool,
    /// Whether the target container mounts `stackhook-config` itself (a pod made from
    /// a DataOS template, see `orchestrate::pod`).
    config_mounted: bool,
    /// Whether it mounts `stackhook-secrets` itself.
    secrets_mounted: bool,
    /// For each of the plan's depot volumes.
    depot_volumes: Vec<Slot>,
    /// Depot volumes of an earlier injection that the plan no longer has and nothing
    /// but our projector mounts, by index, descending.
    stale_volumes: Vec<usize>,
    /// Our projector and refresh sidecar of an earlier injection, by index,
    /// descending: removed, and added again as the plan has them.
    own_init: Vec<usize>,
    /// For each of the plan's `envFrom` depots, whether the container has it.
    env_from_depots: Vec<bool>,
}

/// Whether the container sets one of the plan's variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum EnvSet {
    /// It does not: added.
    No,
    /// It does: its value wins.
    Yes,
    /// An earlier injection set it to an older Stamp, at this index: replaced.
    Stale(usize),
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
    /// Whether the target container has a `securityContext`.
    security_context: bool,
    /// Whether the pod has a `securityContext`.
    pod_security_context: bool,
    /// Whether the pod sets `fsGroup`.
    fs_group_set: bool,
    /// Whether the pod already lists the Stack's image pull Secret.
    has_pull_secret: bool,
    /// For each of the plan's env vars, whether the container already sets it.
    env_set: Vec<EnvSet>,
    /// For each of the plan's whole Secrets, whether the container reads it already.
    env_from_set: Vec<bool>,
    /// Whether the projectors get the pod's service-account token mount (see
    /// [`token_volume`]). The volume's name differs from pod to pod, so it is not part
    /// of the shape: the kept patch leaves a slot for it ([`Shape::token_slots`]).
    token: bool,
}

/// Where kube-apiserver's `ServiceAccount` admission plugin mounts the API token in
/// every container.
const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The start of the name of the projected volume it adds for that token.
const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";

/// The service-account token volume kube-apiserver's `ServiceAccount` admission plugin
/// mounted in the pod's containers before the webhook was called, when it did.
///
/// That plugin mounts the token in every container, and it runs again after a
/// mutating webhook changed the pod (admission reinvocation). Were the projectors
/// added without the mount, it would add it then; the pod having changed since
/// stackhook's webhook saw it, the API server would call the webhook a second time
/// (`reinvocationPolicy: IfNeeded`): a whole second call for every pod. So the
/// projectors get the mount now, as the plugin gives it (the first volume named
/// `kube-api-access-…`, read-only, at the token path): the pod ends up as it would
/// have, and the webhook is called once.
pub(super) fn token_volume<'p>(pod: &'p PodView<'_>) -> Option<&'p str> {
    if pod.spec.automount_token == Some(false) {
        return None;
    }
    // It mounted it only if its service account lets the token be mounted, which a
    // container's mount shows.
    let volume = first_token_volume(pod)?;
    let mounted = pod
        .spec
        .containers
        .iter()
        .chain(pod.spec.init_containers.iter().flatten())
        .filter(|c| !is_our_projector(c))
        .flat_map(|c| c.volume_mounts.iter().flatten())
        .any(|m| m.name == volume && m.mount_path == TOKEN_MOUNT_PATH);
    mounted.then_some(volume)
}

/// The first volume named `kube-api-access-…`: the one the plugin mounts.
pub(super) fn first_token_volume<'p>(pod: &'p PodView<'_>) -> Option<&'p str> {
    pod.spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_ref())
        .find(|name| name.starts_with(TOKEN_VOLUME_PREFIX))
}

/// The variable that holds the Stamp.
const STAMP_VAR: &str = "DATAOS_STAMP";

/// Whether `s` has the form of a Stamp (`-` and 4 base36 characters).
fn is_stamp(s: &str) -> bool {
    s.len() == 5
        && s.starts_with('-')
        && s.bytes()
            .skip(1)
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Whether `c` is a projector stackhook added: our name and our command.
fn is_our_projector(c: &ContainerView<'_>) -> bool {
    (c.name == PROJECTOR_NAME || c.name == REFRESH_NAME)
        && c.args.as_ref().is_some_and(|a| {
            a.len() >= 3 && a[0] == "project" && a[1] == "--from" && a[2] == DEPOT_MOUNT_ROOT
        })
}

/// What a volume is, for a message.
fn describe(v: &VolumeView<'_>) -> String {
    if let Some(cm) = &v.config_map {
        format!("a configMap volume of {:?}", cm.name)
    } else if let Some(s) = &v.secret {
        format!("a secret volume of {:?}", s.secret_name)
    } else if let Some(e) = &v.empty_dir {
        match &e.medium {
            Some(m) if !m.is_empty() => format!("an emptyDir volume on {m:?}"),
            _ => "an emptyDir volume on disk".to_owned(),
        }
    } else {
        "a volume of another type".to_owned()
    }
}

/// What the pod holds of an injection, and whether anything it has clashes with what
/// the patch adds. `stamp` is the Stamp the pod ends up with.
fn survey(
    pod: &PodView<'_>,
    plan: &Plan,
    target: &ContainerView<'_>,
    stamp: &str,
    refresh: bool,
) -> Result<(Ours, Option<String>), InjectError> {
    let no_volumes = Vec::new();
    let volumes = pod.spec.volumes.as_ref().unwrap_or(&no_volumes);
    let no_init = Vec::new();
    let init = pod.spec.init_containers.as_ref().unwrap_or(&no_init);
    let (depot_plan, projector): (&[DepotVolume], bool) = match &plan.secrets {
        Secrets::PropFile { volumes, .. } => (volumes, true),
        _ => (&[], false),
    };
    let adds = |name: &str| {
        (projector && name == PROJECTOR_NAME) || (projector && refresh && name == REFRESH_NAME)
    };
    let mut ours = Ours {
        depot_volumes: vec![Slot::Absent; depot_plan.len()],
        ..Ours::default()
    };

    // Init containers: ours (name and command) are replaced; another of our names is
    // a clash when the patch adds one of that name. Our projector carries the Stamp
    // it was made for.
    let mut earlier_stamp: Option<String> = None;
    for (i, c) in init.iter().enumerate() {
        if is_our_projector(c) {
            ours.own_init.push(i);
            earlier_stamp = c
                .env
                .iter()
                .flatten()
                .find(|e| e.name == STAMP_VAR)
                .and_then(|e| e.value.as_deref())
                .filter(|v| is_stamp(v))
                .map(str::to_owned)
                .or(earlier_stamp);
        } else if adds(&c.name) {
            return Err(InjectError::ContainerClash {
                list: "an init container",
                name: c.name.to_string(),
            });
        }
    }
    ours.own_init.reverse();
    if projector && let Some(c) = pod.spec.containers.iter().find(|c| adds(&c.name)) {
        return Err(InjectError::ContainerClash {
            list: "a container",
            name: c.name.to_string(),
        });
    }

    // Volumes.
    let cm_prefix = render::config_map_name(&plan.unit_name, plan.kind, "");
    let mut depot_other: Vec<(usize, usize)> = Vec::new();
    let mut stale_candidates: Vec<(usize, &str)> = Vec::new();
    for (i, v) in volumes.iter().enumerate() {
        let name = v.name.as_ref();
        if name == CONFIG_VOLUME {
            let old = v
                .config_map
                .as_ref()
                .and_then(|cm| cm.name.strip_prefix(cm_prefix.as_str()))
                .filter(|s| is_stamp(s));
            match old {
                Some(old) => {
                    earlier_stamp = Some(old.to_owned());
                    ours.config_volume = if old == stamp {
                        Slot::Current
                    } else {
                        Slot::Stale(i)
                    };
                }
                None if plan.has_config => {
                    return Err(InjectError::VolumeClash {
                        name: name.to_owned(),
                        found: describe(v),
                    });
                }
                None => {}
            }
        } else if name == SECRETS_VOLUME {
            let in_memory = v
                .empty_dir
                .as_ref()
                .is_some_and(|e| e.medium.as_deref() == Some("Memory"));
            if in_memory {
                ours.secrets_volume = true;
            } else if projector {
                return Err(InjectError::VolumeClash {
                    name: name.to_owned(),
                    found: describe(v),
                });
            }
        } else if name.starts_with("stackhook-depot-") {
            let wanted = depot_plan.iter().position(|d| d.volume == name);
            match (wanted, &v.secret) {
                (Some(k), Some(secret)) if secret.secret_name == depot_plan[k].secret.as_str() => {
                    ours.depot_volumes[k] = Slot::Current;
                }
                (Some(k), Some(_)) => depot_other.push((k, i)),
                (Some(_), None) => {
                    return Err(InjectError::VolumeClash {
                        name: name.to_owned(),
                        found: describe(v),
                    });
                }
                (None, Some(_)) => stale_candidates.push((i, name)),
                (None, None) => {}
            }
        }
    }

    // An earlier injection: our projector, or our ConfigMap volume.
    let earlier = !ours.own_init.is_empty() || earlier_stamp.is_some();
    for (k, i) in depot_other {
        if !earlier {
            return Err(InjectError::VolumeClash {
                name: depot_plan[k].volume.clone(),
                found: describe(&volumes[i]),
            });
        }
        ours.depot_volumes[k] = Slot::Stale(i);
    }
    if earlier {
        // Depot volumes the plan no longer has go when our earlier projector read
        // them, unless something else mounts them.
        let projector_mounts: Vec<&str> = init
            .iter()
            .filter(|c| is_our_projector(c))
            .flat_map(|c| c.volume_mounts.iter().flatten())
            .map(|m| m.name.as_ref())
            .collect();
        let foreign_mounts: Vec<&str> = pod
            .spec
            .containers
            .iter()
            .chain(init.iter().filter(|c| !is_our_projector(c)))
            .flat_map(|c| c.volume_mounts.iter().flatten())
            .map(|m| m.name.as_ref())
            .collect();
        ours.stale_volumes = stale_candidates
            .into_iter()
            .filter(|(_, name)| projector_mounts.contains(name) && !foreign_mounts.contains(name))
            .map(|(i, _)| i)
            .rev()
            .collect();
    }

    // The target container's mounts: ours by name; another volume at our path is a
    // clash when the patch mounts ours there.
    let mounts = target.volume_mounts.iter().flatten();
    ours.config_mounted = mounts.clone().any(|m| m.name == CONFIG_VOLUME);
    ours.secrets_mounted = mounts.clone().any(|m| m.name == SECRETS_VOLUME);
    for m in mounts {
        let clash = if m.mount_path == CONFIG_MOUNT_PATH && plan.has_config && !ours.config_mounted
        {
            Some("the workload's config")
        } else if m.mount_path == SECRET_MOUNT_PATH && projector && !ours.secrets_mounted {
            Some("the depot secrets")
        } else {
            None
        };
        if let Some(what) = clash {
            return Err(InjectError::MountClash {
                container: target.name.to_string(),
                volume: m.name.to_string(),
                path: m.mount_path.to_string(),
                what,
            });
        }
    }

    if let Secrets::EnvFrom(depots) = &plan.secrets {
        ours.env_from_depots = depots
            .iter()
            .map(|(prefix, secret)| {
                target.env_from.iter().flatten().any(|f| {
                    f.prefix.as_deref() == Some(prefix.as_str())
                        && f.secret_ref
                            .as_ref()
                            .is_some_and(|s| s.name == secret.as_str())
                })
            })
            .collect();
    }
    Ok((ours, earlier_stamp))
}

impl Shape {
    /// The shape of `pod` for `plan`, or why the pod is refused.
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
        let pod_stamp = pod.annotation(STAMP_ANNOTATION).map(str::to_owned);
        let stamp = pod_stamp.as_deref().unwrap_or(&plan.stamp);
        // The pod's annotation decides; the namespace's setting is the default.
        let refresh = match pod.annotation(SECRET_REFRESH_ANNOTATION) {
            Some(v) => v == "true",
            None => plan.refresh,
        };
        let (ours, earlier_stamp) = survey(pod, plan, container, stamp, refresh)?;
        let env_set = plan
            .env
            .iter()
            .map(|(k, v)| {
                let Some((j, e)) = container
                    .env
                    .iter()
                    .flatten()
                    .enumerate()
                    .find(|(_, e)| e.name == k.as_str())
                else {
                    return EnvSet::No;
                };
                match (v, &earlier_stamp, &e.value) {
                    (EnvValue::Stamp, Some(old), Some(value))
                        if value == old.as_str() && old != stamp =>
                    {
                        EnvSet::Stale(j)
                    }
                    _ => EnvSet::Yes,
                }
            })
            .collect();
        let container_user = container
            .security_context
            .as_ref()
            .and_then(|s| s.run_as_user);
        let pod_user = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|s| s.run_as_user);
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
            stamp: pod_stamp,
            refresh,
            run_as_user: container_user.or(pod_user).filter(|u| *u > 0),
            security_context: container.security_context.is_some(),
            pod_security_context: pod.spec.security_context.is_some(),
            fs_group_set: pod
                .spec
                .security_context
                .as_ref()
                .is_some_and(|s| s.fs_group.is_some()),
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
                            f.prefix.is_none()
                                && f.secret_ref
                                    .as_ref()
                                    .is_some_and(|s| s.name == name.as_str())
                        })
                    })
                })
                .collect(),
            env_set,
            token: matches!(plan.secrets, Secrets::PropFile { .. }) && token_volume(pod).is_some(),
        })
    }

    /// Whether the patch of this shape names the pod's token volume, which differs from
    /// pod to pod of the shape.
    pub(super) fn takes_token(&self) -> bool {
        self.token
    }

    /// How many times the patch of this shape names the pod's token volume: once for
    /// each projector ([`ops`]).
    pub(super) fn token_slots(&self) -> usize {
        match (self.token, self.refresh) {
            (false, _) => 0,
            (true, false) => 1,
            (true, true) => 2,
        }
    }

    /// An estimate of the memory the shape holds, for the cache's budget.
    pub(super) fn weight(&self) -> usize {
        96 + self.stamp.as_ref().map_or(0, String::len)
            + self.env_set.len() * 16
            + self.env_from_set.len()
            + (self.ours.depot_volumes.len()
                + self.ours.stale_volumes.len()
                + self.ours.own_init.len())
                * 16
            + self.ours.env_from_depots.len()
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

    fn replace(&mut self, path: String, value: Value) {
        self.ops.push(PatchOp {
            op: "replace",
            path,
            value,
        });
    }

    fn remove(&mut self, path: String) {
        self.ops.push(PatchOp {
            op: "remove",
            path,
            value: Value::Null,
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

/// The patch of a pod of shape `shape` under `plan`. `token` is the name of the pod's
/// service-account token volume, which its projectors mount (see [`token_volume`]),
/// when the shape [takes it](Shape::takes_token).
///
/// When the projectors mount the token volume, they are added last: the operations
/// before them are then the same for every pod of the shape, whatever its volume's
/// name. Otherwise they keep their place, before the target container's secrets mount
/// (the order Stack authors' golden patches have).
pub(super) fn ops(plan: &Plan, shape: &Shape, token: Option<&str>) -> Vec<PatchOp> {
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
        (shape.security_context, format!("{c}/securityContext")),
        (
            shape.pod_security_context,
            "/spec/securityContext".to_owned(),
        ),
    ] {
        if is {
            existing.insert(path);
        }
    }
    let mut p = PatchBuilder {
        existing,
        ops: Vec::with_capacity(32),
    };
    let mut projectors = Vec::new();
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

    // What an earlier injection left is brought to the plan's, by index into the
    // lists as received: replacements first, then removals from the back, so that no
    // index moves before it is used; everything added after is appended.
    let cm = render::config_map_name(&plan.unit_name, plan.kind, stamp);
    let ours = &shape.ours;
    if plan.has_config
        && let Slot::Stale(i) = ours.config_volume
    {
        p.replace(
            format!("/spec/volumes/{i}/configMap/name"),
            Value::String(cm.clone()),
        );
    }
    if let Secrets::PropFile { volumes, .. } = &plan.secrets {
        for (v, slot) in volumes.iter().zip(&ours.depot_volumes) {
            if let Slot::Stale(i) = slot {
                p.replace(
                    format!("/spec/volumes/{i}/secret/secretName"),
                    text(&v.secret),
                );
            }
        }
    }
    let env_path = format!("{c}/env");
    for set in &shape.env_set {
        if let EnvSet::Stale(j) = set {
            p.replace(format!("{env_path}/{j}/value"), text(stamp));
        }
    }
    for i in &ours.stale_volumes {
        p.remove(format!("/spec/volumes/{i}"));
    }
    for i in &ours.own_init {
        p.remove(format!("/spec/initContainers/{i}"));
    }

    // Environment: ours, the Stack's, the workload's; never over what the pod sets.
    for ((k, v), set) in plan.env.iter().zip(&shape.env_set) {
        if *set == EnvSet::No {
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
        if ours.config_volume == Slot::Absent {
            p.append(
                "/spec/volumes",
                object([
                    ("name", text(CONFIG_VOLUME)),
                    ("configMap", object([("name", Value::String(cm.clone()))])),
                ]),
            );
        }
        if !ours.config_mounted {
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
            for ((prefix, secret), has) in depots.iter().zip(&ours.env_from_depots) {
                if *has {
                    continue;
                }
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
            // Nobody but the program reads the files. Its user known (not root): the
            // projector writes them as that user, owner-only (0400). Its user unknown
            // (the image decides, or root): the projector writes them as its own user,
            // readable by the pod's fsGroup too (0440), which every container of the
            // pod runs in and which the in-memory volume is given; a pod without an
            // fsGroup gets the projector's. The program's user is never changed.
            let run_as = shape.run_as_user.unwrap_or(PROJECTOR_UID);
            let mode = if shape.run_as_user.is_some() {
                "0400"
            } else {
                if !shape.fs_group_set {
                    p.put("/spec/securityContext", "fsGroup", json!(PROJECTOR_UID));
                }
                "0440"
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
            for (v, slot) in volumes.iter().zip(&ours.depot_volumes) {
                if *slot == Slot::Absent {
                    p.append(
                        "/spec/volumes",
                        object([
                            ("name", text(&v.volume)),
                            ("secret", object([("secretName", text(&v.secret))])),
                        ]),
                    );
                }
                mounts.push(object([
                    ("name", text(&v.volume)),
                    ("mountPath", text(&v.mount_path)),
                    ("readOnly", Value::Bool(true)),
                ]));
            }
            if !ours.secrets_volume {
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
            // Last, read-only, as kube-apiserver's ServiceAccount plugin appends it.
            if let Some(volume) = token.filter(|_| shape.token) {
                mounts.push(object([
                    ("name", text(volume)),
                    ("readOnly", Value::Bool(true)),
                    ("mountPath", text(TOKEN_MOUNT_PATH)),
                ]));
            }
            let projector = |name: &str, mode_arg: &str, sidecar: bool| {
                let mut a = all_args.clone();
                a.push(text(mode_arg));
                let mut fields = vec![
                    ("name", text(name)),
                    ("image", text(&plan.projector_image)),
                    ("imagePullPolicy", text("IfNotPresent")),
                    ("args", Value::Array(a)),
                    // The Stamp it was made for: a copy of the pod is recognised by it.
                    ("env", json!([{"name": STAMP_VAR, "value": stamp}])),
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
            projectors.push(projector(PROJECTOR_NAME, "--once", false));
            if shape.refresh {
                projectors.push(projector(REFRESH_NAME, "--watch", true));
            }
            if !shape.token {
                p.prepend("/spec/initContainers", std::mem::take(&mut projectors));
            }
            if !ours.secrets_mounted {
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
    if !projectors.is_empty() {
        p.prepend("/spec/initContainers", projectors);
    }
    p.ops
}
