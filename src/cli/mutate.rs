//! `stackhook mutate`: what a Pod becomes at admission. Takes a Pod, or the pod
//! template of a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob (as
//! `kubectl create … --dry-run=client -o yaml` writes them), runs it through the
//! webhook's review, and prints the mutated Pod as YAML, or `--patch` the JSON patch.

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
    /// Print the RFC 6902 patch instead of the mutated Pod.
    #[arg(long)]
    patch: bool,
    /// The namespace, when the object does not say.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
}

/// The pod an object describes: itself, or its controller's pod template.
pub(crate) fn pod_of(object: &Value, namespace: &str) -> Result<Value, String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let template = match kind {
        "Pod" => return Ok(object.clone()),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            object.pointer("/spec/template")
        }
        "CronJob" => object.pointer("/spec/jobTemplate/spec/template"),
        "" => return Err("the input has no kind; give a Pod or a workload controller".into()),
        other => {
            return Err(format!(
                "a {other} has no pod; give a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob"
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
        let docs = stackhook_core::source::parse_documents(&text)
            .map_err(|e| anyhow::anyhow!("{name}:{e}"))?;
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
        let ops: Value = match response.pointer("/response/patch").and_then(Value::as_str) {
            Some(b64) => {
                serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(b64)?)?
            }
            None => json!([]),
        };
        if *patch {
            output::emit(&format!("{}\n", serde_json::to_string_pretty(&ops)?))?;
            return Ok(engine.exit_code());
        }
        let mut mutated = pod;
        let ops: json_patch::Patch = serde_json::from_value(ops)?;
        json_patch::patch(&mut mutated, &ops)?;
        output::emit(&output::to_yaml(&mutated)?)?;
        Ok(engine.exit_code())
    }
}
