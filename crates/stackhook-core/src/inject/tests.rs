use serde_json::json;

use super::*;
use crate::settings::Settings;
use crate::test_support::Fixture;

/// A Stack reading depot addresses, a Depot, and a Worker `w` of ns1 using both.
pub(super) const CATALOG: &str = r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: app-1, uid: s1, generation: 1}
spec:
  name: app
  version: "1"
  image: {registry: r.io, repository: team, image: app, tag: "1.2"}
  dataOsAddressJqFilters: [".inputs[]"]
  workerConfig: {}
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {name: lake, namespace: ns1, uid: d1, generation: 1}
spec: {type: S3, secrets: [{name: lake-r, acl: r}]}
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: w, namespace: ns1, uid: w1, generation: 1, labels: {env: prod}}
spec: {stack: "app:1", stackSpec: {inputs: ["dataos://lake:raw"]}}
"#;

/// The init containers the patch adds, with `settings` as ns1's
/// `stackhook-config` and `annotations` on the pod.
fn init_containers(settings: &[(&str, Settings)], annotations: Value) -> Vec<Value> {
    let mut fixture = Fixture::new(CATALOG);
    fixture.catalog.set_settings(
        "ns1",
        settings
            .iter()
            .map(|(k, s)| ((*k).to_owned(), s.clone()))
            .collect(),
    );
    let engine = fixture.engine();
    let pod = json!({
        "metadata": {"namespace": "ns1", "labels": {WORKLOAD_LABEL: "w", WORKLOAD_KIND_LABEL: "Worker"},
                     "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "app"}]},
    });
    let ops = inject_json(&pod.to_string(), "ns1", &engine, &InjectSettings::default())
        .unwrap()
        .unwrap();
    ops.iter()
        .filter(|op| op.path == "/spec/initContainers")
        .flat_map(|op| op.value.as_array().cloned().unwrap_or_default())
        .collect()
}

/// The names and images of [`init_containers`].
fn init_images(settings: &[(&str, Settings)], annotations: Value) -> Vec<(String, String)> {
    init_containers(settings, annotations)
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["image"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn settings(selector: &[(&str, &str)], image: Option<&str>, refresh: Option<bool>) -> Settings {
    Settings {
        selector: selector
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        projector_image: image.map(str::to_owned),
        secret_refresh: refresh,
        ..Settings::default()
    }
}

#[test]
fn a_pod_of_a_workload_that_cannot_be_decoded_is_refused_saying_so_not_not_found() {
    let mut fixture = Fixture::new(CATALOG);
    fixture.catalog.insert_undecodable(
        crate::catalog::WorkloadKey {
            namespace: "ns1".into(),
            kind: WorkloadKind::Worker,
            name: "broken".into(),
        },
        &["app:1"],
    );
    let engine = fixture.engine();
    let pod = |name: &str| {
        json!({
            "metadata": {"namespace": "ns1", "labels": {WORKLOAD_LABEL: name, WORKLOAD_KIND_LABEL: "Worker"}},
            "spec": {"containers": [{"name": "app", "image": "app"}]},
        })
        .to_string()
    };
    let e = inject_json(&pod("broken"), "ns1", &engine, &InjectSettings::default())
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, InjectError::Undecodable(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Worker ns1/broken is in the catalog but its kept copy cannot be decoded"
    );
    // One that is not there at all is still "not found".
    let e = inject_json(&pod("absent"), "ns1", &engine, &InjectSettings::default())
        .unwrap()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Worker ns1/absent (pod label stackhook.io/workload) not found"
    );
}

#[test]
fn the_namespace_settings_pick_the_projector_image_and_refresh() {
    let default_image = InjectSettings::default().projector_image;
    assert_eq!(
        init_images(&[], json!({})),
        [(PROJECTOR_NAME.to_owned(), default_image)]
    );
    // The most specific matching entry wins; the prod one matches the workload's labels.
    let entries = [
        ("all", settings(&[], Some("mirror.io/stackhook:1"), None)),
        (
            "prod",
            settings(&[("env", "prod")], Some("prod.io/stackhook:1"), Some(true)),
        ),
        (
            "dev",
            settings(&[("env", "dev")], Some("dev.io/stackhook:1"), None),
        ),
    ];
    assert_eq!(
        init_images(&entries, json!({})),
        [
            (PROJECTOR_NAME.to_owned(), "prod.io/stackhook:1".to_owned()),
            (REFRESH_NAME.to_owned(), "prod.io/stackhook:1".to_owned()),
        ]
    );
    // The pod's own annotation overrides the namespace's refresh default.
    assert_eq!(
        init_images(&entries, json!({SECRET_REFRESH_ANNOTATION: "false"})),
        [(PROJECTOR_NAME.to_owned(), "prod.io/stackhook:1".to_owned())]
    );
}

#[test]
fn the_namespace_settings_pick_the_projector_resources() {
    let small = json!({"limits": {"memory": "32Mi"}});
    let entries = [(
        "all",
        Settings {
            projector_resources: Some(small.clone()),
            ..Settings::default()
        },
    )];
    assert_eq!(init_containers(&entries, json!({}))[0]["resources"], small);
    assert_eq!(
        init_containers(&[], json!({}))[0]["resources"],
        InjectSettings::default().projector_resources
    );
}

#[test]
fn every_key_read_on_a_pod_has_our_prefix() {
    // The pod view keeps only `stackhook.io/` labels and annotations.
    for key in [
        WORKLOAD_LABEL,
        WORKLOAD_KIND_LABEL,
        STEP_LABEL,
        CONTAINER_ANNOTATION,
        SECRET_REFRESH_ANNOTATION,
        INJECTED_ANNOTATION,
        STAMP_ANNOTATION,
    ] {
        assert!(key.starts_with(OUR_PREFIX), "{key}");
    }
}

#[test]
fn labels_and_annotations_keep_our_keys_only_and_the_last_duplicate() {
    let view: PodView<'_> = serde_json::from_str(
        r#"{"metadata": {"labels": {"app": "x", "stackhook.io/workload": "a", "stackhook.io/workload": "b"},
            "annotations": {"other": {"not": "a string"}, "stackhook.io/stamp": "s1"}}}"#,
    )
    .unwrap();
    assert_eq!(view.label(WORKLOAD_LABEL), Some("b"));
    assert_eq!(view.label("app"), None);
    assert_eq!(view.annotation(STAMP_ANNOTATION), Some("s1"));
    assert_eq!(
        view.metadata.annotations.as_ref().map(|a| a.0.len()),
        Some(1)
    );
    let e = read_pod(r#"{"metadata": {"labels": {"stackhook.io/workload": 3}}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the pod cannot be read: invalid type: integer `3`, expected a string at line 1 column 51"
    );
}

#[test]
fn a_pod_that_mounts_our_volumes_itself_gets_no_second_volume_or_mount() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let ops_for = |spec: Value| {
        let pod = json!({
            "metadata": {"namespace": "ns1", "labels": {WORKLOAD_LABEL: "w", WORKLOAD_KIND_LABEL: "Worker"}},
            "spec": spec,
        });
        inject_json(&pod.to_string(), "ns1", &engine, &InjectSettings::default())
            .unwrap()
            .unwrap()
            .into_iter()
            .flat_map(|op| {
                let values = match &op.value {
                    Value::Array(items) => items.clone(),
                    one => vec![one.clone()],
                };
                values
                    .into_iter()
                    .map(|v| format!("{} {}", op.path, v["name"].as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
            })
            .filter(|l| l.contains("olume"))
            .collect::<Vec<_>>()
    };
    // A plain pod: the secrets volume, and its mount in the program's container.
    let plain = ops_for(json!({"containers": [{"name": "app", "image": "app"}]}));
    assert!(
        plain
            .iter()
            .any(|l| l.ends_with("/spec/volumes stackhook-secrets")
                || l.ends_with("/spec/volumes/- stackhook-secrets")),
        "{plain:?}"
    );
    assert!(
        plain.contains(&"/spec/containers/0/volumeMounts stackhook-secrets".to_owned()),
        "{plain:?}"
    );
    // A pod made from a DataOS template (dataos-secret-mount renamed by the
    // controller): the projector still mounts it; nothing is added twice.
    let own = ops_for(json!({
        "containers": [{"name": "app", "image": "app",
                        "volumeMounts": [{"name": "stackhook-secrets", "mountPath": "/etc/dataos/secret"}]}],
        "volumes": [{"name": "stackhook-secrets", "emptyDir": {"medium": "Memory"}}],
    }));
    assert!(
        !own.iter().any(|l| l.ends_with(" stackhook-secrets")),
        "{own:?}"
    );
    assert!(
        own.iter().any(|l| l.contains("stackhook-depot-lake-r")),
        "{own:?}"
    );
}

#[test]
fn a_kept_plan_survives_changes_that_do_not_touch_its_workload() {
    let mut fixture = Fixture::new(CATALOG);
    let memo = InjectMemo::new();
    let pod = json!({
        "metadata": {"namespace": "ns1", "labels": {WORKLOAD_LABEL: "w", WORKLOAD_KIND_LABEL: "Worker"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]},
    })
    .to_string();
    let view = read_pod(&pod).unwrap();
    let patch_of = |outcome| match outcome {
        PodOutcome::Patch(injected) => injected,
        other => panic!("no patch: {other:?}"),
    };
    let first = patch_of(encoded_patch(
        &pod,
        "ns1",
        &fixture.engine(),
        &InjectSettings::default(),
        Some(&memo),
    ));
    let kept = |f: &Fixture| kept_patch_of(&view, "ns1", &f.catalog, &memo).is_some();
    assert!(kept(&fixture));
    // Another namespace's workload changes: the plan is still the one to give.
    let mut next = fixture.catalog.clone();
    for r in crate::test_support::resources(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: other, namespace: ns2}\nspec: {stack: \"app:1\"}\n",
    ) {
        next.insert(r).unwrap();
    }
    fixture.catalog.update_to(&next);
    assert!(kept(&fixture));
    // Its Stack changes: the kept plan is not found again, and a new one is made.
    let mut next = fixture.catalog.clone();
    for r in crate::test_support::resources(&CATALOG.replace(
        "generation: 1}\nspec:\n  name: app",
        "generation: 2}\nspec:\n  name: app",
    )) {
        next.insert(r).unwrap();
    }
    let touched = fixture.catalog.update_to(&next);
    assert!(
        matches!(&touched, crate::catalog::Dependents::Some(k) if k.iter().any(|k| k.name == "w")),
        "{touched:?}"
    );
    assert!(!kept(&fixture));
    let second = patch_of(encoded_patch(
        &pod,
        "ns1",
        &fixture.engine(),
        &InjectSettings::default(),
        Some(&memo),
    ));
    // The Stack's new generation is a new Stamp.
    assert_ne!(first.patch, second.patch);
}
