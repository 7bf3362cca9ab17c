//! The projectors get the service-account token mount kube-apiserver's
//! `ServiceAccount` plugin gave the pod, so that the API server does not call the
//! webhook a second time (see `patch::token_volume`), and the kept patch is completed
//! per pod with the pod's own volume name.

use base64::Engine as _;
use serde_json::{Value, json};

use super::tests::CATALOG;
use super::*;
use crate::test_support::Fixture;

const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A pod of workload `w` as kube-apiserver hands it to the webhook after its
/// `ServiceAccount` plugin mounted the token volume `token` (`None`: no token).
fn pod(token: Option<&str>, extra_spec: Value) -> Value {
    let mut pod = json!({
        "metadata": {"namespace": "ns1", "labels": {WORKLOAD_LABEL: "w", WORKLOAD_KIND_LABEL: "Worker"}},
        "spec": {"containers": [{"name": "app", "image": "app"}]},
    });
    if let Some(token) = token {
        pod["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": token, "readOnly": true, "mountPath": TOKEN_PATH}]);
        pod["spec"]["volumes"] = json!([{"name": token, "projected": {"sources": []}}]);
    }
    if let (Some(spec), Value::Object(extra)) = (pod["spec"].as_object_mut(), extra_spec) {
        spec.extend(extra);
    }
    pod
}

/// What the webhook answers for the pod (with `memo`).
fn outcome(fixture: &Fixture, pod: &Value, memo: Option<&InjectMemo>) -> PodOutcome {
    encoded_patch(
        &pod.to_string(),
        "ns1",
        &fixture.engine(),
        &InjectSettings::default(),
        memo,
    )
}

/// The pod's patch as the webhook answers it (with `memo`), decoded.
fn answer(fixture: &Fixture, pod: &Value, memo: Option<&InjectMemo>) -> Vec<Value> {
    let outcome = outcome(fixture, pod, memo);
    let PodOutcome::Patch(injected) = outcome else {
        panic!("no patch: {outcome:?}");
    };
    let json = base64::engine::general_purpose::STANDARD
        .decode(injected.patch.as_bytes())
        .unwrap();
    serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json)))
}

/// The pod after its patch.
fn patched(pod: &Value, ops: Vec<Value>) -> Value {
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
    let mut out = pod.clone();
    json_patch::patch(&mut out, &patch).unwrap();
    out
}

/// The mounts of the pod's init containers, by container name.
fn init_mounts(pod: &Value) -> Vec<(String, Vec<String>)> {
    pod["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
            let mounts = mounts
                .iter()
                .map(|m| {
                    format!(
                        "{} at {}",
                        m["name"].as_str().unwrap(),
                        m["mountPath"].as_str().unwrap()
                    )
                })
                .collect();
            (c["name"].as_str().unwrap().to_owned(), mounts)
        })
        .collect()
}

#[test]
fn the_projectors_get_the_token_mount_the_service_account_plugin_would_add() {
    let fixture = Fixture::new(CATALOG);
    let pod = pod(
        Some("kube-api-access-x7k2p"),
        json!({"initContainers": [{"name": "setup", "image": "busybox"}]}),
    );
    let ops = answer(&fixture, &pod, None);
    // The mount is part of each projector as added, not an operation reaching into
    // it: kube-apiserver's json-patch decodes and re-encodes every node a path passes
    // through (scripts/bench-patch-apply.sh).
    let paths: Vec<&str> = ops.iter().filter_map(|o| o["path"].as_str()).collect();
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with("/volumeMounts/-") && p.starts_with("/spec/initContainers/")),
        "{paths:?}"
    );
    let out = patched(&pod, ops);
    let mounts = init_mounts(&out);
    // Appended last, read-only, as the plugin appends it; the pod's own init
    // container is left as it is.
    assert_eq!(mounts[0].0, "stackhook-project");
    assert_eq!(
        mounts[0].1.last().map(String::as_str),
        Some(format!("kube-api-access-x7k2p at {TOKEN_PATH}").as_str())
    );
    assert_eq!(
        out["spec"]["initContainers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["readOnly"],
        json!(true)
    );
    assert_eq!(mounts[1], ("setup".to_owned(), vec![]));
}

#[test]
fn the_refresh_sidecar_gets_the_token_mount_too() {
    let fixture = Fixture::new(CATALOG);
    let mut pod = pod(Some("kube-api-access-abcde"), json!({}));
    pod["metadata"]["annotations"] = json!({SECRET_REFRESH_ANNOTATION: "true"});
    let out = patched(&pod, answer(&fixture, &pod, None));
    let with_token: Vec<String> = init_mounts(&out)
        .into_iter()
        .filter(|(_, m)| m.iter().any(|m| m.ends_with(TOKEN_PATH)))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(with_token, ["stackhook-project", "stackhook-refresh"]);
}

#[test]
fn no_token_mount_without_the_plugin_s_mount_or_with_automount_off() {
    let fixture = Fixture::new(CATALOG);
    let token_mounted = |pod: &Value| {
        let out = patched(pod, answer(&fixture, pod, None));
        init_mounts(&out)
            .iter()
            .any(|(_, m)| m.iter().any(|m| m.ends_with(TOKEN_PATH)))
    };
    // No token volume (the service account does not mount it, or no plugin ran).
    assert!(!token_mounted(&pod(None, json!({}))));
    // The pod turns the token off: the plugin adds nothing, whatever its volumes.
    assert!(!token_mounted(&pod(
        Some("kube-api-access-x7k2p"),
        json!({"automountServiceAccountToken": false})
    )));
    // A volume of that name that no container mounts at the token path is not the
    // plugin's doing.
    let mut unmounted = pod(Some("kube-api-access-x7k2p"), json!({}));
    unmounted["spec"]["containers"][0]["volumeMounts"][0]["mountPath"] = json!("/elsewhere");
    assert!(!token_mounted(&unmounted));
    // And a pod with it gets it (the check above can fail).
    assert!(token_mounted(&pod(
        Some("kube-api-access-x7k2p"),
        json!({})
    )));
}

#[test]
fn a_kept_patch_is_completed_with_each_pod_s_own_token_volume() {
    let fixture = Fixture::new(CATALOG);
    let memo = InjectMemo::new();
    let first = pod(Some("kube-api-access-aaaaa"), json!({}));
    let second = pod(Some("kube-api-access-bbbbb"), json!({}));
    let first_ops = answer(&fixture, &first, Some(&memo));
    // The second pod has the first's shape: its patch is kept, and completed.
    let text = second.to_string();
    let second_view = read_pod(&text).unwrap();
    let kept = kept_patch_of(&second_view, "ns1", &fixture.catalog, &memo);
    let Some(PodOutcome::Patch(kept)) = kept else {
        panic!("not kept: {kept:?}");
    };
    let second_ops: Vec<Value> = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(kept.patch.as_bytes())
            .unwrap(),
    )
    .unwrap();
    // The same patch but for the volume's name, and each the same as without a memo.
    let renamed: Vec<Value> = serde_json::from_str(
        &serde_json::to_string(&first_ops)
            .unwrap()
            .replace("kube-api-access-aaaaa", "kube-api-access-bbbbb"),
    )
    .unwrap();
    assert_eq!(second_ops, renamed);
    assert_eq!(first_ops, answer(&fixture, &first, None));
    assert_eq!(second_ops, answer(&fixture, &second, None));
    assert_eq!(memo.sizes().1, 1);
}

fn op(path: &str, value: &str) -> PatchOp {
    PatchOp {
        op: "add",
        path: path.to_owned(),
        value: json!(value),
    }
}

#[test]
fn a_kept_patch_decodes_to_the_pod_s_whole_patch_whatever_the_padding() {
    // Paths of three lengths cover the three remainders of the head's length mod 3.
    for head_ops in [
        vec![],
        vec![op("/a", "v")],
        vec![op("/ab", "v")],
        vec![op("/abc", "v")],
        vec![op("/a", "v"), op("/bc", "v")],
    ] {
        for rest in [
            vec![op("/t", TOKEN_SLOT)],
            vec![op("/t", TOKEN_SLOT), op("/u", "v"), op("/vw", TOKEN_SLOT)],
        ] {
            let slots = rest.iter().filter(|o| o.value == TOKEN_SLOT).count();
            let ops: Vec<PatchOp> = head_ops.iter().chain(&rest).cloned().collect();
            let kept = encode_kept(&ops, slots).unwrap();
            let KeptPatch::Open { head, .. } = &kept else {
                panic!("not open: {kept:?}");
            };
            assert_eq!(head.len() % 4, 0);
            assert!(!head.contains('='), "{head}");
            let whole = complete(&kept, Some("kube-api-access-q")).unwrap();
            let json = base64::engine::general_purpose::STANDARD
                .decode(whole.as_bytes())
                .unwrap();
            let decoded: Value = serde_json::from_slice(&json)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json)));
            let expected = serde_json::to_string(&ops)
                .unwrap()
                .replace(&format!("\"{TOKEN_SLOT}\""), "\"kube-api-access-q\"");
            assert_eq!(decoded, serde_json::from_str::<Value>(&expected).unwrap());
        }
    }
    // A shape that does not take the token keeps its whole patch as it is.
    let kept = encode_kept(&[op("/a", "v")], 0).unwrap();
    let KeptPatch::Whole(text) = &kept else {
        panic!("not whole: {kept:?}");
    };
    assert_eq!(&complete(&kept, None).unwrap(), text);
}

#[test]
fn a_plan_value_equal_to_the_token_placeholder_is_an_error_not_a_wrong_patch() {
    // The placeholder is not a volume name a pod can have, but a Stack's env value
    // could be it: the patch would then name the pod's volume in the wrong place.
    let ops = [op("/env/-", TOKEN_SLOT), op("/initContainers", TOKEN_SLOT)];
    let e = encode_kept(&ops, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the pod cannot be read: the patch names the token volume's placeholder \"<token volume>\" 2 times, not 1: a value of the plan is that placeholder"
    );
}

#[test]
fn an_automount_setting_that_is_not_a_boolean_is_a_clear_error() {
    // The API server refuses such a Pod itself; offline (`stackhook mutate`) it is
    // named, not taken for "unset".
    let fixture = Fixture::new(CATALOG);
    let pod = pod(None, json!({"automountServiceAccountToken": "yes"}));
    let outcome = outcome(&fixture, &pod, None);
    let PodOutcome::Unreadable(e) = outcome else {
        panic!("read: {outcome:?}");
    };
    let message = e.to_string();
    assert!(
        message.starts_with(
            "the pod cannot be read: invalid type: string \"yes\", expected a boolean"
        ),
        "{message}"
    );
}
