//! The workloads: Worker, Service and Workflow, DataOS orchestrators as CRDs. Each names
//! a Stack and carries a `stackSpec` that the Stack's schema validates.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSecurityContext, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::serde_helpers::{StackSpecValue, deserialize_scalar_map};

/// The fields every workload kind has.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadCommon {
    /// The Stack to run: `name[+flavor]:version` (`benthos:3.0`). Without a version the
    /// highest is used, with a warning.
    pub stack: String,
    /// The Stack-specific configuration, validated against the Stack's
    /// `stackSpecValueSchema` and given to its templates as `.ApplicationSpec.StackSpec`.
    #[serde(default, skip_serializing_if = "StackSpecValue::is_empty")]
    pub stack_spec: StackSpecValue,
    /// Log level for the program (`LOG_LEVEL`, `.ApplicationSpec.LogLevel`); default INFO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Extra environment variables for the program; they win over the Stack's.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "deserialize_scalar_map"
    )]
    pub envs: BTreeMap<String, String>,
    /// Extra files for the workload's ConfigMap (`filename: content`), next to the ones
    /// the Stack's `configFileTemplate` renders.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "deserialize_scalar_map"
    )]
    pub configs: BTreeMap<String, String>,
    /// CPU and memory requests and limits for the program's container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// The DataOS compute profile name; kept for compatibility, not interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    /// The ServiceAccount the pods run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The image pull policy of the program's container (Always, IfNotPresent, Never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Node labels the pods must be scheduled on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Labels added to the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The pods' security context (DataOS's numeric `runAsUser` becomes its
    /// `runAsUser`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    /// A PersistentVolumeClaim mounted into the program (`.ApplicationSpec.PersistentVolume`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume: Option<PersistentVolumeSpec>,
    /// The PersistentVolumeClaim holding the program's scratch space, mounted at
    /// `/var/dataos/temp_data` (`.ApplicationSpec.TempVolume`, `.DataTempMountPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_volume: Option<String>,
    /// Secrets of the workload's namespace whose keys become the program's environment
    /// (DataOS instance-secrets, `.EnvironmentVarsFromSecret`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataos_secrets: Vec<DataosSecretRef>,
}

/// A Secret whose keys the program reads as environment variables, as DataOS's
/// `dataosSecrets` names an instance-secret. The Secret must be in the workload's
/// namespace (a pod reads no other).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataosSecretRef {
    /// The Secret's name.
    pub name: String,
    /// The Secret's namespace: the workload's (the only one allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Every key (the default when `keys` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_keys: Option<bool>,
    /// Only these keys, each an environment variable of its name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// How the program reads it: `envVars` (the only way stackhook offers; files come
    /// from Depots' secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumption_type: Option<String>,
}

impl DataosSecretRef {
    /// Whether every key is read (`envFrom`) rather than the listed ones.
    pub fn every_key(&self) -> bool {
        self.all_keys.unwrap_or(false) || self.keys.is_empty()
    }
}

/// A PersistentVolumeClaim mounted into the program, as DataOS's `persistentVolume`:
/// `directory` of the volume appears at `/var/dataos/persistent_data/<directory>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeSpec {
    /// The PersistentVolumeClaim's name (in DataOS, the Volume resource's name).
    pub name: String,
    /// The directory of the volume to mount; the whole volume when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// Mount it read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The path inside the volume to mount (defaults to `directory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

/// Scale with load: a HorizontalPodAutoscaler for the workload's Deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingSpec {
    /// Whether to scale (default true when the section is there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The fewest pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// The most pods; required when scaling is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// Average memory use, in percent of the request, to scale at.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "targetMemoryUtilizationPercentage"
    )]
    pub target_memory_utilization_percentage: Option<i32>,
    /// Average CPU use, in percent of the request, to scale at (80 when no target is
    /// given).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "targetCPUUtilizationPercentage"
    )]
    pub target_cpu_utilization_percentage: Option<i32>,
}

impl AutoScalingSpec {
    /// Whether an autoscaler is wanted.
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

/// Across what replicas are spread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HighAvailabilityLevel {
    /// Nodes (`kubernetes.io/hostname`).
    #[default]
    Hostname,
    /// Zones (`topology.kubernetes.io/zone`).
    Zone,
    /// Regions (`topology.kubernetes.io/region`).
    Region,
}

impl HighAvailabilityLevel {
    /// The node label that names a node's host, zone or region.
    pub fn topology_key(self) -> &'static str {
        match self {
            Self::Hostname => "kubernetes.io/hostname",
            Self::Zone => "topology.kubernetes.io/zone",
            Self::Region => "topology.kubernetes.io/region",
        }
    }
}

/// How strictly replicas are spread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HighAvailabilityMode {
    /// Spread when the scheduler can (preferred pod anti-affinity).
    #[default]
    Preferred,
    /// Never two replicas in one host, zone or region (required pod anti-affinity).
    Required,
}

/// Spread replicas apart and keep one up through voluntary disruptions: pod
/// anti-affinity at `level` and a PodDisruptionBudget of one unavailable pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HighAvailabilitySpec {
    /// hostname (default), zone or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<HighAvailabilityLevel>,
    /// preferred (default) or required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<HighAvailabilityMode>,
}

/// Which failures a step's Job retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RetryStrategy {
    /// Every failure.
    Always,
    /// A failed program container (the default).
    OnFailure,
    /// Errors, failed init containers included.
    OnError,
    /// Transient errors; a Job cannot tell them apart, so it retries any failure.
    OnTransientError,
}

/// How often a Workflow's Job is retried: its `backoffLimit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetrySpec {
    /// Retries after the first failure (the Job's `backoffLimit`; default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// Which failures to retry; Kubernetes Jobs retry every failure of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RetryStrategy>,
}

impl WorkloadCommon {
    /// The log level, defaulting to `INFO`.
    pub fn log_level(&self) -> &str {
        self.log_level.as_deref().unwrap_or("INFO")
    }
}

/// What stackhook observed and did for a workload.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    /// Pending, Running, Succeeded, Failed, or Invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Validated, ConfigRendered and Ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The current Stamp: `-` and 4 base36 characters, derived from the workload, its
    /// Stack and its Depots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<String>,
    /// The name of the rendered ConfigMap (`<name>-<type><stamp>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_name: Option<String>,
}

/// A Worker: a long-running program without a Service (a Deployment).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "stackhook.io",
    derive = "PartialEq",
    version = "v1alpha1",
    kind = "Worker",
    plural = "workers",
    shortname = "wk",
    category = "stackhook",
    namespaced,
    status = "WorkloadStatus",
    doc = "A Worker: a long-running program built from a Stack (a Deployment without a Service).",
    printcolumn = r#"{"name":"Stack","type":"string","jsonPath":".spec.stack"}"#,
    printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Stamp","type":"string","priority":1,"jsonPath":".status.stamp"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WorkerSpec {
    /// The fields every workload has.
    #[serde(flatten)]
    pub common: WorkloadCommon,
    /// How many pods to run (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Scale with load (a HorizontalPodAutoscaler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<AutoScalingSpec>,
    /// Spread replicas apart (anti-affinity, PodDisruptionBudget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_availability_config: Option<HighAvailabilitySpec>,
}

/// A port a Service exposes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicePortSpec {
    /// The port's name (an IANA service name, e.g. `http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The port the Kubernetes Service listens on.
    pub service_port: i32,
    /// The container port; defaults to `servicePort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<i32>,
}

/// How a Service is exposed outside the cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// Create an Ingress (host `<name>.<namespace>.<domain-suffix>`).
    #[serde(default)]
    pub enabled: bool,
    /// The URL path prefix, e.g. `/app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Remove the path prefix before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_path: Option<bool>,
    /// Serve without authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_authentication: Option<bool>,
}

/// A Service: a long-running program behind a Kubernetes Service.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "stackhook.io",
    derive = "PartialEq",
    version = "v1alpha1",
    kind = "Service",
    plural = "services",
    shortname = "ssvc",
    category = "stackhook",
    namespaced,
    status = "WorkloadStatus",
    doc = "A Service: a long-running program built from a Stack, behind a Kubernetes Service and optionally an Ingress.",
    printcolumn = r#"{"name":"Stack","type":"string","jsonPath":".spec.stack"}"#,
    printcolumn = r#"{"name":"Port","type":"integer","jsonPath":".spec.servicePort"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Stamp","type":"string","priority":1,"jsonPath":".status.stamp"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// The fields every workload has.
    #[serde(flatten)]
    pub common: WorkloadCommon,
    /// How many pods to run (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The single port to expose (the Stack's `ports` are used when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<i32>,
    /// Several ports to expose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_ports: Vec<ServicePortSpec>,
    /// Exposure outside the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
    /// Scale with load (a HorizontalPodAutoscaler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<AutoScalingSpec>,
    /// Spread replicas apart (anti-affinity, PodDisruptionBudget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_availability_config: Option<HighAvailabilitySpec>,
}

/// When a Workflow runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    /// A cron expression (`0 5 * * *`); with it the Workflow becomes a CronJob (with a
    /// `dag`: one CronJob per step that depends on none, its dependents started by the
    /// controller as each run's steps succeed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Allow, Forbid or Replace overlapping runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<String>,
    /// The time zone of `cron` (an IANA name such as `Europe/Paris`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// An RFC 3339 time (`2024-11-01T23:40:45Z`) after which no run starts: the
    /// controller then suspends the CronJobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_on: Option<String>,
}

/// A step of a Workflow's DAG. Fields left out are taken from the Workflow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagNode {
    /// The step's name, unique in the Workflow (its Job is `<workflow>-<name>`).
    pub name: String,
    /// A human-readable title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The steps that must succeed before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// The Stack for this step; defaults to the Workflow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// The step's `stackSpec`; defaults to the Workflow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_spec: Option<StackSpecValue>,
    /// The step's log level; defaults to the Workflow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Extra environment variables for this step, on top of the Workflow's.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "deserialize_scalar_map"
    )]
    pub envs: BTreeMap<String, String>,
    /// Resources for this step; defaults to the Workflow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// The DataOS compute profile name; kept for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    /// How often the step's Job is retried; defaults to the Workflow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// A PersistentVolumeClaim for this step; defaults to the Workflow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume: Option<PersistentVolumeSpec>,
    /// The scratch-space claim for this step; defaults to the Workflow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_volume: Option<String>,
    /// Secrets read as environment variables by this step, besides the Workflow's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataos_secrets: Vec<DataosSecretRef>,
}

/// A Workflow: a program that runs to completion (a Job, a CronJob, or a DAG of Jobs).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "stackhook.io",
    derive = "PartialEq",
    version = "v1alpha1",
    kind = "Workflow",
    plural = "workflows",
    shortname = "swf",
    category = "stackhook",
    namespaced,
    status = "WorkloadStatus",
    doc = "A Workflow: a program built from a Stack that runs to completion, once, on a schedule, or as a DAG of steps.",
    printcolumn = r#"{"name":"Stack","type":"string","jsonPath":".spec.stack"}"#,
    printcolumn = r#"{"name":"Schedule","type":"string","jsonPath":".spec.schedule.cron"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Stamp","type":"string","priority":1,"jsonPath":".status.stamp"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSpec {
    /// The fields every workload has (the defaults of every DAG step).
    #[serde(flatten)]
    pub common: WorkloadCommon,
    /// Run on a schedule (a CronJob) instead of once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    /// Steps run in dependency order; empty means one step, the Workflow itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dag: Vec<DagNode>,
    /// How often the Job is retried (the default of every step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
}
