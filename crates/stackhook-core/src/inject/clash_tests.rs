//! Collisions and idempotence: what a Pod already has is never taken over or
//! shadowed, an earlier injection is recognised from the Pod's content, and every Pod
//! the tests mutate passes the API server's rules ([`pod_rules::check`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::test_support::Fixture;

const CATALOG: &str = r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: app-1, uid: s1, generation: 1}
spec:
  name: app
  version: "1"
  image: {registry: r.io, repository: team, image: app, tag: "1.2", auth: {imagePullSecret: regcred}}
  dataOsAddressJqFilters: [".inputs[]"]
  workerConfig:
    configFileTemplate: "app.yaml: |\n  name: {{ .Name }}\n"
---
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: env-1, uid: s2, generation: 1}
spec:
  name: env
  version: "1"
  secretProjection: {type: envVars}
  dataOsAddressJqFilters: [".inputs[]"]
  workerConfig: {}
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: e, namespace: ns1, uid: w2, generation: 1}
spec: {stack: "env:1", stackSpec: {inputs: ["dataos://lake:raw"]}}
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {name: lake, namespace: ns1, uid: d1, generation: 1}
spec: {type: S3, secrets: [{name: lake-r, acl: r}]}
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: w, namespace: ns1, uid: w1, generation: 1}
spec: {stack: "app:1", stackSpec: {inputs: ["dataos://lake:raw"]}}
"#;

/// The patch's operations applied to `pod`, as the API server applies them.
fn apply(pod: &Value, ops: &[PatchOp]) -> Value {
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::to_value(ops).unwrap()).unwrap();
    let mut out = pod.clone();
    json_patch::patch(&mut out, &patch).unwrap_or_else(|e| panic!("{e}: {ops:#?} on {pod:#}"));
    out
}

/// `pod` (metadata and spec; labelled for `w`) mutated, or why it is refused.
fn mutate_with(engine: &Engine<'_>, pod: &Value) -> Result<Value, InjectError> {
    let ops = inject_json(&pod.to_string(), "ns1", engine, &InjectSettings::default()).unwrap()?;
    Ok(apply(pod, &ops))
}

/// A pod of `spec`, with `annotations`, labelled for the Worker `w`.
fn pod(spec: Value, annotations: Value) -> Value {
    json!({
        "metadata": {"namespace": "ns1", "labels": {WORKLOAD_LABEL: "w"}, "annotations": annotations},
        "spec": spec,
    })
}

/// `pod` without the annotations stackhook adds, as a copied template or a restored
/// backup has it (the ones a user sets stay).
fn strip(pod: &Value) -> Value {
    let mut out = pod.clone();
    if let Some(a) = out["metadata"]["annotations"].as_object_mut() {
        for k in [INJECTED_ANNOTATION, STAMP_ANNOTATION, STACK_ANNOTATION] {
            a.remove(k);
        }
    }
    out
}

fn stamp_of(engine: &Engine<'_>) -> String {
    let out = mutate_with(
        engine,
        &pod(json!({"containers": [{"name": "app"}]}), json!({})),
    )
    .unwrap();
    out["metadata"]["annotations"][STAMP_ANNOTATION]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Mutates `pod`, checks the result with the API server's rules and that mutating it
/// again (with and without our annotations) changes nothing.
fn mutate_checked(engine: &Engine<'_>, pod: &Value) -> Result<Value, InjectError> {
    let out = mutate_with(engine, pod)?;
    assert_eq!(pod_rules::check(&out), Vec::<String>::new(), "{out:#}");
    let pulls: Vec<&Value> = out["spec"]["imagePullSecrets"]
        .as_array()
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    let mut unique = pulls.clone();
    unique.dedup();
    assert_eq!(pulls.len(), unique.len(), "{out:#}");
    assert_eq!(
        diff("", &mutate_with(engine, &out).unwrap(), &out),
        Vec::<String>::new(),
        "annotated again: {pod}"
    );
    assert_eq!(
        diff("", &mutate_with(engine, &strip(&out)).unwrap(), &out),
        Vec::<String>::new(),
        "again without annotations: {pod}"
    );
    Ok(out)
}

/// Where `a` and `b` differ, as JSON pointers with both values.
fn diff(at: &str, a: &Value, b: &Value) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    diff(
                        &format!("{at}/{k}"),
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    )
                })
                .collect()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .flat_map(|(i, (x, y))| diff(&format!("{at}/{i}"), x, y))
            .collect(),
        _ if a == b => Vec::new(),
        _ => vec![format!("{at}: {a} != {b}")],
    }
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|v| v["name"].as_str().unwrap_or_default())
        .collect()
}

#[test]
fn a_plain_pod_gets_every_piece_once_and_passes_the_api_servers_rules() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let out = mutate_checked(
        &engine,
        &pod(
            json!({"containers": [{"name": "app", "image": "app"}]}),
            json!({}),
        ),
    )
    .unwrap();
    assert_eq!(
        names(&out["spec"]["volumes"]),
        [
            "stackhook-config",
            "stackhook-depot-lake-r",
            "stackhook-secrets"
        ]
    );
    assert_eq!(names(&out["spec"]["initContainers"]), [PROJECTOR_NAME]);
    assert_eq!(names(&out["spec"]["imagePullSecrets"]), ["regcred"]);
}

#[test]
fn a_foreign_volume_named_like_ours_is_refused_naming_it() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let refused = |volume: Value| {
        mutate_with(
            &engine,
            &pod(
                json!({"containers": [{"name": "app"}], "volumes": [volume]}),
                json!({}),
            ),
        )
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        refused(json!({"name": "stackhook-config", "secret": {"secretName": "mine"}})),
        "the pod already has a volume named \"stackhook-config\" that stackhook did not add (a secret volume of \"mine\"); rename it: stackhook adds its own volume of that name"
    );
    assert_eq!(
        refused(json!({"name": "stackhook-config", "configMap": {"name": "settings"}})),
        "the pod already has a volume named \"stackhook-config\" that stackhook did not add (a configMap volume of \"settings\"); rename it: stackhook adds its own volume of that name"
    );
    assert_eq!(
        refused(json!({"name": "stackhook-secrets", "secret": {"secretName": "mine"}})),
        "the pod already has a volume named \"stackhook-secrets\" that stackhook did not add (a secret volume of \"mine\"); rename it: stackhook adds its own volume of that name"
    );
    assert_eq!(
        refused(json!({"name": "stackhook-secrets", "emptyDir": {}})),
        "the pod already has a volume named \"stackhook-secrets\" that stackhook did not add (an emptyDir volume on disk); rename it: stackhook adds its own volume of that name"
    );
    assert_eq!(
        refused(json!({"name": "stackhook-depot-lake-r", "emptyDir": {"medium": "Memory"}})),
        "the pod already has a volume named \"stackhook-depot-lake-r\" that stackhook did not add (an emptyDir volume on \"Memory\"); rename it: stackhook adds its own volume of that name"
    );
    // A Secret volume of our name but another Secret, and no earlier injection.
    assert_eq!(
        refused(json!({"name": "stackhook-depot-lake-r", "secret": {"secretName": "x"}})),
        "the pod already has a volume named \"stackhook-depot-lake-r\" that stackhook did not add (a secret volume of \"x\"); rename it: stackhook adds its own volume of that name"
    );
    assert_eq!(
        refused(json!({"name": "stackhook-config", "hostPath": {"path": "/etc"}})),
        "the pod already has a volume named \"stackhook-config\" that stackhook did not add (a volume of another type); rename it: stackhook adds its own volume of that name"
    );
}

#[test]
fn a_foreign_mount_at_our_paths_is_refused_naming_it() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let refused = |path: &str| {
        mutate_with(
            &engine,
            &pod(
                json!({"containers": [{"name": "app", "volumeMounts": [{"name": "mine", "mountPath": path}]}],
                       "volumes": [{"name": "mine", "emptyDir": {}}]}),
                json!({}),
            ),
        )
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        refused("/etc/dataos/config"),
        "container \"app\" already mounts volume \"mine\" at /etc/dataos/config, where stackhook mounts the workload's config; mount it elsewhere"
    );
    assert_eq!(
        refused("/etc/dataos/secret"),
        "container \"app\" already mounts volume \"mine\" at /etc/dataos/secret, where stackhook mounts the depot secrets; mount it elsewhere"
    );
    // Elsewhere, or in another container, is no clash.
    let fine = pod(
        json!({"containers": [{"name": "app", "volumeMounts": [{"name": "mine", "mountPath": "/etc/dataos/other"}]},
                              {"name": "side", "volumeMounts": [{"name": "mine", "mountPath": "/etc/dataos/config"}]}],
               "volumes": [{"name": "mine", "emptyDir": {}}]}),
        json!({}),
    );
    mutate_checked(&engine, &fine).unwrap();
}

#[test]
fn a_foreign_container_named_like_our_projector_is_refused() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let init = pod(
        json!({"containers": [{"name": "app"}],
               "initContainers": [{"name": "stackhook-project", "image": "mine", "args": ["run"]}]}),
        json!({}),
    );
    assert_eq!(
        mutate_with(&engine, &init).unwrap_err().to_string(),
        "the pod already has an init container named \"stackhook-project\" that stackhook did not add; rename it: stackhook adds its own init container of that name"
    );
    let regular = pod(
        json!({"containers": [{"name": "app"}, {"name": "stackhook-project"}]}),
        json!({}),
    );
    assert_eq!(
        mutate_with(&engine, &regular).unwrap_err().to_string(),
        "the pod already has a container named \"stackhook-project\" that stackhook did not add; rename it: stackhook adds its own init container of that name"
    );
    // The refresh sidecar's name clashes only when the sidecar is wanted.
    let refresh = pod(
        json!({"containers": [{"name": "app"}], "initContainers": [{"name": "stackhook-refresh"}]}),
        json!({}),
    );
    mutate_checked(&engine, &refresh).unwrap();
    let wanted = pod(
        json!({"containers": [{"name": "app"}], "initContainers": [{"name": "stackhook-refresh"}]}),
        json!({SECRET_REFRESH_ANNOTATION: "true"}),
    );
    assert_eq!(
        mutate_with(&engine, &wanted).unwrap_err().to_string(),
        "the pod already has an init container named \"stackhook-refresh\" that stackhook did not add; rename it: stackhook adds its own init container of that name"
    );
}

#[test]
fn the_pods_own_env_and_pull_secret_win_and_are_not_added_twice() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let out = mutate_checked(
        &engine,
        &pod(
            json!({"containers": [{"name": "app", "env": [{"name": "LOG_LEVEL", "value": "debug"}]}],
                   "imagePullSecrets": [{"name": "regcred"}]}),
            json!({}),
        ),
    )
    .unwrap();
    let env = &out["spec"]["containers"][0]["env"];
    assert_eq!(names(env).iter().filter(|n| **n == "LOG_LEVEL").count(), 1);
    assert_eq!(env[0]["value"], "debug");
    assert_eq!(names(&out["spec"]["imagePullSecrets"]), ["regcred"]);
}

#[test]
fn a_copy_of_an_older_injection_without_annotations_is_brought_to_the_current_stamp() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let stamp = stamp_of(&engine);
    let current = mutate_checked(
        &engine,
        &pod(
            json!({"containers": [{"name": "app"}], "initContainers": [{"name": "warm"}]}),
            json!({}),
        ),
    )
    .unwrap();
    // The same pod as an older injection left it: another Stamp everywhere, another
    // Secret for the depot, a depot no longer used; then copied without annotations.
    let old_text = strip(&current)
        .to_string()
        .replace(&stamp, "-zzzz")
        .replace("\"lake-r\"", "\"lake-old\"");
    let mut old: Value = serde_json::from_str(&old_text).unwrap();
    old["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "stackhook-depot-gone-r", "secret": {"secretName": "gone-r"}}));
    old["spec"]["initContainers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "stackhook-depot-gone-r", "mountPath": "/var/run/stackhook/depots/gone/r"}));
    assert_eq!(
        old["spec"]["volumes"][0]["configMap"]["name"],
        "w-worker-zzzz"
    );
    let again = mutate_checked(&engine, &old).unwrap();
    assert_eq!(diff("", &again, &current), Vec::<String>::new());
    assert_eq!(
        names(&again["spec"]["initContainers"]),
        [PROJECTOR_NAME, "warm"]
    );
}

#[test]
fn env_from_depots_are_not_added_twice() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let pod_of_e = |container: Value| {
        json!({
            "metadata": {"namespace": "ns1", "labels": {WORKLOAD_LABEL: "e"}},
            "spec": {"containers": [container]},
        })
    };
    let out = mutate_checked(&engine, &pod_of_e(json!({"name": "app"}))).unwrap();
    let lake = json!({"prefix": "LAKE_", "secretRef": {"name": "lake-r"}});
    assert_eq!(out["spec"]["containers"][0]["envFrom"], json!([lake]));
    assert!(out["spec"]["initContainers"].is_null());
    // The pod reads it already (a copy of a mutated pod): not twice.
    let out = mutate_checked(
        &engine,
        &pod_of_e(json!({"name": "app", "envFrom": [lake]})),
    )
    .unwrap();
    assert_eq!(out["spec"]["containers"][0]["envFrom"], json!([lake]));
}

#[test]
fn a_stamp_variable_the_pod_sets_itself_is_left_alone() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let out = mutate_checked(
        &engine,
        &pod(
            json!({"containers": [{"name": "app", "env": [{"name": "DATAOS_STAMP", "value": "-zzzz"}]}]}),
            json!({}),
        ),
    )
    .unwrap();
    assert_eq!(out["spec"]["containers"][0]["env"][0]["value"], "-zzzz");
}

#[test]
fn secret_files_are_readable_by_the_program_alone_and_its_user_is_never_changed() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    // (mode, projector's user, program's user, pod's fsGroup)
    let mode_and_users = |spec: Value| {
        let out = mutate_checked(&engine, &pod(spec, json!({}))).unwrap();
        let projector = &out["spec"]["initContainers"][0];
        let args = projector["args"].as_array().unwrap();
        let mode = args
            .iter()
            .position(|a| a == "--mode")
            .map(|i| args[i + 1].clone());
        (
            mode,
            projector["securityContext"]["runAsUser"].clone(),
            out["spec"]["containers"][0]["securityContext"]["runAsUser"].clone(),
            out["spec"]["securityContext"]["fsGroup"].clone(),
        )
    };
    // Unknown (the image decides): group-readable by the pod's fsGroup, which the pod
    // gets when it has none; the program's user is left to the image.
    assert_eq!(
        mode_and_users(json!({"containers": [{"name": "app"}]})),
        (
            Some(json!("0440")),
            json!(PROJECTOR_UID),
            Value::Null,
            json!(PROJECTOR_UID)
        )
    );
    assert_eq!(
        mode_and_users(json!({
            "securityContext": {"fsGroup": 2000},
            "containers": [{"name": "app", "securityContext": {"readOnlyRootFilesystem": true}}]
        })),
        (
            Some(json!("0440")),
            json!(PROJECTOR_UID),
            Value::Null,
            json!(2000)
        )
    );
    // Known: owner-only, written as the program's user; the pod is not touched.
    assert_eq!(
        mode_and_users(
            json!({"securityContext": {"runAsUser": 1000}, "containers": [{"name": "app"}]})
        ),
        (Some(json!("0400")), json!(1000), Value::Null, Value::Null)
    );
    // Root, set by the container: left alone (root reads any file).
    assert_eq!(
        mode_and_users(
            json!({"containers": [{"name": "app", "securityContext": {"runAsUser": 0}}]})
        ),
        (
            Some(json!("0440")),
            json!(PROJECTOR_UID),
            json!(0),
            json!(PROJECTOR_UID)
        )
    );
}

// The property: random Pods that use our names and paths among others.

const VOLUME_NAMES: &[&str] = &[
    "stackhook-config",
    "stackhook-secrets",
    "stackhook-depot-lake-r",
    "stackhook-depot-gone-r",
    "data",
    "cache",
];
const CONTAINER_NAMES: &[&str] = &[
    "app",
    "sidecar",
    "proxy",
    "stackhook-project",
    "stackhook-refresh",
    "warm",
];
const PATHS: &[&str] = &[
    "/etc/dataos/config",
    "/etc/dataos/secret",
    "/var/run/stackhook/depots/lake/r",
    "/data",
    "/cache",
];
const ENV_NAMES: &[&str] = &["DATAOS_STAMP", "LOG_LEVEL", "DATAOS_CONFIG_DIR", "FOO"];

/// A volume's source: for one of our names mostly what stackhook gives it (an earlier
/// injection), else any.
fn volume_source(name: &str, kind: u8) -> Value {
    let ours = match name {
        "stackhook-config" => Some(json!({"configMap": {"name": "w-worker-zzzz"}})),
        "stackhook-secrets" => Some(json!({"emptyDir": {"medium": "Memory"}})),
        "stackhook-depot-lake-r" => Some(json!({"secret": {"secretName": "lake-r"}})),
        "stackhook-depot-gone-r" => Some(json!({"secret": {"secretName": "gone-r"}})),
        _ => None,
    };
    if let Some(v) = ours.filter(|_| !kind.is_multiple_of(4)) {
        return v;
    }
    match (kind / 4) % 6 {
        0 => json!({"emptyDir": {}}),
        1 => json!({"emptyDir": {"medium": "Memory"}}),
        2 => json!({"secret": {"secretName": "lake-r"}}),
        3 => json!({"secret": {"secretName": "other"}}),
        4 => json!({"configMap": {"name": "w-worker-zzzz"}}),
        _ => json!({"configMap": {"name": "settings"}}),
    }
}

/// One container: its mounts (path index → volume index) and env.
fn container(
    name: &str,
    mounts: &[(usize, usize)],
    volumes: &[&str],
    env: &[(usize, bool)],
    ours: bool,
) -> Value {
    let mut c = json!({"name": name, "image": "img"});
    if !volumes.is_empty() && !mounts.is_empty() {
        c["volumeMounts"] = mounts
            .iter()
            .map(|(p, v)| json!({"name": volumes[v % volumes.len()], "mountPath": PATHS[*p]}))
            .collect();
    }
    if !env.is_empty() {
        c["env"] = env
            .iter()
            .map(|(e, stamp)| {
                json!({"name": ENV_NAMES[*e], "value": if *stamp { "-zzzz" } else { "x" }})
            })
            .collect();
    }
    if ours {
        c["args"] = json!([
            "project",
            "--from",
            "/var/run/stackhook/depots",
            "--to",
            "/x"
        ]);
        c["env"] = json!([{"name": "DATAOS_STAMP", "value": "-zzzz"}]);
    }
    c
}

fn arb_pod() -> impl Strategy<Value = Value> {
    let volumes = proptest::sample::subsequence(VOLUME_NAMES, 0..=VOLUME_NAMES.len())
        .prop_flat_map(|names| {
            let n = names.len();
            (Just(names), proptest::collection::vec(any::<u8>(), n))
        });
    // Our names come last more often than not: a regular container of our name is a
    // clash every time.
    let containers = Just(CONTAINER_NAMES.to_vec())
        .prop_shuffle()
        .prop_map(|mut names| {
            if names[0].starts_with("stackhook-") {
                names.rotate_left(1);
            }
            names
        });
    let one = (
        proptest::sample::subsequence((0..PATHS.len()).collect::<Vec<_>>(), 0..=3).prop_flat_map(
            |paths| {
                let n = paths.len();
                (Just(paths), proptest::collection::vec(0..8usize, n))
            },
        ),
        proptest::sample::subsequence((0..ENV_NAMES.len()).collect::<Vec<_>>(), 0..=2)
            .prop_flat_map(|env| {
                let n = env.len();
                (Just(env), proptest::collection::vec(any::<bool>(), n))
            }),
        any::<bool>(),
    );
    (
        volumes,
        containers,
        1..=3usize,
        0..=2usize,
        proptest::collection::vec(one, 5),
        0..4u8,
        0..3u8,
        0..8u8,
    )
        .prop_map(
            |((vnames, kinds), cnames, n, m, details, pulls, user, extras)| {
                let vols: Vec<Value> = vnames
                    .iter()
                    .zip(&kinds)
                    .map(|(name, k)| {
                        let mut v = volume_source(name, *k);
                        v["name"] = json!(name);
                        v
                    })
                    .collect();
                let make = |i: usize, name: &str, init: bool| {
                    let ((paths, targets), (env, stamps), ours) = &details[i];
                    let mounts: Vec<(usize, usize)> =
                        paths.iter().copied().zip(targets.iter().copied()).collect();
                    let env: Vec<(usize, bool)> =
                        env.iter().copied().zip(stamps.iter().copied()).collect();
                    container(name, &mounts, &vnames, &env, init && *ours)
                };
                let containers: Vec<Value> = (0..n).map(|i| make(i, cnames[i], false)).collect();
                let init: Vec<Value> = (n..n + m).map(|i| make(i, cnames[i], true)).collect();
                let mut spec = json!({"containers": containers});
                if !vols.is_empty() {
                    spec["volumes"] = Value::Array(vols);
                }
                if !init.is_empty() {
                    spec["initContainers"] = Value::Array(init);
                }
                match pulls {
                    0 => {}
                    1 => spec["imagePullSecrets"] = json!([{"name": "regcred"}]),
                    2 => spec["imagePullSecrets"] = json!([{"name": "other"}]),
                    _ => spec["imagePullSecrets"] = json!([]),
                }
                match user {
                    0 => {}
                    1 => spec["securityContext"] = json!({"runAsUser": 1000}),
                    _ => spec["containers"][0]["securityContext"] = json!({"runAsUser": 0}),
                }
                // Bit 0: the refresh sidecar; bit 1: inject into the second
                // container; bit 2: the Worker whose depots come as envFrom.
                let mut annotations = json!({});
                if extras & 1 != 0 {
                    annotations[SECRET_REFRESH_ANNOTATION] = json!("true");
                }
                if extras & 2 != 0 && n > 1 {
                    annotations[CONTAINER_ANNOTATION] = json!(cnames[1]);
                }
                let mut p = pod(spec, annotations);
                if extras & 4 != 0 {
                    p["metadata"]["labels"][WORKLOAD_LABEL] = json!("e");
                }
                p
            },
        )
}

#[test]
fn any_valid_pod_is_mutated_into_a_valid_pod_or_refused_for_a_clash() {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let cases = std::env::var("STACKHOOK_POD_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    let (clean, clashed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    runner
        .run(&arb_pod(), |p| {
            // Only pods the API server accepted can reach the webhook.
            prop_assume!(pod_rules::check(&p).is_empty());
            match mutate_with(&engine, &p) {
                Ok(_) => {
                    mutate_checked(&engine, &p).unwrap();
                    clean.fetch_add(1, Ordering::Relaxed);
                }
                Err(
                    InjectError::VolumeClash { .. }
                    | InjectError::MountClash { .. }
                    | InjectError::ContainerClash { .. },
                ) => {
                    clashed.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
            Ok(())
        })
        .unwrap();
    // Both outcomes are common, so the property says something about each.
    let (clean, clashed) = (clean.into_inner(), clashed.into_inner());
    assert!(
        clean > cases as usize / 5 && clashed > cases as usize / 5,
        "{clean} clean, {clashed} clashed"
    );
}
