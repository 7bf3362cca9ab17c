//! What a workload's templates see, and what they make: the template context of
//! SPEC §2 (DataOS's names), the Stamp, and the config files of its ConfigMap.
//!
//! The same functions serve admission (a dry render), the webhook (the ConfigMap name
//! a pod mounts) and the controller (the ConfigMap it applies), so all three agree.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sha2::Digest as _;

use crate::model::native::{DESCRIPTION_ANNOTATION, OWNER_ANNOTATION};
use crate::model::{Acl, Depot, DepotSecret, Stack, Workload, WorkloadKind};

/// Where the rendered config files are mounted.
pub const CONFIG_MOUNT_PATH: &str = "/etc/dataos/config";
/// Where the projected depot secrets are written.
pub const SECRET_MOUNT_PATH: &str = "/etc/dataos/secret";
/// Where each depot Secret is mounted into the projector: `<root>/<depot>/<acl>`.
pub const DEPOT_MOUNT_ROOT: &str = "/var/run/stackhook/depots";
/// The port programs serve metrics on (DataOS's default), `.MetricPort`.
pub const METRIC_PORT: u16 = 8093;
/// Where the scratch-space volume (`tempVolume`) is mounted, `.DataTempMountPath`
/// (DataOS's `DATAOS_TEMP_DIR`).
pub const TEMP_MOUNT_PATH: &str = "/var/dataos/temp_data";
/// Where the persistent volume's directory is mounted under,
/// `.DataPersistentMountPath`.
pub const PERSISTENT_MOUNT_PATH: &str = "/var/dataos/persistent_data";

/// What the template context takes from outside the workload and its Stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Platform<'a> {
    /// Whether the unit has a ConfigMap (`.HasConfigConfs`).
    pub has_config: bool,
    /// The platform's host name (`.DataOsFqdn`).
    pub fqdn: &'a str,
}

/// One thing a workload runs: the workload itself, or one step of a Workflow's DAG
/// (which takes what it does not set from the Workflow).
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// Where its fields are: `spec` or `spec.dag[2]`.
    pub path: String,
    /// `.Name` in templates: the workload's name, or `<workflow>-<step>`.
    pub name: String,
    /// The Stack reference.
    pub stack: String,
    /// Where the Stack reference is written (`spec.stack` or `spec.dag[2].stack`).
    pub stack_path: String,
    /// The `stackSpec`.
    pub stack_spec: crate::model::StackSpecValue,
    /// Where the `stackSpec` is written.
    pub stack_spec_path: String,
    /// The log level.
    pub log_level: String,
    /// Extra environment variables.
    pub envs: BTreeMap<String, String>,
    /// Resources, as JSON.
    pub resources: Value,
    /// The PersistentVolumeClaim mounted into the program.
    pub persistent_volume: Option<crate::model::PersistentVolumeSpec>,
    /// The scratch-space PersistentVolumeClaim.
    pub temp_volume: Option<String>,
    /// How often its Job is retried (Workflows).
    pub retry: Option<crate::model::RetrySpec>,
    /// The Secrets read as environment variables: the Workflow's, then the step's.
    pub dataos_secrets: Vec<crate::model::DataosSecretRef>,
}

/// The units of a workload: one, or one per DAG step.
pub fn units(workload: &Workload) -> Vec<Unit> {
    let common = workload.common();
    let base = Unit {
        path: "spec".into(),
        name: workload.name().to_owned(),
        stack: common.stack.clone(),
        stack_path: "spec.stack".into(),
        stack_spec: common.stack_spec.clone(),
        stack_spec_path: "spec.stackSpec".into(),
        log_level: common.log_level().to_owned(),
        envs: common.envs.clone(),
        resources: common
            .resources
            .as_ref()
            .and_then(|r| serde_json::to_value(r).ok())
            .unwrap_or_else(|| json!({})),
        persistent_volume: common.persistent_volume.clone(),
        temp_volume: common.temp_volume.clone(),
        retry: match workload {
            Workload::Workflow(wf) => wf.spec.retry.clone(),
            _ => None,
        },
        dataos_secrets: common.dataos_secrets.clone(),
    };
    let Workload::Workflow(wf) = workload else {
        return vec![base];
    };
    if wf.spec.dag.is_empty() {
        return vec![base];
    }
    wf.spec
        .dag
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let path = format!("spec.dag[{i}]");
            let mut envs = base.envs.clone();
            envs.extend(node.envs.clone());
            Unit {
                name: format!("{}-{}", base.name, node.name),
                stack: node.stack.clone().unwrap_or_else(|| base.stack.clone()),
                stack_path: if node.stack.is_some() {
                    format!("{path}.stack")
                } else {
                    base.stack_path.clone()
                },
                stack_spec: node
                    .stack_spec
                    .clone()
                    .unwrap_or_else(|| base.stack_spec.clone()),
                stack_spec_path: if node.stack_spec.is_some() {
                    format!("{path}.stackSpec")
                } else {
                    base.stack_spec_path.clone()
                },
                log_level: node
                    .log_level
                    .clone()
                    .unwrap_or_else(|| base.log_level.clone()),
                envs,
                resources: node
                    .resources
                    .as_ref()
                    .and_then(|r| serde_json::to_value(r).ok())
                    .unwrap_or_else(|| base.resources.clone()),
                persistent_volume: node
                    .persistent_volume
                    .clone()
                    .or_else(|| base.persistent_volume.clone()),
                temp_volume: node
                    .temp_volume
                    .clone()
                    .or_else(|| base.temp_volume.clone()),
                retry: node.retry.clone().or_else(|| base.retry.clone()),
                dataos_secrets: base
                    .dataos_secrets
                    .iter()
                    .chain(&node.dataos_secrets)
                    .cloned()
                    .collect(),
                path,
            }
        })
        .collect()
}

/// A Depot a unit uses, with the access it needs and the Secret that grants it.
#[derive(Clone, Debug, PartialEq)]
pub struct DepotUse {
    /// The Depot.
    pub depot: Arc<Depot>,
    /// The access needed.
    pub acl: Acl,
    /// The Secret that grants it.
    pub secret: DepotSecret,
}

impl DepotUse {
    /// The Depot's name.
    pub fn name(&self) -> &str {
        self.depot.metadata.name.as_deref().unwrap_or_default()
    }
}

fn meta_identity(meta: &kube::core::ObjectMeta, spec: impl FnOnce() -> String) -> String {
    crate::model::version_identity(meta, spec)
}

/// The Stamp: `-` and 4 base36 characters from the workload's, its Stack's and its
/// Depots' identities and generations. Any change to one gives a new Stamp.
pub fn stamp(workload: &Workload, stack: &Stack, depots: &[DepotUse]) -> String {
    use crate::model::{depot_content_hash, stack_content_hash, workload_content_hash};
    let mut hasher = sha2::Sha256::new();
    // Without uid and generation (files, stdin), the same content hash every loader
    // records: `render` of a file and the catalog holding it name one ConfigMap.
    let w = meta_identity(workload.meta(), || workload_content_hash(workload));
    hasher.update(format!(
        "{}|{}|{}|{w}\n",
        workload.kind(),
        workload.namespace(),
        workload.name()
    ));
    let s = meta_identity(&stack.metadata, || stack_content_hash(stack));
    hasher.update(format!("stack|{s}\n"));
    let mut ids: Vec<String> = depots
        .iter()
        .map(|d| {
            let id = meta_identity(&d.depot.metadata, || depot_content_hash(&d.depot));
            format!("depot|{}|{id}", d.name())
        })
        .collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        hasher.update(id);
        hasher.update("\n");
    }
    let digest = hasher.finalize();
    let mut n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]) % 36u64.pow(4);
    let mut chars = ['0'; 4];
    for c in chars.iter_mut().rev() {
        let d = (n % 36) as u32;
        *c = char::from_digit(d, 36).unwrap_or('0');
        n /= 36;
    }
    format!("-{}", chars.iter().collect::<String>())
}

/// The ConfigMap of a unit: `{Name}-{Type}{Stamp}`.
pub fn config_map_name(name: &str, kind: WorkloadKind, stamp: &str) -> String {
    format!("{name}-{}{stamp}", kind.type_name())
}

/// Environment variables: the Stack's, then the unit's (which win).
pub fn environment(stack: &Stack, unit: &Unit) -> BTreeMap<String, String> {
    let mut env = stack.spec.environment_vars.clone();
    env.extend(unit.envs.clone());
    env
}

/// The environment of a unit's program, in order: what stackhook sets (`DATAOS_*`,
/// `LOG_LEVEL`), then the Stack's and the unit's variables, which win. `None` is the
/// Stamp, which the webhook takes from the pod when it carries one. The webhook sets
/// these on the program's container; the controller writes them where a DataOS
/// template reads Poros's `{Name}-{Type}{Stamp}-env` Secret.
pub fn program_environment(
    workload: &Workload,
    unit: &Unit,
    stack: &Stack,
) -> Vec<(String, Option<String>)> {
    let text = |s: &str| Some(s.to_owned());
    let mut env: Vec<(String, Option<String>)> = vec![
        ("DATAOS_NAME".into(), text(&unit.name)),
        ("DATAOS_TYPE".into(), text(workload.kind().type_name())),
        ("DATAOS_WORKSPACE".into(), text(workload.namespace())),
        ("DATAOS_STAMP".into(), None),
        ("DATAOS_CONFIG_DIR".into(), text(CONFIG_MOUNT_PATH)),
        ("DATAOS_SECRET_DIR".into(), text(SECRET_MOUNT_PATH)),
        ("LOG_LEVEL".into(), text(&unit.log_level)),
        ("DATAOS_LOG_LEVEL".into(), text(&unit.log_level)),
    ];
    let theirs = environment(stack, unit);
    env.retain(|(k, _)| !theirs.contains_key(k));
    env.extend(theirs.into_iter().map(|(k, v)| (k, Some(v))));
    env
}

/// The Secrets a unit reads whole (`envFrom`), and the keys it reads one by one:
/// `(variable, Secret, key)`.
pub fn secret_environment(unit: &Unit) -> (Vec<String>, Vec<(String, String, String)>) {
    let mut whole = Vec::new();
    let mut keys = Vec::new();
    for s in &unit.dataos_secrets {
        if s.every_key() {
            if !whole.contains(&s.name) {
                whole.push(s.name.clone());
            }
        } else {
            keys.extend(
                s.keys
                    .iter()
                    .map(|k| (k.clone(), s.name.clone(), k.clone())),
            );
        }
    }
    (whole, keys)
}

/// The Secret Poros fills with a unit's environment, which DataOS templates read with
/// `envFrom` (`{Name}-{Type}{Stamp}-env`).
pub fn env_secret_name(unit: &str, kind: WorkloadKind, stamp: &str) -> String {
    format!("{}-env", config_map_name(unit, kind, stamp))
}

/// The template context of SPEC §2, with the fields of Poros's context that real
/// DataOS Stacks read (`.HasConfigConfs`, `.HasSecretRefs`, `.Volumes`,
/// `.EnvironmentVarsFromSecret`, `.DataTempMountPath`, `.DataPersistentMountPath`,
/// `.RunnableServiceAccount`, `.DataOsFqdn`, `.ApplicationSpec.TempVolume`,
/// `.ApplicationSpec.PersistentVolume`). `.Volumes` is an empty list: stackhook has
/// no DataOS Volume resources. `.EnvironmentVarsFromSecret` names the `dataosSecrets`
/// read whole.
pub fn context(
    workload: &Workload,
    unit: &Unit,
    stack: &Stack,
    stamp: &str,
    depots: &[DepotUse],
    is_dry_run: bool,
    platform: Platform<'_>,
) -> Value {
    let annotation = |key: &str| {
        workload
            .meta()
            .annotations
            .as_ref()
            .and_then(|a| a.get(key).cloned())
            .unwrap_or_default()
    };
    let common = workload.common();
    let secrets: Vec<Value> = depots
        .iter()
        .map(|d| {
            json!({
                "Depot": d.name(),
                "Acl": d.acl.as_str(),
                "Name": d.secret.name,
                "Files": d.secret.files,
                "Type": d.depot.spec.r#type,
                "MountPath": format!("{DEPOT_MOUNT_ROOT}/{}/{}", d.name(), d.secret.acl.as_str()),
            })
        })
        .collect();
    let env: Map<String, Value> = environment(stack, unit)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({
        "Name": unit.name,
        "Type": workload.kind().type_name(),
        "Stamp": stamp,
        "Workspace": workload.namespace(),
        "Owner": annotation(OWNER_ANNOTATION),
        "Description": annotation(DESCRIPTION_ANNOTATION),
        "Image": stack.spec.image.as_ref().map(|i| i.reference()).unwrap_or_default(),
        "MetricPort": METRIC_PORT,
        "IsDryRun": is_dry_run,
        "NodeSelector": common.node_selector,
        "Tolerations": serde_json::to_value(&common.tolerations).unwrap_or_else(|_| json!([])),
        "DataOsConfigMountPath": CONFIG_MOUNT_PATH,
        "DataOsSecretMountPath": SECRET_MOUNT_PATH,
        "DataTempMountPath": TEMP_MOUNT_PATH,
        "DataPersistentMountPath": PERSISTENT_MOUNT_PATH,
        "HasConfigConfs": platform.has_config,
        "HasSecretRefs": !depots.is_empty(),
        "Volumes": [],
        "EnvironmentVarsFromSecret": secret_environment(unit).0,
        "RunnableServiceAccount": common.service_account_name.as_deref().unwrap_or("default"),
        "DataOsFqdn": platform.fqdn,
        "ApplicationSpec": {
            "StackSpec": unit.stack_spec.value(),
            "LogLevel": unit.log_level,
            "Resources": unit.resources,
            "EnvironmentVars": env,
            "Secrets": secrets,
            "TempVolume": unit.temp_volume.as_deref().unwrap_or_default(),
            "PersistentVolume": unit.persistent_volume.as_ref().map(|v| json!({
                "Name": v.name,
                "Directory": v.directory.as_deref().unwrap_or_default(),
                "ReadOnly": v.read_only.unwrap_or(false),
                "SubPath": v.sub_path.as_deref().unwrap_or_default(),
            })),
        },
    })
}

/// Label on every object stackhook makes for a workload: the workload's name.
pub const WORKLOAD_LABEL: &str = "stackhook.io/workload";
/// Label: the workload's kind.
pub const WORKLOAD_KIND_LABEL: &str = "stackhook.io/workload-kind";
/// Label: the Stamp, without its leading `-` (label values start alphanumeric).
pub const STAMP_LABEL: &str = "stackhook.io/stamp";
/// Annotation that turns orchestration off (`"false"`): only the ConfigMap is made.
pub const ORCHESTRATE_ANNOTATION: &str = "stackhook.io/orchestrate";
/// Annotation on pod templates with the Stamp (a change rolls a Deployment); the
/// webhook reads it on pods.
pub const STAMP_ANNOTATION: &str = "stackhook.io/stamp";
/// Label on DAG step Jobs (and so their pods) naming the step.
pub const STEP_LABEL: &str = "stackhook.io/step";

/// The immutable ConfigMap of a unit: `files` (rendered from `configFileTemplate`)
/// and the workload's `configs` (which win on a name clash), labelled, and owned by the
/// workload when it has a uid.
pub fn config_map(
    workload: &Workload,
    unit: &Unit,
    stamp: &str,
    mut files: BTreeMap<String, String>,
) -> Value {
    files.extend(workload.common().configs.clone());
    let kind = workload.kind();
    let mut metadata = json!({
        "name": config_map_name(&unit.name, kind, stamp),
        "namespace": workload.namespace(),
        "labels": {
            WORKLOAD_LABEL: workload.name(),
            WORKLOAD_KIND_LABEL: kind.kind(),
            STAMP_LABEL: stamp.trim_start_matches('-'),
        },
    });
    if let Some(uid) = &workload.meta().uid {
        metadata["ownerReferences"] = json!([{
            "apiVersion": crate::model::API_VERSION,
            "kind": kind.kind(),
            "name": workload.name(),
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "immutable": true,
        "data": files,
    })
}

/// Why a rendered `configFileTemplate` is not a map of file names to contents.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigFilesError {
    /// Not YAML.
    #[error("the rendered configFileTemplate is not YAML: line {0}")]
    NotYaml(#[source] goyaml::SyntaxError),
    /// More than one document.
    #[error("the rendered configFileTemplate holds {0} YAML documents, not one map")]
    Documents(usize),
    /// Not a map.
    #[error("the rendered configFileTemplate must be a map of file names to contents, not {0}")]
    NotAMap(&'static str),
    /// A file whose content is not text.
    #[error(
        "file {name:?} in the rendered configFileTemplate is {kind}, not text (use `|` for a block)"
    )]
    NotText {
        /// The file.
        name: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// A file name that cannot be a key of the ConfigMap.
    #[error("file {name:?} in the rendered configFileTemplate cannot be a ConfigMap key: {rule}")]
    BadKey {
        /// The file.
        name: String,
        /// The API server's rule.
        rule: String,
    },
}

/// Why a rendered template is not a single YAML document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Not YAML.
    #[error("not YAML: line {0}")]
    NotYaml(#[source] goyaml::SyntaxError),
    /// More than one document.
    #[error("{0} YAML documents, not one")]
    Documents(usize),
}

/// The one rule for every template whose output is one thing (a `configFileTemplate`'s
/// map of files, a `resourceTemplate`'s object, a `containerResourceTemplate`'s
/// container): at most one YAML document, never the first of several. `None` when it
/// renders none.
pub(crate) fn single_document(rendered: &str) -> Result<Option<Value>, DocumentError> {
    let docs = goyaml::parse_documents(rendered).map_err(DocumentError::NotYaml)?;
    match docs.len() {
        0 | 1 => Ok(docs.into_iter().next().map(|d| d.value)),
        n => Err(DocumentError::Documents(n)),
    }
}

/// A rendered `configFileTemplate` read as a YAML map of file names to contents.
pub fn config_files(rendered: &str) -> Result<BTreeMap<String, String>, ConfigFilesError> {
    let value = match single_document(rendered) {
        Ok(Some(value)) => value,
        Ok(None) => return Ok(BTreeMap::new()),
        Err(DocumentError::NotYaml(e)) => return Err(ConfigFilesError::NotYaml(e)),
        Err(DocumentError::Documents(n)) => return Err(ConfigFilesError::Documents(n)),
    };
    let Value::Object(map) = &value else {
        return Err(ConfigFilesError::NotAMap(crate::model::json_type(&value)));
    };
    if let Some((name, rule)) = map.keys().find_map(|k| {
        crate::names::config_map_key(k)
            .into_iter()
            .next()
            .map(|r| (k, r))
    }) {
        return Err(ConfigFilesError::BadKey {
            name: name.clone(),
            rule,
        });
    }
    map.iter()
        .map(|(name, content)| match content {
            Value::String(s) => Ok((name.clone(), s.clone())),
            other => Err(ConfigFilesError::NotText {
                name: name.clone(),
                kind: crate::model::json_type(other),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Parsed, Resource, parse_document};

    fn workload(doc: Value) -> Workload {
        match parse_document(doc).unwrap() {
            Parsed::Resource(r) => match *r {
                Resource::Workload(w) => w,
                _ => panic!(),
            },
            Parsed::Skipped { .. } => panic!(),
        }
    }

    fn stack() -> Stack {
        match parse_document(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
            "metadata": {"name": "s", "uid": "u-s", "generation": 1},
            "spec": {"name": "s", "version": "1", "environmentVars": {"A": "stack", "B": "stack"},
                     "image": {"registry": "r", "repository": "p", "image": "i", "tag": "t"}}}),
        )
        .unwrap()
        {
            Parsed::Resource(r) => match *r {
                Resource::Stack(s) => (*s).clone(),
                _ => panic!(),
            },
            Parsed::Skipped { .. } => panic!(),
        }
    }

    fn worker(generation: i64) -> Workload {
        workload(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": "w", "namespace": "ns", "uid": "u-w", "generation": generation,
                         "annotations": {"stackhook.io/owner": "iamgroot"}},
            "spec": {"stack": "s:1", "envs": {"B": "workload"}, "stackSpec": {"x": 1}}}),
        )
    }

    #[test]
    fn stamps_are_short_stable_and_change_with_generations() {
        let s = stack();
        let a = stamp(&worker(1), &s, &[]);
        assert_eq!(a.len(), 5);
        assert!(
            a.starts_with('-')
                && a[1..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert_eq!(a, stamp(&worker(1), &s, &[]));
        assert_ne!(a, stamp(&worker(2), &s, &[]));
        let mut s2 = s.clone();
        s2.metadata.generation = Some(2);
        assert_ne!(a, stamp(&worker(1), &s2, &[]));
        assert_eq!(
            config_map_name("w", WorkloadKind::Worker, &a),
            format!("w-worker{a}")
        );
    }

    #[test]
    fn builds_the_dataos_context() {
        let w = worker(1);
        let unit = &units(&w)[0];
        let platform = Platform {
            has_config: true,
            fqdn: "profound-wallaby.dataos.app",
        };
        let c = context(&w, unit, &stack(), "-abcd", &[], true, platform);
        assert_eq!(c["Name"], "w");
        assert_eq!(c["Type"], "worker");
        assert_eq!(c["Workspace"], "ns");
        assert_eq!(c["Owner"], "iamgroot");
        assert_eq!(c["Image"], "r/p/i:t");
        assert_eq!(c["IsDryRun"], true);
        assert_eq!(c["MetricPort"], 8093);
        assert_eq!(c["DataOsConfigMountPath"], "/etc/dataos/config");
        assert_eq!(c["ApplicationSpec"]["LogLevel"], "INFO");
        assert_eq!(c["ApplicationSpec"]["StackSpec"], json!({"x": 1}));
        assert_eq!(
            c["ApplicationSpec"]["EnvironmentVars"],
            json!({"A": "stack", "B": "workload"})
        );
        // Poros's fields that DataOS Stacks branch on.
        assert_eq!(c["HasConfigConfs"], true);
        assert_eq!(c["HasSecretRefs"], false);
        assert_eq!(c["Volumes"], json!([]));
        assert_eq!(c["EnvironmentVarsFromSecret"], json!([]));
        assert_eq!(c["DataTempMountPath"], "/var/dataos/temp_data");
        assert_eq!(c["RunnableServiceAccount"], "default");
        assert_eq!(c["DataOsFqdn"], "profound-wallaby.dataos.app");
        assert_eq!(c["ApplicationSpec"]["TempVolume"], "");
        assert_eq!(c["ApplicationSpec"]["PersistentVolume"], Value::Null);
    }

    #[test]
    fn dag_steps_inherit_from_the_workflow() {
        let w = workload(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "wf", "namespace": "ns"},
            "spec": {"stack": "s:1", "stackSpec": {"base": true}, "logLevel": "WARN",
                     "dag": [{"name": "a"}, {"name": "b", "stack": "t:2", "stackSpec": {"own": 1}}]}}),
        );
        let u = units(&w);
        assert_eq!(u.len(), 2);
        assert_eq!(
            (
                u[0].name.as_str(),
                u[0].stack.as_str(),
                u[0].log_level.as_str()
            ),
            ("wf-a", "s:1", "WARN")
        );
        assert_eq!(u[0].stack_spec.value(), &json!({"base": true}));
        assert_eq!(u[0].stack_spec_path, "spec.stackSpec");
        assert_eq!(
            (u[1].stack.as_str(), u[1].stack_path.as_str()),
            ("t:2", "spec.dag[1].stack")
        );
        assert_eq!(u[1].stack_spec_path, "spec.dag[1].stackSpec");
    }

    #[test]
    fn reads_config_files() {
        let files = config_files("a.yaml: |\n  x: 1\nb.txt: hello\n").unwrap();
        assert_eq!(files["a.yaml"], "x: 1\n");
        assert_eq!(files["b.txt"], "hello");
        assert_eq!(
            config_files("- a\n").unwrap_err().to_string(),
            "the rendered configFileTemplate must be a map of file names to contents, not a list"
        );
        assert_eq!(
            config_files("a: 1\n").unwrap_err().to_string(),
            "file \"a\" in the rendered configFileTemplate is a number, not text (use `|` for a block)"
        );
        assert!(
            config_files("a: [\n")
                .unwrap_err()
                .to_string()
                .starts_with("the rendered configFileTemplate is not YAML")
        );
        assert_eq!(
            config_files("app config.yaml: x\n")
                .unwrap_err()
                .to_string(),
            "file \"app config.yaml\" in the rendered configFileTemplate cannot be a ConfigMap key: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        );
    }
}
