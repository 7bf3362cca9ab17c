//! What stackhook makes of one workload, from a catalog, with the functions the webhook
//! and the controller call: admission's verdict, the objects the controller applies
//! (the ConfigMap of rendered files first) with their Stamps, and the JSON patch the
//! webhook gives one of its Pods. `stackhook test` checks these against a suite's
//! expectations; `stackhook diff` compares them before and after a change.

use base64::Engine as _;
use serde_json::{Value, json};
use stackhook_core::admit::{Operation, Verdict};
use stackhook_core::engine::Engine;
use stackhook_core::model::{Resource, Workload};
use stackhook_core::orchestrate::{self, OrchestrateSettings};
use stackhook_core::resolve;

use super::engine::Loaded;

/// What admission and the controller make of a workload.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The verdict at admission (CREATE).
    pub verdict: Verdict,
    /// The objects the controller applies, or why it applies none (the problems
    /// admission denies the workload for, or a render failure).
    pub objects: Result<Vec<Value>, String>,
    /// The Stamp of each unit (one, or one per DAG step), `-` and 4 characters; none
    /// when the Stack does not resolve.
    pub stamps: Vec<String>,
}

/// The defaults `stackhook render` uses: Ingress hosts under `example.com`, any
/// `resourceTemplate` kind.
pub fn render_defaults() -> OrchestrateSettings {
    OrchestrateSettings {
        ingress_domain_suffix: "example.com".into(),
        resource_kinds: None,
    }
}

/// The outcome of `workload` against the catalog behind `engine`.
pub fn outcome(
    engine: &Engine<'_>,
    workload: &Workload,
    defaults: &OrchestrateSettings,
) -> Outcome {
    let verdict = engine.resource(&Resource::Workload(workload.clone()), Operation::Create);
    let objects = orchestrate::desired(engine, workload, defaults, &orchestrate::Dag::All)
        .map_err(|e| e.to_string());
    let stamps = resolve::resolve(engine, workload)
        .units
        .iter()
        .map(|u| u.stamp.clone())
        .collect();
    Outcome {
        verdict,
        objects,
        stamps,
    }
}

/// The rendered files of the ConfigMaps among `objects`: `(ConfigMap name, file name,
/// content)`, in order.
pub fn rendered_files(objects: &[Value]) -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    for o in objects.iter().filter(|o| o["kind"] == "ConfigMap") {
        let cm = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(data) = o.get("data").and_then(Value::as_object) {
            for (name, content) in data {
                files.push((
                    cm.to_owned(),
                    name.clone(),
                    content.as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    files
}

/// The Pod of the first object among `objects` that has a pod template (a
/// Deployment, Job or CronJob): what the webhook sees when the controller's object
/// makes its Pods.
pub fn pod_of_objects(objects: &[Value], namespace: &str) -> Option<Value> {
    objects
        .iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob")
            )
        })
        .find_map(|o| super::mutate::pod_of(o, namespace).ok())
}

/// The RFC 6902 patch the webhook answers a CREATE of `pod` with (empty when it
/// changes nothing), or why it denies the Pod.
pub fn pod_patch(engine: &Loaded, pod: &Value) -> Result<Value, String> {
    let namespace = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "stackhook-test", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "operation": "CREATE", "namespace": namespace, "object": pod}
    });
    let body = serde_json::to_vec(&review).map_err(|e| e.to_string())?;
    let (response, summary) = engine.reviewer().review(&body).map_err(|e| e.to_string())?;
    let response: Value = serde_json::from_slice(&response).map_err(|e| e.to_string())?;
    if !summary.allowed {
        let message = response
            .pointer("/response/status/message")
            .and_then(Value::as_str)
            .unwrap_or("denied");
        return Err(format!("the Pod is denied: {message}"));
    }
    match response.pointer("/response/patch").and_then(Value::as_str) {
        Some(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("the webhook's patch is not base64: {e}"))?;
            serde_json::from_slice(&bytes).map_err(|e| format!("the webhook's patch: {e}"))
        }
        None => Ok(json!([])),
    }
}
