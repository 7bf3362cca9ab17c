use serde_json::{Value, json};

use super::*;
use crate::admit::{Operation, Verdict};
use crate::inject::InjectSettings;
use crate::model::Resource;
use crate::orchestrate::{self, Dag, OrchestrateError, OrchestrateSettings};
use crate::review::Reviewer;
use crate::settings::Settings;
use crate::test_support::{Fixture, resources};

/// A Stack in `{mode}`, with a schema, an address filter and a template that needs
/// `name` only when `fail` is set.
fn catalog(mode: &str) -> String {
    format!(
        r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {{name: flare-1, uid: s1, generation: 1}}
spec:
  name: flare
  version: "1"
  {mode}
  dataOsAddressJqFilters: [".inputs[]"]
  image: {{registry: r.io, repository: team, image: flare, tag: "1"}}
  stackSpecValueSchema:
    jsonSchema: |
      {{"type": "object", "required": ["inputs"], "properties": {{"inputs": {{"type": "array", "items": {{"type": "string"}}}}, "replicas": {{"type": "integer", "minimum": 1}}}}}}
  workerConfig:
    configFileTemplate: |
      {{{{ if .ApplicationSpec.StackSpec.fail }}}}{{{{ fail "cannot render" }}}}{{{{ end }}}}app.yaml: ok
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {{name: icebase, namespace: retail, uid: d1, generation: 1}}
spec: {{type: ABFSS, secrets: [{{name: icebase-r, acl: r}}]}}
"#
    )
}

fn worker(spec: &str) -> Resource {
    resources(&format!(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {{name: w, namespace: retail, uid: w1, generation: 1}}\nspec: {spec}\n"
    ))
    .remove(0)
}

/// A `stackSpec` the schema refuses twice (`replicas` below its minimum, `inputs`
/// missing), whose config still renders.
const NON_CONFORMING: &str = r#"{stack: "flare:1", stackSpec: {replicas: 0}}"#;

fn verdict(f: &Fixture, spec: &str) -> Verdict {
    f.engine().resource(&worker(spec), Operation::Create)
}

fn texts(v: &[crate::admit::Violation]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn namespace_says(f: &mut Fixture, mode: Enforcement) {
    f.catalog.set_settings(
        "retail",
        vec![(
            "default".into(),
            Settings {
                enforcement: Some(mode),
                ..Settings::default()
            },
        )],
    );
}

const SCHEMA_VIOLATIONS: [&str; 2] = [
    "spec.stackSpec: \"inputs\" is a required property",
    "spec.stackSpec.replicas: 0 is less than the minimum of 1",
];

#[test]
fn enforce_is_the_default_and_denies_every_violation() {
    let f = Fixture::new(&catalog(""));
    let v = verdict(&f, NON_CONFORMING);
    assert!(!v.allowed());
    assert_eq!(v.enforcement, Enforcement::Enforce);
    assert_eq!(texts(&v.violations), SCHEMA_VIOLATIONS);
    assert!(v.relaxed.is_empty());
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    // Said explicitly, the same.
    let f = Fixture::new(&catalog("enforcement: Enforce"));
    assert_eq!(verdict(&f, NON_CONFORMING).violations, v.violations);
}

#[test]
fn warn_admits_and_returns_each_violation_as_a_prefixed_warning() {
    let f = Fixture::new(&catalog("enforcement: Warn"));
    let v = verdict(&f, NON_CONFORMING);
    assert!(v.allowed(), "{v:?}");
    assert_eq!(v.enforcement, Enforcement::Warn);
    assert_eq!(texts(&v.relaxed), SCHEMA_VIOLATIONS);
    assert_eq!(
        v.warnings,
        SCHEMA_VIOLATIONS.map(|s| format!("would be denied under Enforce: {s}"))
    );
}

#[test]
fn audit_admits_silently_and_keeps_the_violations_for_the_controller() {
    let f = Fixture::new(&catalog("enforcement: Audit"));
    let v = verdict(&f, NON_CONFORMING);
    assert!(v.allowed(), "{v:?}");
    assert_eq!(v.enforcement, Enforcement::Audit);
    assert_eq!(texts(&v.relaxed), SCHEMA_VIOLATIONS);
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
}

#[test]
fn the_namespace_overrides_the_stack_both_ways() {
    // The Stack enforces; the namespace relaxes it.
    let mut f = Fixture::new(&catalog(""));
    namespace_says(&mut f, Enforcement::Warn);
    let v = verdict(&f, NON_CONFORMING);
    assert!(v.allowed(), "{v:?}");
    assert_eq!(v.enforcement, Enforcement::Warn);
    // The Stack audits; the namespace enforces.
    let mut f = Fixture::new(&catalog("enforcement: Audit"));
    namespace_says(&mut f, Enforcement::Enforce);
    let v = verdict(&f, NON_CONFORMING);
    assert_eq!(texts(&v.violations), SCHEMA_VIOLATIONS);
    assert!(v.relaxed.is_empty());
}

#[test]
fn a_missing_depot_is_admitted_under_warn() {
    let f = Fixture::new(&catalog("enforcement: Warn"));
    let v = verdict(
        &f,
        r#"{stack: "flare:1", stackSpec: {inputs: ["dataos://nowhere:a/b", "dataos://icebase:a/b"]}}"#,
    );
    assert!(v.allowed(), "{v:?}");
    // Cut, as every warning is, to what kubectl shows.
    assert_eq!(
        v.warnings,
        [
            "would be denied under Enforce: spec.stackSpec.inputs[0]: address \"dataos://nowhere:a/b\": depot \"nowhere\" not found i…"
        ]
    );
}

#[test]
fn what_would_break_the_workload_is_denied_in_every_mode() {
    for mode in ["enforcement: Warn", "enforcement: Audit"] {
        let f = Fixture::new(&catalog(mode));
        // No such Stack.
        let v = verdict(&f, r#"{stack: "flare:2", stackSpec: {inputs: []}}"#);
        assert!(!v.allowed(), "{mode}");
        assert!(
            v.violations[0].to_string().starts_with("spec.stack: "),
            "{v:?}"
        );
        // A ServiceAccount nobody granted.
        let v = verdict(
            &f,
            r#"{stack: "flare:1", serviceAccountName: admin, stackSpec: {inputs: []}}"#,
        );
        assert!(!v.allowed(), "{mode}");
        assert!(
            v.violations[0]
                .to_string()
                .starts_with("spec.serviceAccountName: service account \"admin\""),
            "{v:?}"
        );
        // A config that does not render: the relaxed violations are kept beside it.
        let v = verdict(&f, r#"{stack: "flare:1", stackSpec: {fail: true}}"#);
        assert_eq!(
            texts(&v.violations),
            [
                "spec.stackSpec: configFileTemplate of stack flare:1 fails with this spec: template: workerConfig.configFileTemplate:1:43: executing \"workerConfig.configFileTemplate\" at <fail \"cannot render\">: error calling fail: cannot render"
            ],
            "{mode}"
        );
        assert_eq!(
            texts(&v.relaxed),
            ["spec.stackSpec: \"inputs\" is a required property"],
            "{mode}"
        );
    }
}

#[test]
fn a_workflow_is_held_to_its_strictest_stack() {
    let mut text = catalog("enforcement: Audit");
    text.push_str(
        "---\napiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: strict-1, uid: s2, generation: 1}\nspec: {name: strict, version: \"1\", image: {registry: r.io, repository: team, image: s, tag: \"1\"}, workflowJobConfig: {}}\n",
    );
    let text = text.replace(
        "  workerConfig:",
        "  workflowJobConfig: {}\n  workerConfig:",
    );
    let f = Fixture::new(&text);
    let workflow = |second: &str| {
        resources(&format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {{name: wf, namespace: retail}}\nspec:\n  stack: \"flare:1\"\n  stackSpec: {{replicas: 0, inputs: []}}\n  dag:\n  - {{name: a}}\n  - {{name: b, stack: \"{second}\", stackSpec: {{}}}}\n"
        ))
        .remove(0)
    };
    let v = f.engine().resource(&workflow("flare:1"), Operation::Create);
    assert!(v.allowed(), "{v:?}");
    let v = f
        .engine()
        .resource(&workflow("strict:1"), Operation::Create);
    assert_eq!(v.enforcement, Enforcement::Enforce);
    assert!(!v.allowed(), "{v:?}");
}

#[test]
fn judging_splits_only_what_the_mode_admits() {
    let schema = Problem::Schema {
        path: "spec.stackSpec.a".into(),
        message: "bad".into(),
    };
    let field = Problem::Field {
        path: "spec.autoScaling.maxReplicas".into(),
        message: "is required".into(),
    };
    let both = vec![schema.clone(), field.clone()];
    let j = judge(Enforcement::Enforce, both.clone());
    assert_eq!((j.denied.len(), j.relaxed.len()), (2, 0));
    for mode in [Enforcement::Warn, Enforcement::Audit] {
        let j = judge(mode, both.clone());
        assert_eq!(j.denied, std::slice::from_ref(&field));
        assert_eq!(j.relaxed, std::slice::from_ref(&schema));
        assert!(!j.allowed());
    }
    assert!(judge(Enforcement::Audit, vec![schema]).allowed());
}

#[test]
fn the_controller_makes_the_objects_of_an_audited_workload_and_names_the_violations() {
    let f = Fixture::new(&catalog("enforcement: Audit"));
    let Resource::Workload(w) = worker(NON_CONFORMING) else {
        unreachable!()
    };
    let planned =
        orchestrate::plan(&f.engine(), &w, &OrchestrateSettings::default(), &Dag::All).unwrap();
    assert_eq!(planned.enforcement, Enforcement::Audit);
    assert_eq!(
        planned.relaxed.iter().map(Problem::at).collect::<Vec<_>>(),
        SCHEMA_VIOLATIONS
    );
    let kinds: Vec<&str> = planned
        .objects
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "Deployment"]);
    // Under Enforce, nothing is made.
    let f = Fixture::new(&catalog(""));
    let e =
        orchestrate::plan(&f.engine(), &w, &OrchestrateSettings::default(), &Dag::All).unwrap_err();
    assert!(matches!(e, OrchestrateError::Invalid(p) if p.len() == 2));
}

fn review(f: &Fixture, object: &Value, kind: &str) -> Value {
    let body = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u1", "kind": {"group": if kind == "Pod" {""} else {"stackhook.io"}, "version": "v1", "kind": kind},
            "namespace": "retail", "operation": "CREATE", "object": object}
    });
    let settings = InjectSettings::default();
    let reviewer = Reviewer::new(f.engine(), &settings);
    let (bytes, _) = reviewer.review(body.to_string().as_bytes()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_webhook_answers_warn_with_warnings_and_audit_with_none() {
    let object = json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": "w", "namespace": "retail"},
        "spec": {"stack": "flare:1", "stackSpec": {"replicas": 0}}});
    let f = Fixture::new(&catalog("enforcement: Warn"));
    let r = review(&f, &object, "Worker");
    assert_eq!(r["response"]["allowed"], true);
    assert_eq!(
        r["response"]["warnings"],
        json!(SCHEMA_VIOLATIONS.map(|s| format!("would be denied under Enforce: {s}")))
    );
    let f = Fixture::new(&catalog("enforcement: Audit"));
    let r = review(&f, &object, "Worker");
    assert_eq!(r["response"]["allowed"], true);
    assert!(r["response"].get("warnings").is_none(), "{r}");
    // The API server's audit log has them (the webhook's name prefixes the key).
    assert_eq!(
        r["response"]["auditAnnotations"],
        json!({"violations": format!("Audit: {}", SCHEMA_VIOLATIONS.join("; "))})
    );
    // A conforming workload: none.
    let mut conforming = object.clone();
    conforming["spec"]["stackSpec"] = json!({"inputs": []});
    let r = review(&f, &conforming, "Worker");
    assert!(r["response"].get("auditAnnotations").is_none(), "{r}");
}

#[test]
fn a_pod_of_a_workload_admitted_under_warn_is_injected_without_the_missing_depot() {
    let mut text = catalog("enforcement: Warn");
    text.push_str("---\napiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: retail, uid: w1, generation: 1}\nspec: {stack: \"flare:1\", stackSpec: {replicas: 0, inputs: [\"dataos://nowhere:a/b\", \"dataos://icebase:a/b\"]}}\n");
    let f = Fixture::new(&text);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "w-", "namespace": "retail", "labels": {"stackhook.io/workload": "w"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]}});
    let r = review(&f, &pod, "Pod");
    assert_eq!(r["response"]["allowed"], true, "{r}");
    assert_eq!(
        r["response"]["warnings"],
        json!([
            "Worker retail/w: not mounted: spec.stackSpec.inputs[0]: address \"dataos://nowhere:a/b\": depot \"nowhere\" not found in…"
        ])
    );
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD
        .decode(r["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    let text = patch.to_string();
    assert!(text.contains("stackhook-depot-icebase-r"), "{text}");
    assert!(!text.contains("nowhere"), "{text}");
    assert!(text.contains("stackhook-config"), "{text}");
}
