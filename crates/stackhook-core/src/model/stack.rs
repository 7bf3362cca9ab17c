//! The Stack: a cluster-scoped CRD that mirrors the DataOS `stack:` section field for
//! field, so a DataOS Stack manifest converts without loss.

use std::collections::BTreeMap;
use std::fmt;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::serde_helpers::{deserialize_scalar_map, deserialize_scalar_string};
use super::stack_ref::StackRef;

/// A Stack: the image, the JSON Schema for users' `stackSpec`, and the Go templates that
/// turn a workload's spec into config files and pod pieces.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "stackhook.io",
    derive = "PartialEq",
    version = "v1alpha1",
    kind = "Stack",
    plural = "stacks",
    shortname = "stk",
    category = "stackhook",
    doc = "A Stack: a program image plus the schema and templates that configure it for Workers, Services and Workflows.",
    printcolumn = r#"{"name":"Stack","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Flavor","type":"string","jsonPath":".spec.flavor"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Image","type":"string","priority":1,"jsonPath":".spec.image.image"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct StackSpec {
    /// The Stack's name, as workloads reference it (`stack: <name>[+flavor]:<version>`).
    pub name: String,
    /// An optional flavor, for Stacks that come in variants of one program
    /// (`pulsar-function+icebase-sink:3.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    /// The Stack's version (`"3.0"`). Workloads pin it; a reference without a version
    /// means the highest version and earns a warning. Numbers are read as text.
    #[serde(deserialize_with = "deserialize_scalar_string")]
    pub version: String,
    /// Which DataOS reconciler manages the Stack: `StackManager` or `LegacyStackManager`
    /// (any letter case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciler: Option<Reconciler>,
    /// jq filters run over a workload's `stackSpec` to find the `dataos://` addresses it
    /// uses. Each entry is a filter string (`.inputs[]`, read access) or an object
    /// `{filter: ".outputs[]", acl: rw}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_os_address_jq_filters: Vec<AddressFilter>,
    /// ServiceAccounts (of the workload's namespace) that workloads of this Stack may
    /// run as, besides `default` and those the namespace's `stackhook-config` allows
    /// (`allowedServiceAccounts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_service_accounts: Vec<String>,
    /// `Enforce` (default), `Warn` or `Audit`: what admission does with a workload
    /// that does not conform to this Stack (see the type's description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<Enforcement>,
    /// How depot secrets reach the program: `propFile` (Java properties files written
    /// by an init container, the default) or `envVars` (environment variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_projection: Option<SecretProjection>,
    /// The program's container image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<StackImage>,
    /// The container's command (entrypoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The container's arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// Environment variables every workload of this Stack gets. Values are text;
    /// numbers and booleans are read as text.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "deserialize_scalar_map"
    )]
    pub environment_vars: BTreeMap<String, String>,
    /// The port the program serves on, for Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<StackPorts>,
    /// The JSON Schema that every workload's `stackSpec` must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_spec_value_schema: Option<StackSpecValueSchema>,
    /// Templates for Workflows (Jobs and CronJobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_job_config: Option<WorkflowJobConfig>,
    /// Templates for Workers (Deployments without a Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_config: Option<WorkerConfig>,
    /// Templates for Services (Deployments with a Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_config: Option<ServiceConfig>,
}

impl StackSpec {
    /// The reference that names exactly this Stack (`name[+flavor]:version`).
    pub fn reference(&self) -> StackRef {
        StackRef {
            name: self.name.clone(),
            flavor: self.flavor.clone(),
            version: Some(self.version.clone()),
        }
    }

    /// The secret projection type, defaulting to `propFile`.
    pub fn projection_type(&self) -> ProjectionType {
        self.secret_projection
            .as_ref()
            .and_then(|p| p.r#type)
            .unwrap_or_default()
    }

    /// The workload kinds this Stack has a config section for.
    pub fn served_kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.worker_config.is_some() {
            kinds.push("Worker");
        }
        if self.service_config.is_some() {
            kinds.push("Service");
        }
        if self.workflow_job_config.is_some() {
            kinds.push("Workflow");
        }
        kinds
    }
}

/// What admission does with a workload that does not conform to its Stack (its
/// `stackSpec` fails the schema; an address does not parse, or names a Depot that is
/// missing or grants no secret for the access). `Enforce` (the default) denies it.
/// `Warn` admits it and returns each violation as a warning, which kubectl prints.
/// `Audit` admits it silently; the controller records the violations on the
/// workload's `Validated` condition, as an Event and in the metric
/// `stackhook_workload_violations`. A namespace's `stackhook-config` (`enforcement`)
/// overrides it. What would make the workload's objects or pods impossible (no such
/// Stack, a template that fails, a name the API server refuses, a ServiceAccount not
/// granted) is denied in every mode.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum Enforcement {
    /// Violations are recorded by the controller only (status condition, Event,
    /// metric); admission is silent.
    Audit,
    /// Violations are admission warnings (kubectl prints them) and are recorded as in
    /// `Audit`.
    Warn,
    /// Violations deny the workload.
    #[default]
    Enforce,
}

impl Enforcement {
    /// The mode's name, as written in a Stack or `stackhook-config`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audit => "Audit",
            Self::Warn => "Warn",
            Self::Enforce => "Enforce",
        }
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which DataOS reconciler manages a Stack. Read in any letter case (`stackManager`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Reconciler {
    /// The current reconciler.
    StackManager,
    /// The previous reconciler.
    LegacyStackManager,
}

impl Reconciler {
    /// Parses a reconciler name in any letter case.
    pub fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("StackManager") {
            Some(Self::StackManager)
        } else if text.eq_ignore_ascii_case("LegacyStackManager") {
            Some(Self::LegacyStackManager)
        } else {
            None
        }
    }
}

impl<'de> Deserialize<'de> for Reconciler {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown reconciler {text:?}, expected StackManager or LegacyStackManager (any case)"
            ))
        })
    }
}

impl JsonSchema for Reconciler {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Reconciler".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // A plain string, not an enum: the API server must accept `stackManager` too;
        // stackhook checks the value case-insensitively.
        schemars::json_schema!({
            "type": "string",
            "description": "StackManager or LegacyStackManager, in any letter case."
        })
    }
}

/// The access a workload needs to a depot.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum Acl {
    /// Read access.
    #[default]
    #[serde(rename = "r")]
    Read,
    /// Read and write access.
    #[serde(rename = "rw")]
    ReadWrite,
}

impl Acl {
    /// The ACL as written in manifests and directory names: `r` or `rw`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "r",
            Self::ReadWrite => "rw",
        }
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A jq filter that selects `dataos://` addresses from a workload's `stackSpec`, and the
/// access those addresses need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AddressFilter {
    /// A filter string; its addresses need read access.
    Filter(String),
    /// A filter with an explicit ACL.
    WithAcl {
        /// The jq filter, e.g. `.outputs[]`.
        filter: String,
        /// The access the selected addresses need.
        acl: Acl,
    },
}

impl AddressFilter {
    /// The jq filter text.
    pub fn filter(&self) -> &str {
        match self {
            Self::Filter(f) | Self::WithAcl { filter: f, .. } => f,
        }
    }

    /// The ACL the selected addresses need (`r` for plain strings).
    pub fn acl(&self) -> Acl {
        match self {
            Self::Filter(_) => Acl::Read,
            Self::WithAcl { acl, .. } => *acl,
        }
    }
}

impl<'de> Deserialize<'de> for AddressFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithAcl {
            filter: String,
            #[serde(default)]
            acl: Acl,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Filter(String),
            WithAcl(WithAcl),
        }
        // An untagged enum's own error ("did not match any variant") says nothing useful.
        let value = serde_json::Value::deserialize(d)?;
        match serde_json::from_value::<Either>(value) {
            Ok(Either::Filter(f)) => Ok(Self::Filter(f)),
            Ok(Either::WithAcl(w)) => Ok(Self::WithAcl {
                filter: w.filter,
                acl: w.acl,
            }),
            Err(_) => Err(serde::de::Error::custom(
                "an address filter is a jq filter string or {filter: <jq>, acl: r|rw}",
            )),
        }
    }
}

impl JsonSchema for AddressFilter {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AddressFilter".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // String or object: a structural schema can only say "any" and describe it.
        schemars::json_schema!({
            "description": "A jq filter string (read access), or {filter: <jq>, acl: r|rw}.",
            "x-kubernetes-preserve-unknown-fields": true
        })
    }
}

/// How depot secrets are given to the program.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretProjection {
    /// `propFile` (default) or `envVars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<ProjectionType>,
}

/// The projection of depot secrets into a workload's pods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProjectionType {
    /// Java `.properties` files written by the `stackhook-project` init container.
    #[default]
    #[serde(rename = "propFile")]
    PropFile,
    /// Environment variables (`envFrom` with a `<DEPOT>_` prefix).
    #[serde(rename = "envVars")]
    EnvVars,
}

/// The program's container image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackImage {
    /// The registry host, e.g. `docker.io`.
    #[serde(default)]
    pub registry: String,
    /// The repository (organisation) in the registry, e.g. `rubiklabs`.
    #[serde(default)]
    pub repository: String,
    /// The image name, e.g. `benthos-ds`.
    #[serde(default)]
    pub image: String,
    /// The image tag, e.g. `0.8.15-dev`. Numbers are read as text.
    #[serde(default, deserialize_with = "deserialize_scalar_string")]
    pub tag: String,
    /// Credentials for pulling the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ImageAuth>,
}

impl StackImage {
    /// The full image reference `registry/repository/image:tag`, skipping empty parts.
    pub fn reference(&self) -> String {
        let path: Vec<&str> = [&self.registry, &self.repository, &self.image]
            .into_iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let mut out = path.join("/");
        if !self.tag.is_empty() {
            out.push(':');
            out.push_str(&self.tag);
        }
        out
    }

    /// The names of the fields that are empty (all four are required).
    pub fn missing_fields(&self) -> Vec<&'static str> {
        [
            ("registry", &self.registry),
            ("repository", &self.repository),
            ("image", &self.image),
            ("tag", &self.tag),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k)
        .collect()
    }
}

/// Image pull credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageAuth {
    /// The name of a `kubernetes.io/dockerconfigjson` Secret in the workload's namespace.
    pub image_pull_secret: String,
}

/// The port a Stack's program serves on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackPorts {
    /// The port's name (an IANA service name, e.g. `http`).
    #[serde(default)]
    pub name: String,
    /// The port the Kubernetes Service listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<i32>,
    /// The container port traffic is sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<i32>,
}

/// The schema for workloads' `stackSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StackSpecValueSchema {
    /// A JSON Schema, held as a JSON string. `$schema` picks the draft (4, 6, 7,
    /// 2019-09, 2020-12); unknown or missing means draft-07, with a warning.
    pub json_schema: String,
}

/// Templates for Workflows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowJobConfig {
    /// A Go template rendering a YAML map `filename: content`: the files of the
    /// workload's ConfigMap, mounted at `/etc/dataos/config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file_template: Option<String>,
    /// A Go template rendering `{initContainers: [...], container: {...}}`, which
    /// replaces the default container shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_resource_template: Option<String>,
    /// Deprecated spelling of `containerResourceTemplate` (from the DataOS docs); read,
    /// with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conatiner_resource_template: Option<String>,
    /// A custom resource to create instead of a Job, and how to read its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_template_config: Option<ResourceTemplateConfig>,
}

/// A custom resource template and the conditions that decide the workload's phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplateConfig {
    /// A Go template rendering any Kubernetes object (a SparkApplication, say).
    pub resource_template: String,
    /// When the object has succeeded, e.g. `status.applicationState.state == COMPLETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_condition: Option<String>,
    /// When the object has failed, e.g. `status.applicationState.state in (FAILED, UNKNOWN)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_condition: Option<String>,
}

/// Templates for Workers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerConfig {
    /// A Go template rendering a YAML map `filename: content` (the workload's ConfigMap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file_template: Option<String>,
    /// A Go template rendering `{initContainers: [...], container: {...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_resource_template: Option<String>,
    /// Deprecated spelling of `containerResourceTemplate`; read, with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conatiner_resource_template: Option<String>,
    /// A Go template rendering any Kubernetes object to create instead of a Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_template: Option<String>,
}

/// Templates for Services.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConfig {
    /// A Go template rendering a YAML map `filename: content` (the workload's ConfigMap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file_template: Option<String>,
    /// A Go template rendering `{initContainers: [...], container: {...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_resource_template: Option<String>,
    /// Deprecated spelling of `containerResourceTemplate`; read, with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conatiner_resource_template: Option<String>,
}

/// What the three config sections have in common, so callers need not match on kind.
pub trait OrchestratorConfig {
    /// The `configFileTemplate`, if any.
    fn config_file_template(&self) -> Option<&str>;
    /// The container resource template under either spelling (the correct one wins).
    fn container_resource_template(&self) -> Option<&str>;
    /// Whether the template was given only under the misspelled key
    /// `conatinerResourceTemplate`.
    fn uses_misspelled_container_template(&self) -> bool;
}

macro_rules! orchestrator_config {
    ($ty:ty) => {
        impl OrchestratorConfig for $ty {
            fn config_file_template(&self) -> Option<&str> {
                self.config_file_template.as_deref()
            }
            fn container_resource_template(&self) -> Option<&str> {
                self.container_resource_template
                    .as_deref()
                    .or(self.conatiner_resource_template.as_deref())
            }
            fn uses_misspelled_container_template(&self) -> bool {
                self.conatiner_resource_template.is_some()
            }
        }
    };
}
orchestrator_config!(WorkflowJobConfig);
orchestrator_config!(WorkerConfig);
orchestrator_config!(ServiceConfig);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_reconciler_in_any_case() {
        for text in ["stackManager", "StackManager", "STACKMANAGER"] {
            let r: Reconciler = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(r, Reconciler::StackManager);
        }
        let r: Reconciler = serde_json::from_value(json!("legacystackmanager")).unwrap();
        assert_eq!(r, Reconciler::LegacyStackManager);
        let e = serde_json::from_value::<Reconciler>(json!("poros")).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"unknown reconciler "poros", expected StackManager or LegacyStackManager (any case)"#
        );
    }

    #[test]
    fn reads_address_filter_as_string_or_object() {
        let f: Vec<AddressFilter> = serde_json::from_value(
            json!([".inputs[]", {"filter": ".outputs[]", "acl": "rw"}, {"filter": ".x"}]),
        )
        .unwrap();
        assert_eq!(f[0].filter(), ".inputs[]");
        assert_eq!(f[0].acl(), Acl::Read);
        assert_eq!(f[1].filter(), ".outputs[]");
        assert_eq!(f[1].acl(), Acl::ReadWrite);
        assert_eq!(f[2].acl(), Acl::Read);
        let e = serde_json::from_value::<AddressFilter>(json!({"filter": ".x", "acl": "w"}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "an address filter is a jq filter string or {filter: <jq>, acl: r|rw}"
        );
    }

    #[test]
    fn reads_both_spellings_of_container_resource_template_and_remembers_the_wrong_one() {
        let c: WorkerConfig =
            serde_json::from_value(json!({"conatinerResourceTemplate": "x"})).unwrap();
        assert_eq!(c.container_resource_template(), Some("x"));
        assert!(c.uses_misspelled_container_template());
        let c: WorkerConfig =
            serde_json::from_value(json!({"containerResourceTemplate": "y"})).unwrap();
        assert_eq!(c.container_resource_template(), Some("y"));
        assert!(!c.uses_misspelled_container_template());
    }

    #[test]
    fn reads_numeric_versions_and_env_values_as_text() {
        let s: StackSpec = serde_json::from_value(json!({
            "name": "mystack", "version": 2.0,
            "environmentVars": {"A": 1, "B": true, "C": "x"},
            "image": {"registry": "r", "repository": "p", "image": "i", "tag": 7}
        }))
        .unwrap();
        assert_eq!(s.version, "2.0");
        assert_eq!(s.environment_vars["A"], "1");
        assert_eq!(s.environment_vars["B"], "true");
        assert_eq!(s.image.unwrap().reference(), "r/p/i:7");
    }

    #[test]
    fn image_reports_missing_fields() {
        let i = StackImage {
            registry: "docker.io".into(),
            ..Default::default()
        };
        assert_eq!(i.missing_fields(), vec!["repository", "image", "tag"]);
    }
}
