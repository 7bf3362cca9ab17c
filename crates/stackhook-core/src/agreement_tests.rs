//! One answer everywhere, checked over generated catalogs and workloads and over every
//! example: the webhook's verdict on a workload (an AdmissionReview through
//! [`Reviewer`]) equals `stackhook validate`'s ([`Engine::resource`]) and the
//! controller's `Validated` condition ([`orchestrate::desired`] succeeds or says why);
//! and for a valid workload, the ConfigMap its mutated pods mount is the one
//! `stackhook render` prints ([`resolve::config_map`]) and the one the controller
//! applies.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::admit::Operation;
use crate::inject::InjectSettings;
use crate::model::{Resource, Workload};
use crate::orchestrate::{self, Dag, OrchestrateError, OrchestrateSettings};
use crate::resolve;
use crate::review::Reviewer;
use crate::test_support::{Fixture, resources};

const STACKS: &str = include_str!("../../../examples/catalog/stack-benthos.yaml");
const FLARE: &str = include_str!("../../../examples/catalog/stack-flare.yaml");
const DEPOTS: &str = include_str!("../../../examples/catalog/depots.yaml");
const WORKLOADS: &str = include_str!("../../../examples/catalog/workloads.yaml");
/// Workloads (and workload reviews) of the integration tests' fixtures.
const FIXTURES: &[&str] = &[
    include_str!("../../../tests/fixtures/worker.json"),
    include_str!("../../../tests/fixtures/worker-invalid.json"),
    include_str!("../../../tests/fixtures/reviews/worker-create.json"),
    include_str!("../../../tests/fixtures/reviews/worker-create-invalid.json"),
];

/// What each of the three consumers says about one workload.
#[derive(Debug)]
struct Answers {
    validate: bool,
    webhook: bool,
    controller: bool,
    /// The ConfigMaps (by name) of each, when the workload is valid.
    mounted: Vec<String>,
    rendered: Vec<String>,
    applied: Vec<String>,
}

fn review_of(kind: &str, object: &Value) -> String {
    let group = if kind == "Pod" { "" } else { "stackhook.io" };
    let version = if kind == "Pod" { "v1" } else { "v1alpha1" };
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u1",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": "x"},
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": object,
        }
    })
    .to_string()
}

fn webhook(fixture: &Fixture, kind: &str, object: &Value) -> Value {
    let config = InjectSettings::default();
    let reviewer = Reviewer::new(fixture.engine(), &config);
    let (bytes, _) = reviewer
        .review(review_of(kind, object).as_bytes())
        .expect("a well-formed review is answered");
    serde_json::from_slice::<Value>(&bytes).expect("the answer is JSON")["response"].clone()
}

/// The names of the ConfigMaps a pod of `workload` mounts after the webhook's patch.
fn mounted_config_maps(fixture: &Fixture, workload: &Workload) -> Vec<String> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "generateName": format!("{}-", workload.name()),
            "namespace": workload.namespace(),
            "labels": {
                crate::render::WORKLOAD_LABEL: workload.name(),
                crate::render::WORKLOAD_KIND_LABEL: workload.kind().kind(),
            },
        },
        "spec": {"containers": [{"name": "main", "image": "app"}]},
    });
    let response = webhook(fixture, "Pod", &pod);
    assert_eq!(response["allowed"], true, "{response}");
    let Some(patch) = response["patch"].as_str() else {
        return Vec::new();
    };
    let patch: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(patch)
            .expect("the patch is base64"),
    )
    .expect("the patch is JSON");
    let mut names: Vec<String> = patch
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|op| {
            let value = &op["value"];
            // A whole `volumes` list or one volume appended.
            match value.as_array() {
                Some(list) => list.clone(),
                None => vec![value.clone()],
            }
        })
        .filter_map(|v| v["configMap"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn config_map_names(objects: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Asks all three about `workload` over `fixture`'s catalog (the workload itself is
/// added to the catalog for the pod and controller questions, as it would be once
/// admitted).
fn answers(fixture: &mut Fixture, workload: &Workload, object: &Value) -> Answers {
    let resource = Resource::Workload(workload.clone());
    let validate = fixture
        .engine()
        .resource(&resource, Operation::Create)
        .allowed();
    let webhook = webhook(fixture, workload.kind().kind(), object)["allowed"] == true;
    fixture
        .catalog
        .insert(resource)
        .expect("the workload goes into the catalog");
    let engine = fixture.engine();
    let desired = orchestrate::desired(
        &engine,
        workload,
        &OrchestrateSettings::default(),
        &Dag::All,
    );
    let controller = match &desired {
        Ok(_) => true,
        Err(OrchestrateError::Invalid(problems)) => {
            assert!(!problems.is_empty(), "invalid without a problem");
            false
        }
        // A render failure is a dry-render problem admission reports too.
        Err(OrchestrateError::Render(_)) => false,
        // No allow-list is given here: every kind may be made.
        Err(e @ OrchestrateError::KindNotAllowed { .. }) => panic!("{e}"),
    };
    let (mut mounted, mut rendered, mut applied) = (Vec::new(), Vec::new(), Vec::new());
    if controller {
        applied = config_map_names(desired.as_deref().unwrap_or_default());
        let (resolution, problems) = resolve::problems(&engine, workload);
        assert!(problems.is_empty(), "{problems:?}");
        let maps: Vec<Value> = resolution
            .units
            .iter()
            .filter(|r| r.has_config(workload))
            .map(|r| resolve::config_map(&engine, workload, r).expect("renders"))
            .collect();
        rendered = config_map_names(&maps);
        if !matches!(workload, Workload::Workflow(_)) {
            mounted = mounted_config_maps(fixture, workload);
        } else {
            // A Workflow's pods are its Jobs' and name their step; compare with what
            // the controller applies instead.
            mounted.clone_from(&applied);
        }
    }
    Answers {
        validate,
        webhook,
        controller,
        mounted,
        rendered,
        applied,
    }
}

fn assert_agree(a: &Answers, what: &str) {
    assert_eq!(
        (a.validate, a.webhook, a.controller),
        (a.validate, a.validate, a.validate),
        "validate, webhook and controller disagree on {what}: {a:?}"
    );
    assert_eq!(a.mounted, a.rendered, "{what}: {a:?}");
    assert_eq!(a.rendered, a.applied, "{what}: {a:?}");
}

fn workload_of(value: &Value) -> Workload {
    let text = serde_json::to_string(value).unwrap();
    match resources(&text).pop() {
        Some(Resource::Workload(w)) => w,
        other => panic!("not a workload: {other:?}"),
    }
}

#[test]
fn every_fixture_workload_gets_one_answer() {
    let all = format!("{STACKS}\n---\n{FLARE}\n---\n{DEPOTS}");
    let mut valid = 0;
    for text in FIXTURES {
        let value: Value = serde_json::from_str(text).unwrap();
        // A review's object, or the object itself.
        let object = match value.pointer("/request/object") {
            Some(o) => o.clone(),
            None => value,
        };
        let mut fixture = Fixture::new(&all);
        let workload = workload_of(&object);
        let a = answers(&mut fixture, &workload, &object);
        valid += usize::from(a.validate);
        assert_agree(&a, workload.name());
    }
    assert_eq!(valid, 2, "two of the fixtures are valid, two are not");
}

#[test]
fn every_example_workload_gets_one_answer() {
    let all = format!("{STACKS}\n---\n{FLARE}\n---\n{DEPOTS}");
    let docs = goyaml::parse_documents(WORKLOADS).unwrap();
    assert!(docs.len() >= 3);
    for doc in docs {
        let mut fixture = Fixture::new(&all);
        let workload = workload_of(&doc.value);
        let a = answers(&mut fixture, &workload, &doc.value);
        assert!(a.validate, "the example {} is valid", workload.name());
        assert!(!a.rendered.is_empty() || matches!(workload, Workload::Workflow(_)));
        assert_agree(&a, workload.name());
    }
}

const ADDRESSES: &[&str] = &[
    "dataos://icebase:retail/orders",
    "dataos://icebase:retail/orders?acl=rw",
    "dataos://gcdexport:none/city/city.csv",
    "dataos://nowhere:retail/orders",
    "dataos://icebase",
    "not an address",
];

/// Mostly addresses that resolve, sometimes one that does not.
fn address() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => prop::sample::select(&ADDRESSES[..3]),
        1 => prop::sample::select(&ADDRESSES[3..]),
    ]
}

prop_compose! {
    fn generated()(
        kind in prop::sample::select(vec!["Worker", "Service"]),
        stack in prop_oneof![6 => Just("benthos:3.0"), 1 => Just("benthos:9.9"), 1 => Just("flare:6.0")],
        with_input in prop::bool::weighted(0.9),
        inputs in prop::collection::vec(address(), 0..3),
        outputs in prop::collection::vec(address(), 0..2),
        replicas in 0u32..4,
        log_level in prop_oneof![4 => Just("INFO"), 4 => Just("DEBUG"), 1 => Just("LOUD")],
        wrong_input_type in prop::bool::weighted(0.1),
        depots in prop::collection::vec(prop::bool::weighted(0.8), 3),
    ) -> (Value, Vec<bool>) {
        let mut stack_spec = json!({"inputs": inputs, "outputs": outputs});
        if with_input {
            stack_spec["input"] = if wrong_input_type { json!("text") } else { json!({"http_server": {}}) };
        }
        let mut spec = json!({"stack": stack, "replicas": replicas, "logLevel": log_level, "stackSpec": stack_spec});
        if kind == "Service" {
            spec["servicePort"] = json!(8080);
        }
        let object = json!({
            "apiVersion": "stackhook.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": "generated", "namespace": "retail", "uid": "g-1", "generation": 1},
            "spec": spec,
        });
        (object, depots)
    }
}

/// The example Depots, each kept or dropped.
fn catalog_text(keep: &[bool]) -> String {
    let depots: Vec<&str> = DEPOTS
        .split("\n---\n")
        .zip(keep.iter().chain(std::iter::repeat(&true)))
        .filter_map(|(d, k)| k.then_some(d))
        .collect();
    format!("{STACKS}\n---\n{FLARE}\n---\n{}", depots.join("\n---\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_workloads_get_one_answer((object, depots) in generated()) {
        let mut fixture = Fixture::new(&catalog_text(&depots));
        let workload = workload_of(&object);
        let a = answers(&mut fixture, &workload, &object);
        assert_agree(&a, &object.to_string());
    }
}
