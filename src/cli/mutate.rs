//! `stackhook mutate`: what a Pod becomes at admission. Takes a Pod, or a Deployment,
//! StatefulSet, DaemonSet, ReplicaSet, Job or CronJob (as `kubectl create …
//! --dry-run=client -o yaml` writes them), runs its pod (template) through the
//! webhook's review, and prints the object given with its pod mutated, as YAML (as
//! `istioctl kube-inject` does), or `--patch` the JSON patch relative to that object
//! (under `/spec/template` or `/spec/jobTemplate/spec/template`), so that it applies to
//! the file given. The review's warnings go to standard error.

use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use clap::Args;

use super::engine::CatalogArgs;
use serde_json::{Value, json};

use super::EXIT_UNUSABLE;
use super::engine::Loaded;
use super::review::read_input;
use crate::output;

#[derive(Debug, Args)]
pub struct MutateArgs {
    /// The Pod (YAML or JSON); `-` or nothing reads stdin.
    #[arg(value_name = "POD")]
    file: Option<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Print the RFC 6902 patch instead of the mutated object; its paths are relative
    /// to the object given (a Deployment's are under `/spec/template`).
    #[arg(long)]
    patch: bool,
    /// The namespace, when the object does not say.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
}

/// Where the pod template of a `kind` is (`""` for a Pod, which is its own), or `None`
/// for a kind without one.
pub(crate) fn template_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => Some("/spec/template"),
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// A Pod's patch, moved under the pod template of `object` (at `pointer`): every path
/// prefixed, after operations that create the template's `metadata` and `spec` when it
/// lacks them (the Pod the patch was made for had them, empty).
pub(crate) fn relative_patch(object: &Value, pointer: &str, ops: Value) -> Value {
    let Value::Array(ops) = ops else {
        return ops;
    };
    if pointer.is_empty() {
        return Value::Array(ops);
    }
    let mut out = Vec::with_capacity(ops.len() + 2);
    for part in ["metadata", "spec"] {
        if object.pointer(&format!("{pointer}/{part}")).is_none() {
            out.push(json!({"op": "add", "path": format!("{pointer}/{part}"), "value": {}}));
        }
    }
    out.extend(ops.into_iter().map(|mut op| {
        if let Some(path) = op.get("path").and_then(Value::as_str) {
            op["path"] = json!(format!("{pointer}{path}"));
        }
        op
    }));
    Value::Array(out)
}

/// The pod an object describes: itself, or its controller's pod template.
pub(crate) fn pod_of(object: &Value, namespace: &str) -> Result<Value, String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let template = match template_pointer(kind) {
        Some("") => return Ok(object.clone()),
        Some(pointer) => object.pointer(pointer),
        None if kind.is_empty() => {
            return Err("the input has no kind; give a Pod or a workload controller".into());
        }
        None => {
            return Err(format!(
                "a {kind} has no pod; give a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob"
            ));
        }
    };
    let template = template.ok_or_else(|| format!("the {kind} has no pod template"))?;
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": template.get("metadata").cloned().unwrap_or_else(|| json!({})), "spec": template.get("spec").cloned().unwrap_or_else(|| json!({}))});
    let ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(namespace);
    pod["metadata"]["namespace"] = json!(ns);
    Ok(pod)
}

impl MutateArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            file,
            catalog,
            patch,
            namespace,
        } = self;
        let engine = Loaded::load(catalog)?;
        let (name, bytes) = read_input(file.as_ref())?;
        let text =
            String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{name}: not UTF-8 text"))?;
        let docs = goyaml::parse_documents(&text).map_err(|e| anyhow::anyhow!("{name}:{e}"))?;
        let [doc] = docs.as_slice() else {
            eprintln!("{name}: expected one object, found {}", docs.len());
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        };
        let pod = match pod_of(&doc.value, namespace) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{name}: {e}");
                return Ok(ExitCode::from(EXIT_UNUSABLE));
            }
        };
        let ns = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(namespace)
            .to_owned();
        let review = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "stackhook-mutate", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "operation": "CREATE", "namespace": ns, "object": pod}
        });
        let (response, summary) = engine.reviewer().review(&serde_json::to_vec(&review)?)?;
        let response: Value = serde_json::from_slice(&response)?;
        if !summary.allowed {
            let message = response
                .pointer("/response/status/message")
                .and_then(Value::as_str)
                .unwrap_or("denied");
            eprintln!("{name}: denied: {message}");
            engine.hint_for_denial();
            return Ok(ExitCode::from(1));
        }
        // What the API server would show kubectl (a Depot not mounted, say).
        for w in response
            .pointer("/response/warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            eprintln!("{name}: warning: {w}");
        }
        let ops: Value = match response.pointer("/response/patch").and_then(Value::as_str) {
            Some(b64) => {
                serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(b64)?)?
            }
            None => json!([]),
        };
        // `pod_of` accepted the kind, so it has a template.
        let kind = doc.value.get("kind").and_then(Value::as_str).unwrap_or("");
        let pointer = template_pointer(kind).unwrap_or("");
        let ops = relative_patch(&doc.value, pointer, ops);
        if *patch {
            output::emit(&format!("{}\n", serde_json::to_string_pretty(&ops)?))?;
            return Ok(engine.exit_code());
        }
        let mut mutated = doc.value.clone();
        let ops: json_patch::Patch = serde_json::from_value(ops)?;
        json_patch::patch(&mut mutated, &ops)
            .map_err(|e| anyhow::anyhow!("{name}: the patch does not apply to the {kind}: {e}"))?;
        output::emit(&output::to_yaml(&mutated)?)?;
        Ok(engine.exit_code())
    }
}
