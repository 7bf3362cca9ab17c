//! The resources stackhook handles — Stack, Depot, Worker, Service, Workflow — as
//! Kubernetes CRD types, and the reading of documents in either shape (CRD or
//! DataOS-native) into them.
//!
//! Every field carries a `///` description: it becomes the CRD's OpenAPI description,
//! which is what `kubectl explain` shows.

mod depot;
pub mod native;
mod serde_helpers;
mod stack;
mod stack_ref;
pub mod strict;
mod workload;

use std::fmt;
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::ObjectMeta;
use kube::{CustomResourceExt, Resource as _};
use serde_json::Value;

pub use depot::{Depot, DepotSecret, DepotSpec};
pub use serde_helpers::StackSpecValue;
pub use stack::{
    Acl, AddressFilter, Enforcement, ImageAuth, OrchestratorConfig, ProjectionType, Reconciler,
    ResourceTemplateConfig, SecretProjection, ServiceConfig, Stack, StackImage, StackPorts,
    StackSpec, StackSpecValueSchema, WorkerConfig, WorkflowJobConfig,
};
pub use stack_ref::{StackRef, StackRefError, compare_versions};
pub use workload::{
    AutoScalingSpec, DagNode, DataosSecretRef, HighAvailabilityLevel, HighAvailabilityMode,
    HighAvailabilitySpec, IngressSpec, PersistentVolumeSpec, RetrySpec, RetryStrategy,
    ScheduleSpec, Service, ServicePortSpec, ServiceSpec, Worker, WorkerSpec, Workflow,
    WorkflowSpec, WorkloadCommon, WorkloadStatus,
};

/// The API group of every stackhook resource.
pub const GROUP: &str = "stackhook.io";
/// The API version of every stackhook resource.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every stackhook resource.
pub const API_VERSION: &str = "stackhook.io/v1alpha1";

/// Annotation a file loader puts on objects that have no uid and generation: a hash
/// of their content, computed once at load, so that cache keys and Stamps need not
/// hash the whole object on every request.
pub const CONTENT_HASH_ANNOTATION: &str = "stackhook.io/content-hash";

/// What identifies this version of an object: uid and generation in a cluster; else
/// the content hash a loader recorded; else (`hash`) a hash computed now.
pub fn version_identity(meta: &ObjectMeta, hash: impl FnOnce() -> String) -> String {
    match (&meta.uid, meta.generation) {
        (Some(uid), Some(generation)) => format!("{uid}/{generation}"),
        _ => match meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(CONTENT_HASH_ANNOTATION))
        {
            Some(h) => format!("{}/{h}", meta.name.as_deref().unwrap_or("")),
            None => format!("{}/{}", meta.name.as_deref().unwrap_or(""), hash()),
        },
    }
}

/// The hash of a workload's whole spec: what identifies a version of it without uid
/// and generation, the same whether a loader recorded it or it is computed now.
pub fn workload_content_hash(workload: &Workload) -> String {
    match workload {
        Workload::Worker(w) => content_hash(&w.spec),
        Workload::Service(w) => content_hash(&w.spec),
        Workload::Workflow(w) => content_hash(&w.spec),
    }
}

/// The hash of a Stack's spec (see [`workload_content_hash`]).
pub fn stack_content_hash(stack: &Stack) -> String {
    content_hash(&stack.spec)
}

/// The hash of a Depot's spec (see [`workload_content_hash`]).
pub fn depot_content_hash(depot: &Depot) -> String {
    content_hash(&depot.spec)
}

fn content_hash(value: &impl serde::Serialize) -> String {
    use sha2::Digest as _;
    let text = serde_json::to_string(value).unwrap_or_default();
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Records a content hash on an object without uid and generation (objects read from
/// files), for [`version_identity`].
pub fn record_content_hash(resource: &mut Resource) {
    fn mark(meta: &mut ObjectMeta, hash: String) {
        if meta.uid.is_none() || meta.generation.is_none() {
            meta.annotations
                .get_or_insert_with(Default::default)
                .insert(CONTENT_HASH_ANNOTATION.into(), hash);
        }
    }
    match resource {
        Resource::Stack(s) => {
            let h = content_hash(&s.spec);
            mark(&mut Arc::make_mut(s).metadata, h);
        }
        Resource::Depot(d) => {
            let h = content_hash(&d.spec);
            mark(&mut Arc::make_mut(d).metadata, h);
        }
        Resource::Workload(Workload::Worker(w)) => {
            let h = content_hash(&w.spec);
            mark(&mut Arc::make_mut(w).metadata, h);
        }
        Resource::Workload(Workload::Service(w)) => {
            let h = content_hash(&w.spec);
            mark(&mut Arc::make_mut(w).metadata, h);
        }
        Resource::Workload(Workload::Workflow(w)) => {
            let h = content_hash(&w.spec);
            mark(&mut Arc::make_mut(w).metadata, h);
        }
    }
}

/// The five CustomResourceDefinitions, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        Stack::crd(),
        Depot::crd(),
        Worker::crd(),
        Service::crd(),
        Workflow::crd(),
    ]
}

/// The kinds of workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    /// A long-running program (Deployment).
    Worker,
    /// A long-running program behind a Service.
    Service,
    /// A program that runs to completion (Job, CronJob, DAG).
    Workflow,
}

impl WorkloadKind {
    /// All kinds, in a stable order.
    pub const ALL: [Self; 3] = [Self::Worker, Self::Service, Self::Workflow];

    /// The Kubernetes kind: `Worker`, `Service`, `Workflow`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Worker => "Worker",
            Self::Service => "Service",
            Self::Workflow => "Workflow",
        }
    }

    /// The DataOS type name used in templates and names: `worker`, `service`, `workflow`.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Service => "service",
            Self::Workflow => "workflow",
        }
    }

    /// Parses a kind in any letter case (`Worker`, `worker`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.kind().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

/// Any stackhook resource.
#[derive(Clone, Debug, PartialEq)]
pub enum Resource {
    /// A Stack.
    Stack(Arc<Stack>),
    /// A Depot.
    Depot(Arc<Depot>),
    /// A Worker, Service or Workflow.
    Workload(Workload),
}

impl Resource {
    /// The Kubernetes kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Stack(_) => "Stack",
            Self::Depot(_) => "Depot",
            Self::Workload(w) => w.kind().kind(),
        }
    }

    /// The object's metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Self::Stack(s) => &s.metadata,
            Self::Depot(d) => &d.metadata,
            Self::Workload(w) => w.meta(),
        }
    }

    /// The object as JSON, in CRD form.
    pub fn to_json(&self) -> Value {
        let value = match self {
            Self::Stack(s) => serde_json::to_value(s.as_ref()),
            Self::Depot(d) => serde_json::to_value(d.as_ref()),
            Self::Workload(Workload::Worker(w)) => serde_json::to_value(w.as_ref()),
            Self::Workload(Workload::Service(w)) => serde_json::to_value(w.as_ref()),
            Self::Workload(Workload::Workflow(w)) => serde_json::to_value(w.as_ref()),
        };
        // Serializing plain data structs with string keys cannot fail.
        value.unwrap_or(Value::Null)
    }
}

/// A Worker, Service or Workflow, shared cheaply.
#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// A Worker.
    Worker(Arc<Worker>),
    /// A Service.
    Service(Arc<Service>),
    /// A Workflow.
    Workflow(Arc<Workflow>),
}

impl Workload {
    /// The workload's kind.
    pub fn kind(&self) -> WorkloadKind {
        match self {
            Self::Worker(_) => WorkloadKind::Worker,
            Self::Service(_) => WorkloadKind::Service,
            Self::Workflow(_) => WorkloadKind::Workflow,
        }
    }

    /// What the controller last reported.
    pub fn status(&self) -> Option<&WorkloadStatus> {
        match self {
            Self::Worker(w) => w.status.as_ref(),
            Self::Service(s) => s.status.as_ref(),
            Self::Workflow(w) => w.status.as_ref(),
        }
    }

    /// The workload's metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Self::Worker(w) => w.meta(),
            Self::Service(w) => w.meta(),
            Self::Workflow(w) => w.meta(),
        }
    }

    /// The fields every workload kind has.
    pub fn common(&self) -> &WorkloadCommon {
        match self {
            Self::Worker(w) => &w.spec.common,
            Self::Service(w) => &w.spec.common,
            Self::Workflow(w) => &w.spec.common,
        }
    }

    /// `metadata.name`, or empty.
    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, or empty.
    pub fn namespace(&self) -> &str {
        self.meta().namespace.as_deref().unwrap_or_default()
    }

    /// Every Stack reference the workload makes: its own and those of its DAG steps.
    pub fn stack_references(&self) -> Vec<&str> {
        let mut refs = vec![self.common().stack.as_str()];
        if let Self::Workflow(w) = self {
            for node in &w.spec.dag {
                if let Some(s) = node.stack.as_deref()
                    && !refs.contains(&s)
                {
                    refs.push(s);
                }
            }
        }
        refs
    }
}

/// Why a document is not a usable stackhook resource.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// A stackhook kind under an `apiVersion` this build does not serve.
    #[error("{kind}: unsupported apiVersion {api_version:?} (expected {API_VERSION:?})")]
    WrongApiVersion {
        /// The kind as written.
        kind: String,
        /// The apiVersion as written.
        api_version: String,
    },
    /// `stackhook.io/…` with a kind stackhook does not define.
    #[error(
        "unknown kind {kind:?} in API group stackhook.io (expected Stack, Depot, Worker, Service or Workflow)"
    )]
    UnknownKind {
        /// The kind as written.
        kind: String,
    },
    /// The document is not a map.
    #[error("document is not a map (found {found})")]
    NotAMap {
        /// What was found.
        found: &'static str,
    },
    /// A DataOS-native document that cannot be converted.
    #[error(transparent)]
    Native(#[from] native::NativeError),
    /// A field has the wrong shape.
    #[error("{kind} {name}: {path}: {message}")]
    Field {
        /// The kind.
        kind: &'static str,
        /// `namespace/name` or `name`, as far as known.
        name: String,
        /// The field path, e.g. `spec.secrets[0].acl`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl DocumentError {
    /// The field path the error is about, when there is one.
    pub fn field_path(&self) -> Option<&str> {
        match self {
            Self::Field { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// What a document turned out to be.
#[derive(Debug)]
pub enum Parsed {
    /// A stackhook resource.
    Resource(Box<Resource>),
    /// Something stackhook does not handle (a Deployment, a ConfigMap, …), by kind.
    Skipped {
        /// `apiVersion/kind` as written, or a short description.
        what: String,
    },
}

/// The type name of a JSON value, for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Whether a document is a Kubernetes `List` (`kind: List` or `…List`, with `items`).
pub fn is_list(doc: &Value) -> bool {
    doc.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && doc.get("items").is_some_and(Value::is_array)
}

/// Expands Kubernetes `List` documents into their items, recursively; other documents
/// come back as they are.
pub fn expand_lists(doc: Value) -> Vec<Value> {
    if !is_list(&doc) {
        return vec![doc];
    }
    match doc {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items.into_iter().flat_map(expand_lists).collect(),
            _ => Vec::new(),
        },
        other => vec![other],
    }
}

/// Reads one document (already parsed from YAML or JSON) in either shape.
///
/// A document of a kind stackhook does not handle is `Parsed::Skipped`, never an error.
pub fn parse_document(doc: Value) -> Result<Parsed, DocumentError> {
    if !doc.is_object() {
        return Err(DocumentError::NotAMap {
            found: json_type(&doc),
        });
    }
    let doc = if native::is_native(&doc) {
        native::to_crd(doc)?.value
    } else if let Some(ty) = native::dataos_type(&doc) {
        let converted = native::to_crd(doc)?;
        if let Some(why) = converted.skipped {
            return Ok(Parsed::Skipped {
                what: format!("DataOS {ty} ({why})"),
            });
        }
        converted.value
    } else {
        doc
    };
    let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    if group != GROUP {
        let what = match (api_version, kind) {
            ("", "") => "a document without apiVersion and kind".to_owned(),
            _ => format!("{api_version} {kind}"),
        };
        return Ok(Parsed::Skipped { what });
    }
    if !matches!(kind, "Stack" | "Depot" | "Worker" | "Service" | "Workflow") {
        return Err(DocumentError::UnknownKind { kind: kind.into() });
    }
    if api_version != API_VERSION {
        return Err(DocumentError::WrongApiVersion {
            kind: kind.into(),
            api_version: api_version.into(),
        });
    }
    let name = display_name(&doc);
    let resource = match kind {
        "Stack" => Resource::Stack(Arc::new(typed(doc, "Stack")?)),
        "Depot" => Resource::Depot(Arc::new(typed(doc, "Depot")?)),
        "Worker" => Resource::Workload(Workload::Worker(Arc::new(typed(doc, "Worker")?))),
        "Service" => Resource::Workload(Workload::Service(Arc::new(typed(doc, "Service")?))),
        _ => Resource::Workload(Workload::Workflow(Arc::new(typed(doc, "Workflow")?))),
    };
    check_references(&resource).map_err(|(path, message)| DocumentError::Field {
        kind: resource.kind(),
        name,
        path,
        message,
    })?;
    Ok(Parsed::Resource(Box::new(resource)))
}

/// The references a resource makes that must parse for it to mean anything: Stack
/// references, and env values written as `dataos://` addresses. Returns the field path
/// and the reason.
fn check_references(resource: &Resource) -> Result<(), (String, String)> {
    let env_addresses = |base: &str, env: &std::collections::BTreeMap<String, String>| {
        for (key, value) in env {
            if crate::address::Address::is_address(value) {
                crate::address::Address::parse(value).map_err(|e| {
                    let mut path = base.to_owned();
                    goyaml::push_key(&mut path, key);
                    (path, e.to_string())
                })?;
            }
        }
        Ok(())
    };
    match resource {
        Resource::Stack(s) => env_addresses("spec.environmentVars", &s.spec.environment_vars),
        Resource::Depot(_) => Ok(()),
        Resource::Workload(w) => {
            StackRef::parse(&w.common().stack).map_err(|e| ("spec.stack".into(), e.to_string()))?;
            env_addresses("spec.envs", &w.common().envs)?;
            if let Workload::Workflow(wf) = w {
                for (i, node) in wf.spec.dag.iter().enumerate() {
                    if let Some(stack) = &node.stack {
                        StackRef::parse(stack)
                            .map_err(|e| (format!("spec.dag[{i}].stack"), e.to_string()))?;
                    }
                    env_addresses(&format!("spec.dag[{i}].envs"), &node.envs)?;
                }
            }
            Ok(())
        }
    }
}

/// `namespace/name` or `name` from a raw document, for messages (a DataOS-native
/// document's `workspace/name`).
pub fn display_name(doc: &Value) -> String {
    let meta = doc.get("metadata");
    let native = meta.is_none() && doc.get("apiVersion").is_none();
    let name = meta
        .and_then(|m| m.get("name"))
        .or_else(|| doc.get("name").filter(|_| native))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    match meta
        .and_then(|m| m.get("namespace"))
        .or_else(|| doc.get("workspace").filter(|_| native))
        .and_then(Value::as_str)
    {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

fn typed<T: serde::de::DeserializeOwned>(
    doc: Value,
    kind: &'static str,
) -> Result<T, DocumentError> {
    let name = display_name(&doc);
    let spec = doc.get("spec").cloned();
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let mut path = e.path().to_string();
        let mut message = e.into_inner().to_string();
        // `#[serde(flatten)]` hides where in the common workload fields an error is;
        // reading them alone finds it (on the error path only).
        if path == "spec"
            && matches!(kind, "Worker" | "Service" | "Workflow")
            && let Some(spec) = spec
            && let Err(inner) = serde_path_to_error::deserialize::<_, WorkloadCommon>(spec)
        {
            path = format!("spec.{}", inner.path());
            message = inner.into_inner().to_string();
        }
        DocumentError::Field {
            kind,
            name,
            path: if path == "." {
                "(document)".into()
            } else {
                path
            },
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn worker(extra: Value) -> Value {
        let mut doc = json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": "w", "namespace": "ns"},
            "spec": {"stack": "benthos:3.0"}
        });
        if let (Some(spec), Value::Object(extra)) = (doc["spec"].as_object_mut(), extra) {
            spec.extend(extra);
        }
        doc
    }

    #[test]
    fn parses_a_worker() {
        let Parsed::Resource(r) = parse_document(worker(json!({"replicas": 2}))).unwrap() else {
            panic!("skipped")
        };
        let Resource::Workload(Workload::Worker(w)) = *r else {
            panic!("not a worker")
        };
        assert_eq!(w.spec.replicas, Some(2));
        assert_eq!(w.spec.common.stack, "benthos:3.0");
        assert_eq!(w.spec.common.log_level(), "INFO");
    }

    #[test]
    fn skips_kinds_it_does_not_handle() {
        let p = parse_document(json!({"apiVersion": "apps/v1", "kind": "Deployment"})).unwrap();
        assert!(matches!(p, Parsed::Skipped { what } if what == "apps/v1 Deployment"));
        // A core Service is not a stackhook Service.
        let p = parse_document(json!({"apiVersion": "v1", "kind": "Service"})).unwrap();
        assert!(matches!(p, Parsed::Skipped { .. }));
    }

    #[test]
    fn rejects_a_wrong_api_version() {
        let mut doc = worker(json!({}));
        doc["apiVersion"] = json!("stackhook.io/v2");
        assert_eq!(
            parse_document(doc).unwrap_err().to_string(),
            r#"Worker: unsupported apiVersion "stackhook.io/v2" (expected "stackhook.io/v1alpha1")"#
        );
    }

    #[test]
    fn rejects_an_unknown_stackhook_kind() {
        let e = parse_document(json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Lakehouse"}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"unknown kind "Lakehouse" in API group stackhook.io (expected Stack, Depot, Worker, Service or Workflow)"#
        );
    }

    #[test]
    fn names_the_field_path_of_a_type_error() {
        let e = parse_document(worker(json!({"replicas": "two"}))).unwrap_err();
        assert_eq!(e.field_path(), Some("spec.replicas"));
        assert!(
            e.to_string()
                .starts_with("Worker ns/w: spec.replicas: invalid type: string \"two\""),
            "{e}"
        );
        let e = parse_document(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
            "metadata": {"name": "d"}, "spec": {"type": "S3", "secrets": [{"name": "s", "acl": "x"}]}
        }))
        .unwrap_err();
        assert_eq!(e.field_path(), Some("spec.secrets[0].acl"));
    }

    #[test]
    fn finds_the_field_of_an_error_in_the_common_workload_fields() {
        let e = parse_document(worker(json!({"stack": 7}))).unwrap_err();
        assert_eq!(e.field_path(), Some("spec.stack"));
        let e = parse_document(worker(json!({"envs": {"A": [1]}}))).unwrap_err();
        assert_eq!(e.field_path(), Some("spec.envs"));
    }

    #[test]
    fn reports_a_missing_required_field() {
        let doc = json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": "w"}, "spec": {}});
        let e = parse_document(doc).unwrap_err();
        assert!(e.to_string().contains("missing field `stack`"), "{e}");
    }

    #[test]
    fn rejects_malformed_stack_references_at_their_field() {
        for (bad, message) in [
            (
                "benthos:",
                r#"stack reference "benthos:" has an empty version after ":""#,
            ),
            (
                ":3.0",
                r#"stack reference ":3.0" has no name before ':' (expected name[+flavor][:version])"#,
            ),
            (
                "a+:1",
                r#"stack reference "a+:1" has an empty flavor after "+""#,
            ),
        ] {
            let mut doc = worker(json!({}));
            doc["spec"]["stack"] = json!(bad);
            let e = parse_document(doc).unwrap_err();
            assert_eq!(e.field_path(), Some("spec.stack"));
            assert_eq!(e.to_string(), format!("Worker ns/w: spec.stack: {message}"));
        }
        let doc = json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "wf"},
            "spec": {"stack": "flare:6.0", "dag": [{"name": "a"}, {"name": "b", "stack": "x:"}]}});
        assert_eq!(
            parse_document(doc).unwrap_err().field_path(),
            Some("spec.dag[1].stack")
        );
    }

    #[test]
    fn rejects_malformed_addresses_in_env_values() {
        let e = parse_document(worker(
            json!({"envs": {"TOPIC": "dataos://Bad_Depot:x", "OK": "dataos://a:b"}}),
        ))
        .unwrap_err();
        assert_eq!(e.field_path(), Some("spec.envs.TOPIC"));
        assert!(
            e.to_string()
                .contains(r#"depot "Bad_Depot" has invalid character 'B'"#),
            "{e}"
        );
        let e = parse_document(
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
            "metadata": {"name": "s"},
            "spec": {"name": "s", "version": "1", "environmentVars": {"PULSAR": "dataos://"}}}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"Stack s: spec.environmentVars.PULSAR: address "dataos://" has no depot name after "dataos://""#
        );
    }

    #[test]
    fn rejects_a_scalar_document() {
        assert_eq!(
            parse_document(json!("hello")).unwrap_err().to_string(),
            "document is not a map (found a string)"
        );
    }

    #[test]
    fn expands_nested_lists() {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"kind": "A"},
            {"apiVersion": "v1", "kind": "ConfigMapList", "items": [{"kind": "B"}, {"kind": "C"}]}
        ]});
        let kinds: Vec<_> = expand_lists(list)
            .into_iter()
            .map(|d| d["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, ["A", "B", "C"]);
    }

    #[test]
    fn generates_five_crds_with_descriptions() {
        let crds = crds();
        let names: Vec<_> = crds
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "stacks.stackhook.io",
                "depots.stackhook.io",
                "workers.stackhook.io",
                "services.stackhook.io",
                "workflows.stackhook.io"
            ]
        );
        assert_eq!(crds[0].spec.scope, "Cluster");
        assert!(crds[1..].iter().all(|c| c.spec.scope == "Namespaced"));
        let worker = serde_json::to_value(&crds[2]).unwrap();
        let spec =
            &worker["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert!(
            spec["properties"]["stack"]["description"]
                .as_str()
                .unwrap()
                .contains("name[+flavor]:version")
        );
        assert!(worker["spec"]["versions"][0]["subresources"]["status"].is_object());
        assert_eq!(worker["spec"]["names"]["shortNames"], json!(["wk"]));
    }

    /// Walks a CRD schema and collects violations of the API server's structural-schema
    /// rules that kube-derive could produce, and fields without a description.
    fn check_schema(path: &str, node: &Value, problems: &mut Vec<String>) {
        let preserve = node.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
        let int_or_string = node.get("x-kubernetes-int-or-string") == Some(&json!(true));
        if node.get("type").is_none() && !preserve && !int_or_string {
            problems.push(format!("{path}: no type"));
        }
        for banned in ["$ref", "definitions", "$defs", "oneOf"] {
            if node.get(banned).is_some() {
                problems.push(format!("{path}: has {banned}"));
            }
        }
        if let Some(any_of) = node.get("anyOf").and_then(Value::as_array)
            && (!int_or_string || any_of.iter().any(|b| b.get("description").is_some()))
        {
            problems.push(format!("{path}: anyOf outside int-or-string"));
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                let child = format!("{path}.{k}");
                if v.get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    problems.push(format!("{child}: no description"));
                }
                check_schema(&child, v, problems);
            }
        }
        if let Some(items) = node.get("items") {
            check_schema(&format!("{path}[]"), items, problems);
        }
        if let Some(add) = node.get("additionalProperties").filter(|a| a.is_object()) {
            check_schema(&format!("{path}{{}}"), add, problems);
        }
    }

    #[test]
    fn crd_schemas_are_structural_and_every_field_is_described() {
        let mut problems = Vec::new();
        for crd in crds() {
            let crd = serde_json::to_value(&crd).unwrap();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
            let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
            for part in ["spec", "status"] {
                if let Some(node) = root["properties"].get(part) {
                    check_schema(&format!("{kind}.{part}"), node, &mut problems);
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
