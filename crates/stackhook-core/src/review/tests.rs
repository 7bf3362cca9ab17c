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
  image: {registry: r.io, repository: team, image: app, tag: "1.2"}
  workerConfig: {}
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: w, namespace: ns1, uid: w1, generation: 1}
spec: {stack: "app:1", stackSpec: {}}
"#;

fn pod(labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "w-", "namespace": "ns1", "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "app"}]},
    })
}

/// A review as the API server writes it: `kind` and `operation` before `object`.
fn review_text(object: Option<&Value>) -> String {
    let object = object.map_or("null".to_owned(), Value::to_string);
    format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u1","kind":{{"group":"","version":"v1","kind":"Pod"}},"namespace":"ns1","operation":"CREATE","object":{object}}}}}"#
    )
}

fn answer(fixture: &Fixture, body: &str) -> Result<Value, ReviewError> {
    let config = InjectSettings::default();
    let reviewer = Reviewer::new(fixture.engine(), &config);
    reviewer
        .review(body.as_bytes())
        .map(|(bytes, _)| serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn a_pod_is_answered_alike_whatever_the_order_of_the_request_fields() {
    let f = Fixture::new(CATALOG);
    let pod = pod(json!({"stackhook.io/workload": "w"}));
    let in_order = answer(&f, &review_text(Some(&pod))).unwrap();
    assert_eq!(in_order["response"]["allowed"], true);
    assert!(in_order["response"]["patch"].is_string());
    // The object before `kind` and `operation`: read as text, then as a pod.
    let object_first = format!(
        r#"{{"request":{{"object":{pod},"uid":"u1","operation":"CREATE","kind":{{"kind":"Pod"}},"namespace":"ns1"}},"apiVersion":"admission.k8s.io/v1"}}"#
    );
    assert_eq!(answer(&f, &object_first).unwrap(), in_order);
}

#[test]
fn a_pod_that_cannot_be_read_is_denied_with_the_reason() {
    let f = Fixture::new(CATALOG);
    let r = answer(&f, &review_text(Some(&pod(json!(["not", "a", "map"]))))).unwrap();
    assert_eq!(r["response"]["allowed"], false);
    assert_eq!(r["response"]["status"]["code"], 400);
    assert_eq!(
        r["response"]["status"]["message"],
        "the pod cannot be read: invalid type: sequence, expected a map of strings at line 1 column 73"
    );
}

#[test]
fn a_pod_create_without_its_object_is_denied() {
    let f = Fixture::new(CATALOG);
    let r = answer(&f, &review_text(None)).unwrap();
    assert_eq!(r["response"]["allowed"], false);
    assert_eq!(
        r["response"]["status"]["message"],
        "the review carries no pod object"
    );
}

#[test]
fn an_envelope_that_is_not_a_review_is_an_error_that_says_why() {
    let f = Fixture::new(CATALOG);
    let error = |body: &str| answer(&f, body).unwrap_err().to_string();
    assert_eq!(
        error(r#"{"apiVersion":"admission.k8s.io/v1","request":null}"#),
        "the AdmissionReview has no request"
    );
    assert_eq!(
        error(
            r#"{"apiVersion":"admission.k8s.io/v1","request":{"kind":{"kind":"Pod"},"operation":"CREATE"}}"#
        ),
        "cannot decode the AdmissionReview: missing field `uid` at line 1 column 90"
    );
    assert_eq!(
        error(r#"{"request":{}}"#),
        "cannot decode the AdmissionReview: missing field `uid` at line 1 column 13"
    );
    assert_eq!(
        error(r#"{"apiVersion":"admission.k8s.io/v1beta1","request":{}}"#),
        "unsupported AdmissionReview apiVersion \"admission.k8s.io/v1beta1\" (only admission.k8s.io/v1 is served)"
    );
    assert_eq!(
        error(
            r#"{"apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE"}} trailing"#
        ),
        "cannot decode the AdmissionReview: trailing characters at line 1 column 103"
    );
}

#[test]
fn a_pod_read_before_its_operation_is_judged_by_the_operation() {
    // Sorted keys (as `serde_json` writes them) put `object` before `operation`: the
    // pod is read as a view on the chance it is a CREATE.
    let f = Fixture::new(CATALOG);
    let sorted = |operation: &str, object: &Value| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
               "request": {"kind": {"group": "", "kind": "Pod", "version": "v1"}, "namespace": "ns1",
                           "object": object, "operation": operation, "uid": "u1"}})
        .to_string()
    };
    let good = pod(json!({"stackhook.io/workload": "w"}));
    let created = answer(&f, &sorted("CREATE", &good)).unwrap();
    assert_eq!(answer(&f, &review_text(Some(&good))).unwrap(), created);
    // Not a CREATE: allowed as it is, even when the pod would not fit the view.
    let odd = pod(json!(["not", "a", "map"]));
    let updated = answer(&f, &sorted("UPDATE", &odd)).unwrap();
    assert_eq!(updated["response"]["allowed"], true);
    assert!(updated["response"].get("patch").is_none());
    let r = answer(&f, &sorted("CREATE", &odd)).unwrap();
    assert_eq!(r["response"]["status"]["code"], 400);
}

#[test]
fn a_review_not_decided_in_time_is_a_denial_with_the_reason() {
    let body = br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u-7", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE", "object": {"big": [1, 2, 3]}}}"#;
    let (bytes, summary) = unanswered(
        body,
        &Unanswered::Deadline(std::time::Duration::from_millis(7500)),
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u-7", "allowed": false, "status": {"status": "Failure", "code": 504,
                "reason": "Timeout",
                "message": "stackhook could not decide within the review's deadline of 7500 ms; denied, nothing was admitted"}}})
    );
    assert_eq!(
        (summary.kind.as_str(), summary.operation.as_str()),
        ("Pod", "CREATE")
    );
    let (bytes, _) = unanswered(
        body,
        &Unanswered::Overloaded {
            running: 2,
            waiting: 64,
        },
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["response"]["status"]["code"], 429);
    assert_eq!(
        v["response"]["status"]["message"],
        "stackhook is deciding 2 reviews and has 64 waiting, its limit; denied, try again"
    );
    assert_eq!(
        unanswered(b"[]", &Unanswered::Deadline(std::time::Duration::ZERO))
            .unwrap_err()
            .to_string(),
        "cannot decode the AdmissionReview: expected a JSON object (an AdmissionReview)"
    );
}
