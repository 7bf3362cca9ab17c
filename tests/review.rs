//! AdmissionReviews through the webhook's review function, from the fixtures of
//! `tests/fixtures/reviews` (real `kubectl create --dry-run=client` objects, completed
//! and wrapped as the API server sends them), and the review, mutate and render
//! commands.

use std::collections::HashSet;

use base64::Engine as _;
use serde_json::{Value, json};
use stackhook::load::load_catalog;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::compiled::StackCache;
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::inject::{InjectMemo, InjectSettings};
use stackhook_core::review::{ReviewError, Reviewer};

use crate::support::{assert_kubernetes_valid, have_tool, repo, stackhook, write};

fn catalog() -> MemoryCatalog {
    load_catalog(&[repo("examples/catalog")]).unwrap().0
}

/// What a `Reviewer` borrows besides the catalog.
struct Parts {
    cache: StackCache,
    options: EngineSettings,
    config: InjectSettings,
}

impl Parts {
    fn new(config: InjectSettings) -> Self {
        Self {
            cache: StackCache::new(),
            options: EngineSettings::default(),
            config,
        }
    }

    fn reviewer<'a>(
        &'a self,
        catalog: &'a MemoryCatalog,
        memo: Option<&'a InjectMemo>,
    ) -> Reviewer<'a> {
        let reviewer = Reviewer::new(
            Engine::new(catalog, &self.cache, &self.options),
            &self.config,
        );
        match memo {
            Some(memo) => reviewer.keeping(memo),
            None => reviewer,
        }
    }
}

fn review(catalog: &MemoryCatalog, body: &[u8]) -> Value {
    let engine = Parts::new(InjectSettings {
        version: "test".into(),
        ..InjectSettings::default()
    });
    let memo = InjectMemo::new();
    let reviewer = |memo| engine.reviewer(catalog, memo);
    let built = reviewer(None).review(body).unwrap().0;
    // The webhook keeps plans and patches: the first review of a pod fills the memo,
    // the next one answers from it; both must be what building anew gives.
    for round in ["cold", "warm"] {
        let kept = reviewer(Some(&memo)).review(body).unwrap().0;
        assert_eq!(
            String::from_utf8_lossy(&kept),
            String::from_utf8_lossy(&built),
            "{round} memo"
        );
    }
    serde_json::from_slice(&built).unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(repo(&format!("tests/fixtures/reviews/{name}.json"))).unwrap(),
    )
    .unwrap()
}

fn patch_of(response: &Value) -> Option<Value> {
    let b64 = response.pointer("/response/patch")?.as_str()?;
    Some(
        serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap(),
    )
}

/// The pod after its patch, which must pass the API server's rules for what
/// injection touches.
fn apply(object: &Value, patch: &Value) -> Value {
    let mut out = object.clone();
    let patch: json_patch::Patch = serde_json::from_value(patch.clone()).unwrap();
    json_patch::patch(&mut out, &patch).unwrap();
    assert_eq!(
        stackhook_core::inject::pod_rules::check(&out),
        Vec::<String>::new(),
        "{out:#}"
    );
    out
}

fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn env_of(pod: &Value, container: usize) -> Vec<(String, String)> {
    pod["spec"]["containers"][container]["env"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap().to_owned(),
                        e["value"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The invariants every review must keep.
#[test]
fn every_fixture_keeps_the_invariants() {
    let c = catalog();
    let mut count = 0;
    for entry in std::fs::read_dir(repo("tests/fixtures/reviews")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read(&path).unwrap();
        let request: Value = serde_json::from_slice(&body).unwrap();
        let response = review(&c, &body);
        count += 1;
        assert_eq!(response["apiVersion"], "admission.k8s.io/v1", "{name}");
        assert_eq!(response["kind"], "AdmissionReview", "{name}");
        assert_eq!(
            response["response"]["uid"], request["request"]["uid"],
            "{name}: uid echoed"
        );
        let patch = patch_of(&response);
        let mut snapshot = response.clone();
        if let Some(p) = &patch {
            snapshot["response"]["patch"] = p.clone();
        }
        insta::assert_json_snapshot!(format!("review-{name}"), snapshot);
        let Some(patch) = patch else { continue };
        assert_eq!(response["response"]["patchType"], "JSONPatch");
        let pod = &request["request"]["object"];
        let mutated = apply(pod, &patch);
        // A valid Pod for the Kubernetes types…
        let typed: k8s_openapi::api::core::v1::Pod = serde_json::from_value(mutated.clone())
            .unwrap_or_else(|e| panic!("{name}: not a Pod: {e}"));
        let spec = typed.spec.unwrap();
        // …whose every mount names a volume…
        let volumes: HashSet<String> = spec
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for m in c.volume_mounts.iter().flatten() {
                assert!(
                    volumes.contains(&m.name),
                    "{name}: {} mounts unknown volume {}",
                    c.name,
                    m.name
                );
            }
        }
        // …and that is left alone when reviewed again (reinvocation).
        let mut again = request.clone();
        again["request"]["object"] = mutated;
        let second = review(&c, &serde_json::to_vec(&again).unwrap());
        assert_eq!(second["response"]["allowed"], true, "{name}");
        assert!(
            second["response"].get("patch").is_none(),
            "{name}: a second review patched again"
        );
    }
    assert!(count >= 11, "{count} fixtures");
}

#[test]
fn mutated_pods_pass_the_kubernetes_schema() {
    if !have_tool("kubernetes-validate") {
        return;
    }
    let c = catalog();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in [
        "deployment-pod",
        "service-pod-two-containers",
        "job-pod-with-init-and-sidecar",
        "cronjob-pod-dry-run",
        "statefulset-pod",
        "bare-pod-with-stamp",
    ] {
        let request = fixture(name);
        let response = review(&c, &serde_json::to_vec(&request).unwrap());
        let mutated = apply(&request["request"]["object"], &patch_of(&response).unwrap());
        files.push(write(
            dir.path(),
            &format!("{name}.json"),
            &mutated.to_string(),
        ));
    }
    assert_kubernetes_valid(&files);
}

#[test]
fn a_deployment_pod_gets_env_config_secrets_and_the_projector() {
    let c = catalog();
    let request = fixture("deployment-pod");
    let response = review(&c, &serde_json::to_vec(&request).unwrap());
    let pod = apply(&request["request"]["object"], &patch_of(&response).unwrap());
    let stamp = pod["metadata"]["annotations"]["stackhook.io/stamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        pod["metadata"]["annotations"]["stackhook.io/injected"],
        "test"
    );
    assert_eq!(
        pod["metadata"]["annotations"]["stackhook.io/stack"],
        "benthos:3.0"
    );
    let env = env_of(&pod, 0);
    for (k, v) in [
        ("DATAOS_NAME", "orders-stream"),
        ("DATAOS_TYPE", "worker"),
        ("DATAOS_WORKSPACE", "retail"),
        ("DATAOS_STAMP", stamp.as_str()),
        ("DATAOS_CONFIG_DIR", "/etc/dataos/config"),
        ("DATAOS_SECRET_DIR", "/etc/dataos/secret"),
        ("LOG_LEVEL", "DEBUG"),
        ("DATAOS_LOG_LEVEL", "DEBUG"),
        ("BENTHOS_LOG_FORMAT", "json"),
        ("BATCH_SIZE", "500"),
    ] {
        assert!(
            env.contains(&(k.to_owned(), v.to_owned())),
            "{k}={v} missing from {env:?}"
        );
    }
    let volumes = &pod["spec"]["volumes"];
    assert!(volumes.as_array().unwrap().contains(&json!({"name": "stackhook-config", "configMap": {"name": format!("orders-stream-worker{stamp}")}})));
    assert!(volumes.as_array().unwrap().contains(
        &json!({"name": "stackhook-depot-icebase-r", "secret": {"secretName": "icebase-r"}})
    ));
    assert_eq!(
        names(pod["spec"].get("initContainers")),
        ["stackhook-project"]
    );
    let init = &pod["spec"]["initContainers"][0];
    let mounts: Vec<&str> = init["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    // The pod's service-account token too, as kube-apiserver's ServiceAccount plugin
    // mounted it in the pod's containers (and would in the projector, calling the
    // webhook again).
    assert_eq!(
        mounts,
        [
            "/var/run/stackhook/depots/icebase/r",
            "/etc/dataos/secret",
            "/var/run/secrets/kubernetes.io/serviceaccount"
        ]
    );
    // The depot Secret is mounted into the projector only.
    let app_mounts: Vec<&str> = pod["spec"]["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(!app_mounts.iter().any(|m| m.starts_with("stackhook-depot-")));
    assert_eq!(init["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        init["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    assert_eq!(
        pod["spec"]["imagePullSecrets"],
        json!([{"name": "dataos-container-registry"}])
    );
}

#[test]
fn the_named_container_is_targeted_and_pod_env_wins() {
    let c = catalog();
    let request = fixture("service-pod-two-containers");
    let pod = apply(
        &request["request"]["object"],
        &patch_of(&review(&c, &serde_json::to_vec(&request).unwrap())).unwrap(),
    );
    // Container 1 is "app" (annotation); the log shipper is untouched.
    assert!(pod["spec"]["containers"][0].get("env").is_none());
    let env = env_of(&pod, 1);
    assert_eq!(
        env.iter()
            .filter(|(k, _)| k == "LOG_LEVEL")
            .collect::<Vec<_>>(),
        [&("LOG_LEVEL".to_owned(), "WARN".to_owned())]
    );
    assert!(env.contains(&("HTTP_TIMEOUT".to_owned(), "30s".to_owned())));
    assert!(env.iter().any(|(k, _)| k == "DATAOS_NAME"));
    // Refresh requested: the projector, then the native sidecar, both as the app's user.
    assert_eq!(
        names(pod["spec"].get("initContainers")),
        ["stackhook-project", "stackhook-refresh"]
    );
    assert_eq!(pod["spec"]["initContainers"][1]["restartPolicy"], "Always");
    assert_eq!(
        pod["spec"]["initContainers"][0]["securityContext"]["runAsUser"],
        1001
    );
    assert!(
        pod["spec"]["initContainers"][1]["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--watch"))
    );
    // It writes to a depot: the rw Secret.
    assert!(
        pod["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "stackhook-depot-icebase-rw")
    );
}

#[test]
fn the_projector_goes_before_existing_init_containers() {
    let c = catalog();
    let request = fixture("job-pod-with-init-and-sidecar");
    let pod = apply(
        &request["request"]["object"],
        &patch_of(&review(&c, &serde_json::to_vec(&request).unwrap())).unwrap(),
    );
    assert_eq!(
        names(pod["spec"].get("initContainers")),
        ["stackhook-project", "wait-for-lake", "proxy"]
    );
    let args = pod["spec"]["initContainers"][0]["args"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        args.windows(2)
            .any(|w| w == [json!("--file"), json!("gcdexport/gcs-key.json")]),
        "{args:?}"
    );
}

#[test]
fn a_pod_keeps_its_stamp_and_existing_pull_secret() {
    let c = catalog();
    let request = fixture("bare-pod-with-stamp");
    let pod = apply(
        &request["request"]["object"],
        &patch_of(&review(&c, &serde_json::to_vec(&request).unwrap())).unwrap(),
    );
    assert_eq!(
        pod["metadata"]["annotations"]["stackhook.io/stamp"],
        "-pinn"
    );
    assert!(pod["spec"]["volumes"].as_array().unwrap().contains(
        &json!({"name": "stackhook-config", "configMap": {"name": "orders-stream-worker-pinn"}})
    ));
    let request = fixture("statefulset-pod");
    let pod = apply(
        &request["request"]["object"],
        &patch_of(&review(&c, &serde_json::to_vec(&request).unwrap())).unwrap(),
    );
    assert_eq!(
        pod["spec"]["imagePullSecrets"],
        json!([{"name": "dataos-container-registry"}])
    );
}

#[test]
fn an_injected_pod_is_left_alone_and_an_unknown_workload_is_denied() {
    let c = catalog();
    let r = review(
        &c,
        &serde_json::to_vec(&fixture("already-injected-pod")).unwrap(),
    );
    assert_eq!(r["response"]["allowed"], true);
    assert!(r["response"].get("patch").is_none());
    let r = review(
        &c,
        &serde_json::to_vec(&fixture("unknown-workload-pod")).unwrap(),
    );
    assert_eq!(r["response"]["allowed"], false);
    assert_eq!(r["response"]["status"]["code"], 403);
    assert_eq!(
        r["response"]["status"]["message"],
        "Worker retail/ghost (pod label stackhook.io/workload) not found"
    );
}

#[test]
fn invalid_workloads_are_denied_with_causes() {
    let c = catalog();
    let r = review(
        &c,
        &serde_json::to_vec(&fixture("worker-create-invalid")).unwrap(),
    );
    let resp = &r["response"];
    assert_eq!(resp["allowed"], false);
    assert_eq!(resp["status"]["code"], 422);
    assert_eq!(resp["status"]["reason"], "Invalid");
    assert_eq!(
        resp["status"]["message"],
        "Worker retail/orders-broken: 3 problems:\n- spec.stackSpec: \"input\" is a required property\n- spec.stackSpec.output: \"stdout\" is not of type \"object\"\n- spec.stackSpec.inputs[1]: address \"dataos://nowhere:x\": depot \"nowhere\" not found in namespace \"retail\""
    );
    assert_eq!(
        resp["status"]["details"]["causes"][2],
        json!({"reason": "FieldValueInvalid", "field": "spec.stackSpec.inputs[1]", "message": "address \"dataos://nowhere:x\": depot \"nowhere\" not found in namespace \"retail\""})
    );
    assert_eq!(
        resp["warnings"],
        json!(["spec.stack: \"benthos\" is not pinned; using benthos:3.0 (pin a version)"])
    );
    let r = review(
        &c,
        &serde_json::to_vec(&fixture("stack-delete-in-use")).unwrap(),
    );
    assert_eq!(r["response"]["allowed"], false);
    assert_eq!(
        r["response"]["status"]["message"],
        "Stack benthos-3-0: 1 problem:\n- stack benthos:3.0 is used by 2 workloads: Worker retail/orders-stream, Service retail/orders-api"
    );
    let r = review(&c, &serde_json::to_vec(&fixture("worker-create")).unwrap());
    assert_eq!(r["response"]["allowed"], true);
}

#[test]
fn updates_ratchet_and_a_depot_in_use_is_kept() {
    let c = catalog();
    let body = |name| serde_json::to_vec(&fixture(name)).unwrap();
    // The garbage collector removing the finalizer of a Worker that no longer
    // validates: let through, or the namespace could never be deleted.
    let r = review(&c, &body("worker-update-finalizer-removed"));
    assert_eq!(r["response"]["allowed"], true, "{r}");
    assert!(r["response"].get("warnings").is_none(), "{r}");
    // A label-only edit: allowed, with what is wrong.
    let r = review(&c, &body("worker-update-labels-only"));
    assert_eq!(r["response"]["allowed"], true, "{r}");
    assert_eq!(
        r["response"]["warnings"],
        json!([
            "spec.stack: \"benthos\" is not pinned; using benthos:3.0 (pin a version)",
            "allowed because only metadata changed; the Worker no longer validates:",
            "spec.stackSpec: \"input\" is a required property",
            "spec.stackSpec.output: \"stdout\" is not of type \"object\"",
            "spec.stackSpec.inputs[1]: address \"dataos://nowhere:x\": depot \"nowhere\" not found in namespace \"retail\""
        ])
    );
    // A changed spec is judged in full.
    let r = review(&c, &body("worker-update-spec"));
    assert_eq!(r["response"]["allowed"], false, "{r}");
    assert_eq!(r["response"]["status"]["code"], 422);
    // Deleting a Depot that workloads read.
    let r = review(&c, &body("depot-delete-in-use"));
    assert_eq!(r["response"]["allowed"], false, "{r}");
    assert_eq!(
        r["response"]["status"]["message"],
        "Depot retail/icebase: 1 problem:\n- depot retail/icebase is used by 3 workloads: Worker retail/orders-stream, Service retail/orders-api, Workflow retail/city-export"
    );
}

#[test]
fn undecodable_reviews_are_errors_for_the_caller() {
    let c = catalog();
    let engine = Parts::new(InjectSettings::default());
    let reviewer = engine.reviewer(&c, None);
    let e = reviewer.review(b"{not json").unwrap_err();
    assert!(matches!(e, ReviewError::Decode(_)), "{e}");
    assert!(
        e.to_string().starts_with(
            "cannot decode the AdmissionReview: key must be a string at line 1 column 2"
        ),
        "{e}"
    );
    assert_eq!(
        reviewer.review(br#"{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}"#).unwrap_err(),
        ReviewError::Version("admission.k8s.io/v1beta1".into())
    );
    assert_eq!(
        reviewer
            .review(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#)
            .unwrap_err(),
        ReviewError::NoRequest
    );
    // A stackhook object of the wrong shape is a decision (denied), not an error.
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "kind": {"group": "stackhook.io", "version": "v1alpha1", "kind": "Worker"},
        "operation": "CREATE", "namespace": "retail",
        "object": {"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker", "metadata": {"name": "w", "namespace": "retail"}, "spec": {"stack": 7}}}});
    let r: Value = serde_json::from_slice(
        &reviewer
            .review(&serde_json::to_vec(&body).unwrap())
            .unwrap()
            .0,
    )
    .unwrap();
    assert_eq!(r["response"]["allowed"], false);
    assert_eq!(r["response"]["status"]["code"], 400);
    assert_eq!(
        r["response"]["status"]["details"]["causes"][0]["field"],
        "spec.stack"
    );
}

#[test]
fn review_command_prints_the_response() {
    let run = stackhook(
        &[
            "review",
            "tests/fixtures/reviews/unknown-workload-pod.json",
            "--catalog",
            "examples/catalog",
        ],
        "",
    );
    assert_eq!(run.code, 1);
    let r: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r["response"]["uid"], "0a1b2c3d-0008-4000-8000-000000000008");
    let run = stackhook(
        &["review", "-", "--catalog", "examples/catalog"],
        &std::fs::read_to_string(repo("tests/fixtures/reviews/worker-create.json")).unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = stackhook(&["review", "--catalog", "examples/catalog"], "[]");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>: cannot decode the AdmissionReview: expected a JSON object (an AdmissionReview)\n"
    );
}

#[test]
fn mutate_command_takes_a_deployment_and_prints_it_mutated_or_its_patch() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: orders-stream, namespace: retail}\nspec:\n  selector: {matchLabels: {app: o}}\n  template:\n    metadata: {labels: {app: o, stackhook.io/workload: orders-stream}}\n    spec:\n      containers: [{name: app, image: x}]\n";
    let run = stackhook(&["mutate", "--catalog", "examples/catalog"], deployment);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The Deployment given, named as given, with its pod template mutated.
    let mutated = &goyaml::parse_documents(&run.stdout).unwrap()[0].value;
    assert_eq!(mutated["kind"], "Deployment");
    assert_eq!(mutated["metadata"]["name"], "orders-stream");
    assert_eq!(
        mutated["spec"]["template"]["spec"]["initContainers"][0]["name"],
        "stackhook-project"
    );
    let run = stackhook(
        &["mutate", "--patch", "--catalog", "examples/catalog"],
        deployment,
    );
    let ops: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        ops[0],
        json!({"op": "add", "path": "/spec/template/metadata/annotations", "value": {}})
    );
    assert_eq!(
        ops[1]["path"],
        "/spec/template/metadata/annotations/stackhook.io~1injected"
    );
    let run = stackhook(
        &["mutate", "--catalog", "examples/catalog"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: retail, labels: {stackhook.io/workload: ghost}}\nspec: {containers: [{name: a, image: x}]}\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "<stdin>: denied: Worker retail/ghost (pod label stackhook.io/workload) not found\n"
    );
    let run = stackhook(
        &["mutate"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>: a ConfigMap has no pod; give a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob\n"
    );
}

#[test]
fn render_command_prints_config_maps_and_orchestration_objects() {
    let run = stackhook(&["render", "--catalog", "examples/catalog"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = goyaml::parse_documents(&run.stdout).unwrap();
    let kinds: Vec<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d.value["kind"].as_str().unwrap(),
                d.value["metadata"]["name"].as_str().unwrap()
            )
        })
        .filter(|k| !k.starts_with("ConfigMap/"))
        .collect();
    assert_eq!(
        kinds,
        [
            "Deployment/orders-stream",
            "Deployment/orders-api",
            "Service/orders-api",
            "Ingress/orders-api",
            "CronJob/city-export"
        ]
    );
    for d in docs.iter().filter(|d| d.value["kind"] == "ConfigMap") {
        let cm = &d.value;
        assert_eq!(cm["immutable"], true);
        let name = cm["metadata"]["name"].as_str().unwrap();
        let stamp = cm["metadata"]["labels"]["stackhook.io/stamp"]
            .as_str()
            .unwrap();
        assert!(name.ends_with(&format!("-{stamp}")), "{name} {stamp}");
    }
    let job = docs
        .iter()
        .find(|d| d.value["metadata"]["labels"]["stackhook.io/workload"] == "city-export")
        .unwrap();
    let text = job.value["data"]["job.yaml"].as_str().unwrap();
    assert!(
        text.contains("inputs:\n  - dataset: dataos://icebase:retail/city\n    format: iceberg\n"),
        "{text}"
    );
    if have_tool("kubernetes-validate") {
        let dir = tempfile::tempdir().unwrap();
        assert_kubernetes_valid(&[write(dir.path(), "cms.yaml", &run.stdout)]);
    }
    // A workload given on stdin, with a broken spec: the error, and exit 1.
    let run = stackhook(
        &["render", "--catalog", "examples/catalog", "-"],
        "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: retail}\nspec: {stack: \"flare:6.0\", stackSpec: {inputs: [], steps: [{sql: 1}]}}\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "Workflow retail/w: spec.stackSpec: \"outputs\" is a required property\nWorkflow retail/w: spec.stackSpec.inputs: [] has less than 1 item\n"
    );
    // A spec the schema takes whose template fails: the render's error.
    let run = stackhook(
        &["render", "--catalog", "examples/catalog", "-"],
        "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: retail}\nspec: {stack: \"flare:6.0\", stackSpec: {inputs: [{dataset: \"dataos://icebase:retail/city\"}], outputs: [{dataset: \"dataos://gcdexport:none/c.csv\"}], steps: [{sql: 1}]}}\n",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("Workflow retail/w: spec.stackSpec: configFileTemplate of stack flare:6.0 fails with this spec: template: workflowJobConfig.configFileTemplate:15:21:"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_stackhook_config_in_the_catalog_gives_namespace_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "stackhook-config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stackhook-config, namespace: retail}\ndata:\n  default: |\n    ingressDomainSuffix: apps.retail.example\n",
    );
    let run = stackhook(
        &[
            "render",
            "--catalog",
            "examples/catalog",
            "--catalog",
            config.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("host: orders-api.retail.apps.retail.example"),
        "{}",
        run.stdout
    );
    // An entry that is not usable: its file and position, exit 1; the rest of the
    // catalog is still rendered.
    let broken = write(
        dir.path(),
        "broken.yaml",
        "# settings\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: stackhook-config, namespace: retail}\ndata:\n  x: |\n    colour: blue\n",
    );
    let run = stackhook(
        &[
            "render",
            "--catalog",
            "examples/catalog",
            "--catalog",
            broken.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("kind: Deployment"), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "{}:2:1: retail/stackhook-config entry \"x\": unknown field `colour`",
            broken.display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn one_memo_across_pods_of_every_shape_answers_as_building_anew() {
    // The webhook keeps one memo per catalog for all pods: pods of one workload with
    // different shapes (another container, their own Stamp, init containers, env
    // they set) must each get their own patch.
    let c = catalog();
    let engine = Parts::new(InjectSettings::default());
    let memo = InjectMemo::new();
    let reviewer = |memo| engine.reviewer(&c, memo);
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(repo("tests/fixtures/reviews")).unwrap() {
        let path = entry.unwrap().path();
        let mut review: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        bodies.push((name.clone(), serde_json::to_vec(&review).unwrap()));
        // The same pod with an env var of its own, and with one of the variables
        // stackhook would add: the same lists, not the same patch.
        for var in ["APP_MODE", "LOG_LEVEL"] {
            if let Some(container) = review.pointer_mut("/request/object/spec/containers/0") {
                container["env"] = json!([{"name": var, "value": "x"}]);
                bodies.push((
                    format!("{name} + {var}"),
                    serde_json::to_vec(&review).unwrap(),
                ));
            }
        }
    }
    let mut patched = 0;
    for round in ["cold", "warm"] {
        for (name, body) in &bodies {
            let built = reviewer(None).review(body).unwrap();
            let kept = reviewer(Some(&memo)).review(body).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&kept.0),
                String::from_utf8_lossy(&built.0),
                "{name}, {round} memo"
            );
            patched += usize::from(built.1.patched);
        }
    }
    assert!(patched >= 10, "{patched}");
    let (plans, patches) = memo.sizes();
    assert!(
        plans >= 3 && patches > plans,
        "{plans} plans, {patches} patches"
    );
}

#[test]
fn the_release_namespaces_stackhook_config_counts_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "stackhook-config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stackhook-config, namespace: stackhook-system}\ndata:\n  default: |\n    ingressDomainSuffix: apps.platform.example\n",
    );
    let render = |extra: &[&str]| {
        let mut args = vec![
            "render",
            "--catalog",
            "examples/catalog",
            "--catalog",
            config.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        stackhook(&args, "")
    };
    // The default release namespace, as the chart installs it.
    let run = render(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("host: orders-api.retail.apps.platform.example"),
        "{}",
        run.stdout
    );
    // Another release namespace: that ConfigMap is just another namespace's.
    let run = render(&["--release-namespace", "elsewhere"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("host: orders-api.retail.example.com"),
        "{}",
        run.stdout
    );
}
