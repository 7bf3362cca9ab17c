//! Real DataOS manifests (`tests/fixtures/dataos`, each with its provenance in
//! `SOURCES.tsv`): what `stackhook convert` makes of every one, and that no key of a
//! manifest vanishes without a warning naming it.

use std::collections::BTreeSet;

use goyaml::parse_documents;
use serde_json::Value;

use crate::support::{repo, stackhook, write};

const DIR: &str = "tests/fixtures/dataos";

/// The corpus: (file under `DIR`, repository, path, commit).
fn sources() -> Vec<[String; 4]> {
    let text = std::fs::read_to_string(repo(&format!("{DIR}/SOURCES.tsv"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "SOURCES.tsv line {l:?}: four columns");
            [0, 1, 2, 3].map(|i| cols[i].to_owned())
        })
        .collect()
}

fn files_under(dir: &std::path::Path, out: &mut Vec<String>, base: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out, base);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

#[test]
fn every_manifest_has_its_provenance() {
    let listed: BTreeSet<String> = sources().into_iter().map(|[f, ..]| f).collect();
    let mut present = Vec::new();
    files_under(&repo(DIR), &mut present, &repo(DIR));
    let present: BTreeSet<String> = present.into_iter().collect();
    assert!(listed.len() >= 100, "{} manifests", listed.len());
    assert_eq!(
        present.difference(&listed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "files without a SOURCES.tsv line"
    );
    assert_eq!(
        listed.difference(&present).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "SOURCES.tsv lines without a file"
    );
    for [file, repository, path, commit] in sources() {
        assert!(
            repository.contains('/'),
            "{file}: repository {repository:?}"
        );
        // A fenced block of a Markdown page: `page.md#L<from>-L<to>`.
        match path.split_once("#L") {
            Some((page, lines)) => {
                assert!(page.ends_with(".md"), "{file}: path {path:?}");
                assert!(
                    lines.split_once("-L").is_some_and(|(a, b)| {
                        a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()
                    }),
                    "{file}: lines {lines:?}"
                );
            }
            None => assert!(path.ends_with(&file), "{file}: path {path:?}"),
        }
        assert_eq!(commit.len(), 40, "{file}: commit {commit:?}");
    }
}

/// Every scalar under a native document's type section, with its native path, except
/// inside `stackSpec` (passed through whole) and the meta keys.
fn leaves(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, item) in m {
                if k == "stackSpec" {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(item, p, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Null => {}
        scalar => out.push((path, scalar.clone())),
    }
}

fn scalars(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|x| scalars(x, out)),
        Value::Array(items) => items.iter().for_each(|x| scalars(x, out)),
        // Letter case aside: convert spells enums as the CRD does (`StackManager`).
        // Tags are kept joined in one annotation.
        Value::String(s) => {
            out.insert(s.to_lowercase());
            out.extend(s.to_lowercase().split(',').map(str::to_owned));
        }
        other => {
            out.insert(other.to_string());
        }
    }
}

#[test]
fn converts_every_manifest_and_names_every_key_it_leaves_out() {
    let mut summary = String::new();
    let mut silent = Vec::new();
    for [file, ..] in sources() {
        let path = repo(&format!("{DIR}/{file}"));
        let run = stackhook(&["convert", path.to_str().unwrap()], "");
        let shown = |s: &str| s.replace(path.to_str().unwrap(), &file);
        if run.code != 0 {
            let last = run.stderr.lines().last().unwrap_or_default();
            summary.push_str(&format!("{file}: error: {}\n", shown(last)));
            continue;
        }
        let warnings: Vec<String> = run
            .stderr
            .lines()
            .filter(|l| l.contains("warning:"))
            .map(shown)
            .collect();
        summary.push_str(&format!("{file}: converted, {} warnings\n", warnings.len()));
        // Native documents and what they became, in order.
        let text = std::fs::read_to_string(&path).unwrap();
        let native: Vec<Value> = parse_documents(&text)
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect();
        let converted: Vec<Value> = parse_documents(&run.stdout)
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .collect();
        // A v1 Depot's inline credentials come out as Secrets beside it.
        let resources = converted.iter().filter(|d| d["kind"] != "Secret").count();
        assert_eq!(native.len(), resources, "{file}: document count");
        let mut kept = BTreeSet::new();
        for out in &converted {
            scalars(out, &mut kept);
        }
        for doc in &native {
            let Some(ty) = doc.get("type").and_then(Value::as_str) else {
                continue;
            };
            let ty = ty.to_ascii_lowercase();
            if !["stack", "depot", "worker", "service", "workflow"].contains(&ty.as_str()) {
                continue;
            }
            let Some(section) = doc.get(&ty) else {
                continue;
            };
            let mut found = Vec::new();
            leaves(section, ty.clone(), &mut found);
            for (leaf, value) in found {
                let text = match &value {
                    Value::String(s) => s.to_lowercase(),
                    other => other.to_string(),
                };
                let named = warnings.iter().any(|w| {
                    w.split('`').skip(1).step_by(2).any(|p| {
                        let p = p.split(' ').next().unwrap_or_default();
                        leaf == p
                            || leaf.starts_with(&format!("{p}."))
                            || leaf.starts_with(&format!("{p}["))
                    })
                });
                if !named && !kept.contains(&text) {
                    silent.push(format!("{file}: {leaf} = {text}"));
                }
            }
        }
    }
    insta::assert_snapshot!(summary);
    assert!(
        silent.is_empty(),
        "convert dropped these without a warning:\n{}",
        silent.join("\n")
    );
}

/// The native types of a corpus file's documents.
fn types_of(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo(&format!("{DIR}/{file}"))).unwrap();
    parse_documents(&text)
        .map(|docs| {
            docs.into_iter()
                .filter_map(|d| d.value.get("type")?.as_str().map(str::to_ascii_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

/// Every workload of the corpus validated, and rendered when valid, against the
/// corpus's own Stacks and Depots (those that convert): what a DataOS user who
/// brings these files sees. Most name Stacks the corpus does not have (DataOS ships
/// them); the snapshot says which.
#[test]
fn validates_and_renders_every_workload_against_the_corpus_catalog() {
    let catalog = tempfile::tempdir().unwrap();
    let mut workloads = Vec::new();
    for [file, ..] in sources() {
        let types = types_of(&file);
        let path = repo(&format!("{DIR}/{file}"));
        if !types.is_empty() && types.iter().all(|t| t == "stack" || t == "depot") {
            if stackhook(&["convert", path.to_str().unwrap()], "").code == 0 {
                let name = file.replace('/', "__");
                std::fs::copy(&path, catalog.path().join(name)).unwrap();
            }
        } else if types
            .iter()
            .any(|t| ["worker", "service", "workflow"].contains(&t.as_str()))
        {
            workloads.push(file);
        }
    }
    let dir = catalog.path().to_str().unwrap();
    let mut summary = String::new();
    let mut rendered = 0;
    for file in workloads {
        let path = repo(&format!("{DIR}/{file}"));
        let p = path.to_str().unwrap();
        let shown = |s: &str| s.replace(p, &file);
        let run = stackhook(&["validate", "--catalog", dir, p], "");
        let out = format!("{}{}", run.stdout, run.stderr);
        let first = out
            .lines()
            .find(|l| l.contains(p))
            .map(shown)
            .unwrap_or_default();
        match run.code {
            0 => {
                let r = stackhook(&["render", "--catalog", dir, p], "");
                assert_eq!(r.code, 0, "{file}: valid but does not render: {}", r.stderr);
                rendered += 1;
                let objects: Vec<String> = parse_documents(&r.stdout)
                    .unwrap()
                    .into_iter()
                    .map(|d| d.value)
                    .filter(|v| !v.is_null())
                    .map(|v| {
                        let kind = v["kind"].as_str().unwrap_or("?").to_owned();
                        match kind.as_str() {
                            // The Stamp is in the name.
                            "ConfigMap" => kind,
                            _ => {
                                format!("{kind}/{}", v["metadata"]["name"].as_str().unwrap_or("?"))
                            }
                        }
                    })
                    .collect();
                summary.push_str(&format!("{file}: valid; renders {}\n", objects.join(", ")));
            }
            1 => summary.push_str(&format!("{file}: invalid: {first}\n")),
            code => summary.push_str(&format!("{file}: unusable ({code}): {first}\n")),
        }
    }
    assert!(rendered >= 1, "no workload of the corpus renders");
    insta::assert_snapshot!(summary);
}

/// A real DataOS Stack whose `containerResourceTemplate` mounts what Poros gives it
/// (`workdir`, `dataos-config-mount`, `dataos-secret-mount`) and reads the
/// `{Name}-{Type}{Stamp}-env` Secret: the rendered Deployment has a volume for every
/// mount and reads no Secret nothing makes, and the webhook, mutating its pods, adds
/// no second volume or mount of the same name or path.
#[test]
fn a_dataos_container_template_gets_the_pod_pieces_poros_gives_it() {
    let dir = tempfile::tempdir().unwrap();
    let stack = repo(&format!(
        "{DIR}/resources/stacks/python/stack_deployment.yml"
    ));
    std::fs::copy(&stack, dir.path().join("stack.yml")).unwrap();
    // The real Service, given a Depot address and a config file, so that the template
    // mounts the secret and config volumes too.
    let service = std::fs::read_to_string(repo(&format!(
        "{DIR}/resources/stacks/python/python_service.yml"
    )))
    .unwrap()
    .replace(
        "  stackSpec:\n",
        "  configs: {app.yaml: \"x: 1\"}\n  stackSpec:\n    depots: [\"dataos://lake:raw\"]\n",
    );
    let service = write(dir.path(), "service.yml", &service);
    write(
        dir.path(),
        "depot.yml",
        "apiVersion: stackhook.io/v1alpha1\nkind: Depot\nmetadata: {name: lake, namespace: public}\nspec: {type: S3, secrets: [{name: lake-r, acl: r}]}\n",
    );
    let catalog = dir.path().to_str().unwrap();
    let run = stackhook(
        &["render", "--catalog", catalog, service.to_str().unwrap()],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs: Vec<Value> = parse_documents(&run.stdout)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect();
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&pod["volumes"]),
        ["workdir", "stackhook-secrets", "stackhook-config"]
    );
    let config_map = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let volume = &pod["volumes"][2];
    assert_eq!(volume["configMap"]["name"], config_map["metadata"]["name"]);
    assert!(
        !run.stdout.contains("-env\n"),
        "a pod reads the -env Secret nothing makes:\n{}",
        run.stdout
    );
    let main = &pod["containers"][0];
    assert!(names(&main["env"]).contains(&"DATAOS_STAMP".to_owned()));
    assert_eq!(
        main["envFrom"],
        serde_json::json!([{"secretRef": {"name": "bitbucket-cred"}}])
    );

    // What the webhook makes of the Deployment's pods.
    let rendered = write(dir.path(), "deployment.json", &deployment.to_string());
    let run = stackhook(
        &["mutate", "--catalog", catalog, rendered.to_str().unwrap()],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let deployment = parse_documents(&run.stdout).unwrap().remove(0).value;
    // `mutate` prints the Deployment with its pod template mutated: the Pod it makes
    // is that template's.
    assert_eq!(deployment["kind"], "Deployment");
    let template = &deployment["spec"]["template"];
    let mutated = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": template["metadata"], "spec": template["spec"]});
    let pod = &mutated["spec"];
    assert_eq!(
        stackhook_core::inject::pod_rules::check(&mutated),
        Vec::<String>::new()
    );
    assert!(!names(&pod["containers"]).is_empty());
    let volumes = names(&pod["volumes"]);
    let unique: BTreeSet<&String> = volumes.iter().collect();
    assert_eq!(unique.len(), volumes.len(), "volumes twice: {volumes:?}");
    for c in pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(pod["containers"].as_array().into_iter().flatten())
    {
        let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
        let paths: BTreeSet<&str> = mounts
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths.len(),
            mounts.len(),
            "{}: a mount path twice: {mounts:?}",
            c["name"]
        );
        for m in &mounts {
            assert!(
                volumes.contains(&m["name"].as_str().unwrap().to_owned()),
                "{}: mounts {} that the pod lacks",
                c["name"],
                m["name"]
            );
        }
    }
    let out = write(dir.path(), "mutated.json", &mutated.to_string());
    if crate::support::have_tool("kubernetes-validate") {
        crate::support::assert_kubernetes_valid(&[out]);
    }
}

/// The real pulsar-function Stack and its Worker from the DataOS docs render as in
/// Poros: the topic from the Pulsar depot's tenant and persistence, the iceberg sink
/// from the S3 depot's bucket and format, and the Worker's autoScaling an autoscaler.
#[test]
fn a_dataos_pulsar_function_stack_renders_with_what_resolve_gives() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["pulsar_function_stack.yml", "pulsar_function_worker.yml"] {
        let from = repo(&format!("{DIR}/resources/stacks/custom_stacks/{f}"));
        std::fs::copy(from, dir.path().join(f)).unwrap();
    }
    // The two Depots the Worker's addresses name, as a platform team would declare them.
    write(
        dir.path(),
        "depots.yml",
        "apiVersion: stackhook.io/v1alpha1\nkind: Depot\nmetadata: {name: systemstreams, namespace: public}\nspec: {type: PULSAR, spec: {tenant: system, adminUrl: \"http://pulsar:8080\"}, secrets: [{name: systemstreams-r, acl: r}]}\n---\napiVersion: stackhook.io/v1alpha1\nkind: Depot\nmetadata: {name: lakehouses3, namespace: public}\nspec: {type: S3, spec: {bucket: lake-bucket, relativePath: lakehouse, format: ICEBERG}, secrets: [{name: lakehouses3-rw, acl: rw}]}\n",
    );
    let catalog = dir.path().to_str().unwrap();
    let worker = dir.path().join("pulsar_function_worker.yml");
    let run = stackhook(
        &["render", "--catalog", catalog, worker.to_str().unwrap()],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs: Vec<Value> = parse_documents(&run.stdout)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect();
    let config = docs[0]["data"]["jobconfig.yaml"].as_str().unwrap();
    for line in [
        "    persistent://system/poros/clusterdataosresources: {}",
        "    type: \"iceberg\"",
        "    catalogName: \"lakehouses3\"",
        "      warehouse: \"s3a://lake-bucket/lakehouse\"",
    ] {
        assert!(config.contains(line), "{line:?} not in:\n{config}");
    }
    assert!(!config.contains("<no value>"), "{config}");
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ConfigMap", "Deployment", "HorizontalPodAutoscaler"]
    );
    assert_eq!(docs[2]["spec"]["maxReplicas"], 5);
}

/// A server keeps file workloads packed (compact JSON, decoded when a plan is built):
/// every workload of the corpus decodes to exactly what was parsed.
#[test]
fn every_corpus_workload_is_kept_packed_without_loss() {
    use stackhook_core::catalog::{Catalog, MemoryCatalog};
    use stackhook_core::model::{Parsed, Resource, parse_document};
    let mut shared = MemoryCatalog::new();
    let mut compact = MemoryCatalog::compact();
    for [file, ..] in sources() {
        let text = std::fs::read_to_string(repo(&format!("{DIR}/{file}"))).unwrap();
        let Ok(docs) = parse_documents(&text) else {
            continue;
        };
        for (i, doc) in docs.into_iter().enumerate() {
            let Ok(Parsed::Resource(r)) = parse_document(doc.value) else {
                continue;
            };
            if let Resource::Workload(w) = *r {
                // Distinct keys, whatever the examples call themselves.
                let mut v = Resource::Workload(w).to_json();
                v["metadata"]["name"] =
                    Value::from(format!("{}-{i}", file.replace(['/', '.'], "-")));
                let Ok(Parsed::Resource(r)) = parse_document(v) else {
                    panic!("{file}: its own CRD form does not parse");
                };
                shared.insert((*r).clone()).unwrap();
                compact.insert(*r).unwrap();
            }
        }
    }
    let workloads = shared.workloads();
    assert!(
        workloads.len() >= 20,
        "only {} corpus workloads",
        workloads.len()
    );
    assert_eq!(compact.workloads(), workloads);
}
