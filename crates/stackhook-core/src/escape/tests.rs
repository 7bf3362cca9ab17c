use serde_json::json;

use super::*;
use crate::model::Resource;
use crate::test_support::resources;

fn worker(status: &str) -> Workload {
    let text = format!(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {{name: w, namespace: ns, generation: 4}}\nspec: {{stack: app:1}}\n{status}"
    );
    match resources(&text).remove(0) {
        Resource::Workload(w) => w,
        _ => panic!("not a workload"),
    }
}

fn pod(meta: serde_json::Value) -> ObjectMeta {
    serde_json::from_value(meta).unwrap()
}

fn labelled(annotations: serde_json::Value) -> ObjectMeta {
    pod(json!({
        "name": "w-1", "namespace": "ns",
        "labels": {"stackhook.io/workload": "w", "stackhook.io/workload-kind": "Worker"},
        "annotations": annotations,
    }))
}

#[test]
fn a_labelled_pod_without_our_annotation_escaped() {
    let w = worker("status: {stamp: \"-ab12\"}\n");
    assert_eq!(
        escaped(&labelled(json!({})), &w, &[]),
        Some(Escape::NotInjected)
    );
    // Without a kind label the webhook reads it as a Worker's.
    let no_kind =
        pod(json!({"name": "p", "namespace": "ns", "labels": {"stackhook.io/workload": "w"}}));
    assert_eq!(escaped(&no_kind, &w, &[]), Some(Escape::NotInjected));
    // Even before the workload has a Stamp.
    assert_eq!(
        escaped(&labelled(json!({})), &worker(""), &[]),
        Some(Escape::NotInjected)
    );
}

#[test]
fn an_injected_pod_of_the_current_or_a_kept_stamp_did_not_escape() {
    let w = worker("status: {stamp: \"-ab12\"}\n");
    let injected = |stamp: &str| {
        labelled(json!({"stackhook.io/injected": "0.1.0", "stackhook.io/stamp": stamp}))
    };
    assert_eq!(escaped(&injected("-ab12"), &w, &[]), None);
    // A rollout in progress: the old Stamp's ConfigMap is kept (labels drop the `-`).
    assert_eq!(escaped(&injected("-zz99"), &w, &["zz99", "ab12"]), None);
    assert_eq!(
        escaped(&injected("-zz99"), &w, &["ab12"]),
        Some(Escape::StaleStamp {
            pod: "-zz99".into(),
            current: "-ab12".into()
        })
    );
    // No Stamp known for the workload yet: nothing to compare with.
    assert_eq!(escaped(&injected("-zz99"), &worker(""), &[]), None);
}

#[test]
fn a_pod_of_another_workload_or_being_deleted_is_not_this_ones() {
    let w = worker("");
    for meta in [
        json!({"name": "p", "namespace": "ns", "labels": {"stackhook.io/workload": "other"}}),
        json!({"name": "p", "namespace": "other", "labels": {"stackhook.io/workload": "w"}}),
        json!({"name": "p", "namespace": "ns", "labels": {"stackhook.io/workload": "w", "stackhook.io/workload-kind": "Service"}}),
        json!({"name": "p", "namespace": "ns", "labels": {"stackhook.io/workload": "w", "stackhook.io/workload-kind": "Nope"}}),
        json!({"name": "p", "namespace": "ns"}),
        json!({"name": "p", "namespace": "ns", "labels": {"stackhook.io/workload": "w"},
               "deletionTimestamp": "2026-01-01T00:00:00Z"}),
    ] {
        assert_eq!(escaped(&pod(meta.clone()), &w, &[]), None, "{meta}");
    }
}

#[test]
fn the_condition_names_the_escaped_pods_and_clears_once_they_are_gone() {
    let now = Time(jiff::Timestamp::from_second(1_800_000_000).unwrap());
    let none = BTreeMap::new();
    assert_eq!(condition(&none, &[], Some(4), &now), None);
    let many: BTreeMap<String, Escape> = (0..7)
        .map(|i| (format!("w-{i}"), Escape::NotInjected))
        .collect();
    let c = condition(&many, &[], Some(4), &now).unwrap();
    assert_eq!(
        (c.type_.as_str(), c.status.as_str(), c.reason.as_str()),
        ("PodsInjected", "False", "NotInjected")
    );
    assert!(
        c.message.starts_with("7 pod(s) escaped admission: w-0, w-1, w-2, w-3, w-4 and 2 more; created without stackhook's injection"),
        "{}",
        c.message
    );
    assert_eq!(c.observed_generation, Some(4));
    // The transition time is kept while the status is.
    let later = Time(jiff::Timestamp::from_second(1_800_000_100).unwrap());
    let again = condition(&many, std::slice::from_ref(&c), Some(4), &later).unwrap();
    assert_eq!(again.last_transition_time, now);
    let cleared = condition(&none, &[c], Some(4), &later).unwrap();
    assert_eq!(
        (cleared.status.as_str(), cleared.reason.as_str()),
        ("True", "Injected")
    );
    assert_eq!(cleared.last_transition_time, later);
}

#[test]
fn a_stale_stamp_is_described_with_both_stamps() {
    let e = Escape::StaleStamp {
        pod: "-zz99".into(),
        current: "-ab12".into(),
    };
    assert_eq!(e.reason(), "StaleStamp");
    assert_eq!(e.label(), "stale_stamp");
    assert_eq!(
        e.describe(),
        "injected for Stamp -zz99, which is not the workload's (-ab12) nor one whose ConfigMap is kept"
    );
}
