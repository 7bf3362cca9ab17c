//! Real Pod templates from public projects (`tests/fixtures/pods/`, provenance in
//! `SOURCES.tsv`): sidecars, many volumes, host networking, init containers. Each is
//! made a pod of the example Worker and run through `stackhook mutate`; the result
//! must pass the API server's rules, keep everything the pod had, and not change when
//! mutated again, with or without stackhook's annotations.

use goyaml::parse_documents;
use serde_json::Value;
use stackhook_core::inject::pod_rules;

use crate::support::{repo, stackhook};

fn mutate(pod: &Value) -> Value {
    let run = stackhook(
        &["mutate", "--catalog", "examples/catalog"],
        &pod.to_string(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    parse_documents(&run.stdout).unwrap().remove(0).value
}

fn list<'a>(pod: &'a Value, key: &str) -> Vec<&'a Value> {
    pod["spec"][key].as_array().into_iter().flatten().collect()
}

#[test]
fn real_pod_templates_mutate_cleanly() {
    let dir = repo("tests/fixtures/pods");
    let sources = std::fs::read_to_string(dir.join("SOURCES.tsv")).unwrap();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            sources.lines().any(|l| l.starts_with(&format!("{name}\t"))),
            "{name} has no line in SOURCES.tsv"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let mut pod = parse_documents(&text).unwrap().remove(0).value;
        assert_eq!(
            pod_rules::check(&pod),
            Vec::<String>::new(),
            "{name} as found"
        );
        pod["metadata"]["namespace"] = "retail".into();
        pod["metadata"]["labels"]["stackhook.io/workload"] = "orders-stream".into();

        let mutated = mutate(&pod);
        assert_eq!(
            pod_rules::check(&mutated),
            Vec::<String>::new(),
            "{name}: {mutated:#}"
        );
        // Everything the pod had is still there, as it was (the target container
        // only gains).
        for key in ["volumes", "initContainers", "imagePullSecrets"] {
            for item in list(&pod, key) {
                assert!(
                    list(&mutated, key).contains(&item),
                    "{name}: {key} lost {item}"
                );
            }
        }
        let containers = list(&pod, "containers");
        let after = list(&mutated, "containers");
        assert_eq!(containers.len(), after.len(), "{name}");
        assert_eq!(containers[1..], after[1..], "{name}: a sidecar changed");
        for m in containers[0]["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(
                after[0]["volumeMounts"].as_array().unwrap().contains(m),
                "{name}: mount lost {m}"
            );
        }
        assert_eq!(
            list(&mutated, "initContainers")[0]["name"],
            "stackhook-project",
            "{name}"
        );
        // Mutated again: as is (annotated), and as a copy without our annotations.
        assert_eq!(mutate(&mutated), mutated, "{name}: mutated twice");
        let mut copy = mutated.clone();
        for key in [
            "stackhook.io/injected",
            "stackhook.io/stamp",
            "stackhook.io/stack",
        ] {
            copy["metadata"]["annotations"]
                .as_object_mut()
                .unwrap()
                .remove(key);
        }
        assert_eq!(mutate(&copy), mutated, "{name}: a copy injected twice");
        count += 1;
    }
    assert!(count >= 4, "{count} fixtures");
}

#[test]
fn a_pod_with_a_foreign_volume_of_our_name_is_denied_naming_it() {
    let run = stackhook(
        &["mutate", "--catalog", "examples/catalog"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: retail, labels: {stackhook.io/workload: orders-stream}}\nspec:\n  containers: [{name: a, image: x}]\n  volumes: [{name: stackhook-secrets, secret: {secretName: mine}}]\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "<stdin>: denied: the pod already has a volume named \"stackhook-secrets\" that stackhook did not add (a secret volume of \"mine\"); rename it: stackhook adds its own volume of that name\n"
    );
}
