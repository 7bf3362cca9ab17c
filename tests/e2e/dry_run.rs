//! Everything `stackhook render` and `stackhook mutate` produce for the examples passes
//! the API server's own validation (a server-side dry-run create), and the webhook's
//! catalog follows `kubectl apply` and `delete`.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{Cluster, cluster, eventually};
use crate::support::stackhook;

/// The example catalog with its namespace set to `ns`, written to a folder.
fn example_catalog(c: &Cluster, ns: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "stack-benthos.yaml",
        "stack-flare.yaml",
        "depots.yaml",
        "workloads.yaml",
    ] {
        let docs = c.documents(&format!("examples/catalog/{file}"), Some(ns));
        let text = docs
            .iter()
            .map(|d| serde_json::to_string(d).unwrap())
            .collect::<Vec<_>>()
            .join("\n---\n");
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    dir
}

/// The names of stackhook's entries in a pod's `spec.<list>`.
fn ours(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["name"].as_str())
                .filter(|n| n.starts_with("stackhook-"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A server-side dry-run create of a pod `stackhook mutate` made: the API server stores
/// it as it is, and our webhook, admitting it again, adds nothing of ours twice (the
/// API server adds its defaults and the token volume). Retried while the webhook has not
/// seen the pod's workload yet.
fn dry_run_mutated_pod(c: &Cluster, mutated: &Value, what: &str) {
    eventually(Duration::from_secs(10), "the mutated pod admitted", || {
        let run = c.kubectl(
            &["create", "--dry-run=server", "-o", "json", "-f", "-"],
            &mutated.to_string(),
        );
        if run.code == 0 {
            let stored: Value = serde_json::from_str(&run.stdout).unwrap();
            for list in ["initContainers", "volumes"] {
                assert_eq!(ours(&stored, list), ours(mutated, list), "{what} {list}");
            }
            return Some(());
        }
        assert!(
            run.stderr.contains("not found"),
            "the API server refused the mutated {what}:\n{}",
            run.stderr
        );
        None
    });
}

/// The documents of a YAML stream.
fn yaml_documents(text: &str) -> Vec<Value> {
    goyaml::parse_documents(text)
        .expect("stackhook prints valid YAML")
        .into_iter()
        .map(|d| d.value)
        .filter(Value::is_object)
        .collect()
}

fn dry_run_create(c: &Cluster, objects: &[Value]) {
    for object in objects {
        let run = c.kubectl(
            &["create", "--dry-run=server", "-o", "json", "-f", "-"],
            &object.to_string(),
        );
        assert_eq!(
            run.code, 0,
            "the API server refused {} {}:\n{}",
            object["kind"], object["metadata"]["name"], run.stderr
        );
    }
}

#[test]
fn every_rendered_object_of_the_examples_passes_a_server_side_dry_run() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("e2e-render");
    let catalog = example_catalog(c, &ns);
    let dir = catalog.path().to_str().unwrap();
    let run = stackhook(
        &["render", &format!("{dir}/workloads.yaml"), "--catalog", dir],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let objects = yaml_documents(&run.stdout);
    assert!(objects.len() >= 4, "{}", run.stdout);
    // The rendered objects are owned by the workloads: they must exist for the
    // owner references to mean something (the API server does not check them).
    dry_run_create(c, &objects);
}

#[test]
fn every_mutated_example_pod_passes_a_server_side_dry_run() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("e2e-mutate");
    let catalog = example_catalog(c, &ns);
    let dir = catalog.path().to_str().unwrap();
    // The workloads exist in the cluster too: the dry-run create is itself admitted by
    // our webhook, which must find the pod already injected and leave it.
    for file in ["depots.yaml", "workloads.yaml"] {
        for doc in c.documents(&format!("examples/catalog/{file}"), Some(&ns)) {
            c.apply_json(&doc);
        }
    }
    for (workload, kind, refresh) in [
        ("orders-stream", "Worker", false),
        ("orders-stream", "Worker", true),
        ("orders-api", "Service", false),
        ("city-export", "Workflow", false),
    ] {
        let mut annotations = json!({});
        if refresh {
            annotations["stackhook.io/secret-refresh"] = json!("true");
        }
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": format!("{workload}-dry"), "namespace": ns,
                "labels": {"stackhook.io/workload": workload, "stackhook.io/workload-kind": kind},
                "annotations": annotations
            },
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}
        });
        let run = stackhook(&["mutate", "-", "--catalog", dir], &pod.to_string());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mutated = yaml_documents(&run.stdout).remove(0);
        dry_run_mutated_pod(c, &mutated, workload);
    }
}

#[test]
fn the_webhooks_catalog_follows_apply_and_delete() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("e2e-follow");
    for doc in c.documents("examples/catalog/depots.yaml", Some(&ns)) {
        c.apply_json(&doc);
    }
    let worker = json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": "follows", "namespace": ns},
        "spec": {"stack": "benthos:3.0", "stackSpec": {"input": {"http_server": {}}}}
    });
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": ns, "labels": {"stackhook.io/workload": "follows"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}
    });
    let admitted = |c: &Cluster| {
        c.kubectl(&["create", "--dry-run=server", "-f", "-"], &pod.to_string())
            .code
            == 0
    };
    assert!(
        !admitted(c),
        "a pod of a workload not yet applied was admitted"
    );
    c.apply_json(&worker);
    eventually(
        Duration::from_secs(2),
        "the webhook sees the new Worker",
        || admitted(c).then_some(()),
    );
    c.kubectl_ok(&["delete", "worker", "follows", "-n", &ns], "");
    eventually(
        Duration::from_secs(2),
        "the webhook forgets the Worker",
        || (!admitted(c)).then_some(()),
    );
}

/// The DataOS corpus's workloads that validate against the corpus's own Stacks and
/// Depots (`tests/dataos.rs`): every object `render` gives, and every rendered
/// Deployment or Job with its pod template mutated, passes a server-side dry-run.
#[test]
fn every_rendered_and_mutated_object_of_the_dataos_corpus_passes_a_server_side_dry_run() {
    let Some(c) = cluster() else { return };
    let dir = "tests/fixtures/dataos";
    let sources =
        std::fs::read_to_string(crate::support::repo(&format!("{dir}/SOURCES.tsv"))).unwrap();
    let files: Vec<String> = sources
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .map(|f| format!("{dir}/{f}"))
        .collect();
    let catalog = tempfile::tempdir().unwrap();
    let mut workloads = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(crate::support::repo(file)).unwrap();
        let is = |t: &str| text.contains(&format!("type: {t}"));
        if (is("stack") || is("depot")) && !(is("worker") || is("service") || is("workflow")) {
            if stackhook(&["convert", file], "").code == 0 {
                std::fs::copy(
                    crate::support::repo(file),
                    catalog.path().join(file.replace('/', "__")),
                )
                .unwrap();
            }
        } else if is("worker") || is("service") || is("workflow") {
            workloads.push(file.clone());
        }
    }
    let catalog = catalog.path().to_str().unwrap();
    let mut checked = 0;
    for file in workloads {
        if stackhook(&["validate", "--catalog", catalog, &file], "").code != 0 {
            continue;
        }
        let run = stackhook(&["render", "--catalog", catalog, &file], "");
        assert_eq!(run.code, 0, "{file}: {}", run.stderr);
        for object in yaml_documents(&run.stdout) {
            if let Some(ns) = object["metadata"]["namespace"].as_str() {
                c.apply_json(
                    &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                );
            }
            dry_run_create(c, std::slice::from_ref(&object));
            checked += 1;
            if ["Deployment", "Job", "CronJob"].contains(&object["kind"].as_str().unwrap_or("")) {
                let run = stackhook(
                    &["mutate", "-", "--catalog", catalog, "--catalog", &file],
                    &object.to_string(),
                );
                assert_eq!(run.code, 0, "{file}: mutate: {}", run.stderr);
                // `mutate` of a Deployment prints it with its pod template mutated; a
                // pod made from the template, named here as the ReplicaSet would name it.
                let mutated = yaml_documents(&run.stdout).remove(0);
                let template = mutated
                    .pointer("/spec/template")
                    .or_else(|| mutated.pointer("/spec/jobTemplate/spec/template"))
                    .cloned()
                    .unwrap_or_default();
                let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": template["metadata"], "spec": template["spec"]});
                pod["metadata"]["name"] = json!(format!(
                    "{}-dry",
                    object["metadata"]["name"].as_str().unwrap_or("pod")
                ));
                pod["metadata"]["namespace"] = object["metadata"]["namespace"].clone();
                // The corpus's workloads are not in the cluster: without the workload
                // label the pod goes to the API server's validation, not to our webhook.
                if let Some(labels) = pod["metadata"]["labels"].as_object_mut() {
                    labels.remove("stackhook.io/workload");
                }
                dry_run_create(c, &[pod]);
                checked += 1;
            }
        }
    }
    // Most of the corpus names Stacks DataOS ships and the corpus lacks (tests/dataos.rs).
    assert!(checked >= 3, "only {checked} objects checked");
}

/// The real Pod templates of `tests/fixtures/pods/` (sidecars, many volumes, host
/// networking, init containers), made pods of the example Worker and mutated: the API
/// server stores each as it is (a server-side dry-run create, which our webhook admits
/// again without a second injection).
#[test]
fn every_mutated_real_pod_template_passes_a_server_side_dry_run() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("e2e-real-pods");
    let catalog = example_catalog(c, &ns);
    let dir = catalog.path().to_str().unwrap();
    for file in ["depots.yaml", "workloads.yaml"] {
        for doc in c.documents(&format!("examples/catalog/{file}"), Some(&ns)) {
            c.apply_json(&doc);
        }
    }
    let fixtures = crate::support::repo("tests/fixtures/pods");
    let mut count = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let mut pod = yaml_documents(&std::fs::read_to_string(&path).unwrap()).remove(0);
        pod["metadata"]["namespace"] = json!(ns);
        pod["metadata"]["labels"]["stackhook.io/workload"] = json!("orders-stream");
        // The service account it names must exist (the ServiceAccount admission plugin).
        if let Some(account) = pod["spec"]["serviceAccountName"].as_str() {
            c.apply_json(&json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": ns}
            }));
        }
        let run = stackhook(&["mutate", "-", "--catalog", dir], &pod.to_string());
        assert_eq!(run.code, 0, "{}: {}", path.display(), run.stderr);
        let mutated = yaml_documents(&run.stdout).remove(0);
        dry_run_mutated_pod(c, &mutated, &path.display().to_string());
        count += 1;
    }
    assert!(count >= 4, "only {count} real pods");
}
