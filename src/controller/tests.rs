//! The controller's API glue against kube's mock client (`tower-test`): a fake API
//! server answers each request and records it, so a test asserts what the controller
//! asked for, in order.

use std::sync::Arc;

use axum::http::{Request, Response};
use http_body_util::BodyExt as _;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::model::{Parsed, Resource, Workload};

use super::Context;
use super::reconcile::reconcile;
use crate::load;
use crate::shared::live::LiveCatalog;
use crate::shared::metrics::Metrics;

/// One request the fake API server saw.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    body: Value,
}

impl Seen {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

type Answer = Box<dyn FnMut(&Seen) -> Option<(u16, Value)> + Send>;

/// The default answers: lists are empty, applies and creates echo the object, deletes
/// succeed.
fn default_answer(seen: &Seen) -> (u16, Value) {
    match seen.method.as_str() {
        // One object (…/namespaces/NS/RESOURCE/NAME): none exists yet.
        "GET" if is_one_object(&seen.path) => (404, api_error(404, "NotFound", "not found")),
        "GET" => (
            200,
            json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []}),
        ),
        "DELETE" => (
            200,
            json!({"apiVersion": "v1", "kind": "Status", "status": "Success"}),
        ),
        _ => {
            let mut v = seen.body.clone();
            v["metadata"]["resourceVersion"] = json!("1");
            v["metadata"]["uid"] = json!("u-1");
            (200, v)
        }
    }
}

fn is_one_object(path: &str) -> bool {
    path.split_once("/namespaces/")
        .is_some_and(|(_, rest)| rest.split('/').count() == 3)
}

fn api_error(code: u16, reason: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code,
           "reason": reason, "message": message, "metadata": {}})
}

/// A client whose requests the returned task answers; the task ends, returning what it
/// saw, when every clone of the client is dropped.
fn fake_api(mut answer: Answer) -> (Client, tokio::task::JoinHandle<Vec<Seen>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let s = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let (code, body) = answer(&s).unwrap_or_else(|| default_answer(&s));
            let response = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap();
            send.send_response(response);
            seen.push(s);
        }
        seen
    });
    (Client::new(service, "default"), task)
}

const EXTRA: &str = r#"
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: lost, namespace: retail, uid: w-lost, generation: 1}
spec: {stack: "nosuch:1.0"}
---
apiVersion: stackhook.io/v1alpha1
kind: Workflow
metadata: {name: etl, namespace: retail, uid: wf-1, generation: 1}
spec:
  stack: flare:6.0
  dag:
    - {name: a, stackSpec: {inputs: [{dataset: "dataos://icebase:retail/city"}], outputs: [{dataset: "dataos://gcdexport:none/a.csv"}]}}
    - {name: b, dependencies: [a], stackSpec: {inputs: [{dataset: "dataos://icebase:retail/city"}], outputs: [{dataset: "dataos://gcdexport:none/b.csv"}]}}
---
apiVersion: stackhook.io/v1alpha1
kind: Workflow
metadata: {name: nightly, namespace: retail, uid: wf-2, generation: 1}
spec:
  stack: flare:6.0
  schedule: {cron: "0 2 * * *", concurrencyPolicy: Forbid, endOn: "2000-01-01T00:00:00Z"}
  dag:
    - {name: a, stackSpec: {inputs: [{dataset: "dataos://icebase:retail/city"}], outputs: [{dataset: "dataos://gcdexport:none/a.csv"}]}}
    - {name: b, dependencies: [a], stackSpec: {inputs: [{dataset: "dataos://icebase:retail/city"}], outputs: [{dataset: "dataos://gcdexport:none/b.csv"}]}}
---
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: spark-1, uid: s-spark, generation: 1}
spec:
  name: spark
  version: "1"
  workerConfig:
    resourceTemplate: |
      apiVersion: sparkoperator.k8s.io/v1beta2
      kind: SparkApplication
      metadata: {name: {{ .Name }}}
      spec: {image: spark}
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: spark-job, namespace: retail, uid: w-spark, generation: 1}
spec: {stack: "spark:1"}
"#;

/// The embedded example catalog plus [`EXTRA`]; every workload gets a uid.
fn catalog() -> Arc<LiveCatalog> {
    let mut c: MemoryCatalog = load::embedded(None).unwrap_or_default();
    let input = load::Input {
        name: "extra.yaml".into(),
        text: EXTRA.into(),
    };
    for doc in load::documents(&input).unwrap_or_default() {
        if let Ok(Parsed::Resource(r)) = load::parse(&doc) {
            c.insert(*r).unwrap_or_default();
        }
    }
    let state = Arc::new(LiveCatalog::new());
    state.replace(c, &Metrics::new());
    state
}

fn workload(state: &LiveCatalog, kind: &str, name: &str) -> Workload {
    let kind = stackhook_core::model::WorkloadKind::parse(kind).unwrap_or_else(|| panic!("{kind}"));
    let w = stackhook_core::catalog::Catalog::workload(&state.load().catalog, "retail", kind, name)
        .unwrap_or_else(|| panic!("no {name}"));
    // The API server's view: a uid and a generation.
    let mut v = serde_json::to_value(
        match &w {
            Workload::Worker(x) => serde_json::to_value(&**x),
            Workload::Service(x) => serde_json::to_value(&**x),
            Workload::Workflow(x) => serde_json::to_value(&**x),
        }
        .unwrap_or_default(),
    )
    .unwrap_or_default();
    v["metadata"]["uid"] = v["metadata"]["uid"]
        .as_str()
        .map_or(json!("uid-1"), |u| json!(u));
    v["metadata"]["generation"] = json!(1);
    with_status(&v, None)
}

fn with_status(object: &Value, status: Option<&Value>) -> Workload {
    let mut v = object.clone();
    if let Some(s) = status {
        v["status"] = s.clone();
    }
    match stackhook_core::model::parse_document(v) {
        Ok(Parsed::Resource(r)) => match *r {
            Resource::Workload(w) => w,
            _ => panic!("not a workload"),
        },
        _ => panic!("does not parse"),
    }
}

async fn run(w: &Workload, answer: Answer) -> (Result<String, String>, Vec<Seen>) {
    let (client, task) = fake_api(answer);
    let ctx = Context::new(client, catalog(), Default::default(), "test-pod");
    let result = reconcile(w, &ctx).await;
    drop(ctx);
    let seen = task.await.unwrap_or_default();
    // The reads of each planned object (who owns it) come first; the tests of what is
    // applied look at the rest, `run_all` at everything.
    let seen = seen
        .into_iter()
        .filter(|s| !(s.method == "GET" && is_one_object(&s.path)))
        .collect();
    (
        result.map(|a| format!("{a:?}")).map_err(|e| e.to_string()),
        seen,
    )
}

async fn run_all(w: &Workload, answer: Answer) -> (Result<String, String>, Vec<Seen>) {
    run_with(w, answer, Default::default()).await
}

async fn run_with(
    w: &Workload,
    answer: Answer,
    defaults: stackhook_core::orchestrate::OrchestrateSettings,
) -> (Result<String, String>, Vec<Seen>) {
    let (client, task) = fake_api(answer);
    let ctx = Context::new(client, catalog(), defaults, "test-pod");
    let result = reconcile(w, &ctx).await;
    drop(ctx);
    let seen = task.await.unwrap_or_default();
    (
        result.map(|a| format!("{a:?}")).map_err(|e| e.to_string()),
        seen,
    )
}

fn lines(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(Seen::line).collect()
}

fn status_of(seen: &[Seen]) -> Option<Value> {
    seen.iter()
        .find(|s| s.path.ends_with("/status"))
        .map(|s| s.body["status"].clone())
}

/// The `Ready` condition of the status the reconcile wrote.
fn ready_condition(seen: &[Seen]) -> Value {
    let status = status_of(seen).unwrap_or_default();
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .cloned()
        .unwrap_or_default()
}

fn none() -> Answer {
    Box::new(|_| None)
}

#[tokio::test]
async fn a_worker_is_applied_its_config_maps_listed_and_its_status_written() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let (result, seen) = run(&w, none()).await;
    assert!(result.is_ok(), "{result:?}");
    let cm = seen[0].body["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(cm.starts_with("orders-stream-worker-"), "{cm}");
    assert_eq!(
        lines(&seen),
        [
            format!("PATCH /api/v1/namespaces/retail/configmaps/{cm}"),
            "PATCH /apis/apps/v1/namespaces/retail/deployments/orders-stream".into(),
            "GET /api/v1/namespaces/retail/configmaps".into(),
            "POST /apis/events.k8s.io/v1/namespaces/retail/events".into(),
            "PATCH /apis/stackhook.io/v1alpha1/namespaces/retail/workers/orders-stream/status"
                .into(),
        ]
    );
    // Server-side apply, as the field manager `stackhook`.
    for s in [&seen[0], &seen[1], &seen[4]] {
        assert!(s.query.contains("fieldManager=stackhook"), "{}", s.query);
        assert!(s.query.contains("force=true"), "{}", s.query);
    }
    assert_eq!(
        seen[2].query,
        "&labelSelector=stackhook.io%2Fworkload%3Dorders-stream%2Cstackhook.io%2Fworkload-kind%3DWorker"
    );
    assert_eq!(seen[0].body["immutable"], json!(true));
    assert_eq!(
        seen[1].body["metadata"]["ownerReferences"][0]["kind"],
        "Worker"
    );
    let event = &seen[3].body;
    assert_eq!(
        (event["type"].as_str(), event["reason"].as_str()),
        (Some("Normal"), Some("Applied"))
    );
    assert!(
        event["note"]
            .as_str()
            .unwrap_or_default()
            .contains("applied ConfigMap orders-stream-worker-"),
        "{event}"
    );
    assert_eq!(event["reportingController"], "stackhook");
    let status = status_of(&seen).unwrap_or_default();
    assert_eq!(status["phase"], "Pending");
    assert_eq!(status["configMapName"], json!(cm));
    assert_eq!(status["observedGeneration"], 1);
    let conditions: Vec<(&str, &str)> = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        conditions,
        [
            ("Validated", "True"),
            ("ConfigRendered", "True"),
            ("Ready", "False")
        ]
    );
}

#[tokio::test]
async fn an_unchanged_workload_writes_no_status_and_no_event() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let (_, first) = run(&w, none()).await;
    let status = status_of(&first).unwrap_or_default();
    let again = with_status(
        &serde_json::to_value(match &w {
            Workload::Worker(x) => &**x,
            _ => panic!(),
        })
        .unwrap_or_default(),
        Some(&status),
    );
    let (result, seen) = run(&again, none()).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        lines(&seen)
            .iter()
            .map(|l| l.split(' ').next().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["PATCH", "PATCH", "GET"]
    );
}

/// orders-stream's ConfigMaps of four older Stamps, a day apart.
fn four_old_config_maps() -> Value {
    let cm = |stamp: &str, day: u32| {
        json!({"metadata": {"name": format!("orders-stream-worker-{stamp}"), "labels": {"stackhook.io/stamp": stamp},
                            "creationTimestamp": format!("2026-01-{day:02}T00:00:00Z")}})
    };
    json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {},
           "items": [cm("aaaa", 1), cm("bbbb", 2), cm("cccc", 3), cm("dddd", 4)]})
}

#[tokio::test]
async fn config_maps_of_old_stamps_beyond_three_are_deleted() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let listed = four_old_config_maps();
    let (result, seen) = run(
        &w,
        Box::new(move |s| {
            (s.method == "GET" && s.path.ends_with("/configmaps")).then(|| (200, listed.clone()))
        }),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    let deletes: Vec<String> = lines(&seen)
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect();
    // The current Stamp and the two newest others stay.
    assert_eq!(
        deletes,
        [
            "DELETE /api/v1/namespaces/retail/configmaps/orders-stream-worker-aaaa",
            "DELETE /api/v1/namespaces/retail/configmaps/orders-stream-worker-bbbb",
        ]
    );
}

#[tokio::test]
async fn a_server_error_names_the_object_and_writes_nothing_more() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let (result, seen) = run(
        &w,
        Box::new(|s| {
            (s.method == "PATCH" && s.path.contains("/deployments/")).then(|| {
                (
                    500,
                    api_error(500, "InternalError", "etcdserver: request timed out"),
                )
            })
        }),
    )
    .await;
    assert_eq!(
        result,
        Err("cannot apply Deployment retail/orders-stream: 500 InternalError: etcdserver: request timed out".into())
    );
    assert_eq!(seen.len(), 2, "{:?}", lines(&seen));
}

#[tokio::test]
async fn a_conflict_fails_this_reconcile_and_the_retry_applies() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let (result, _) = run(
        &w,
        Box::new(|s| {
            (s.method == "PATCH" && s.path.contains("/deployments/")).then(|| {
                (
                    409,
                    api_error(409, "Conflict", "Operation cannot be fulfilled on deployments.apps \"orders-stream\": the object has been modified"),
                )
            })
        }),
    )
    .await;
    assert!(
        result.as_ref().is_err_and(|e| e.starts_with(
            "cannot apply Deployment retail/orders-stream: 409 Conflict: Operation cannot be fulfilled"
        )),
        "{result:?}"
    );
    let (retry, seen) = run(&w, none()).await;
    assert!(retry.is_ok(), "{retry:?}");
    assert!(status_of(&seen).is_some());
}

#[test]
fn failures_back_off_exponentially_to_five_minutes() {
    let delays: Vec<u64> = (1..=9).map(|n| Context::backoff(n).as_secs()).collect();
    assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
}

#[tokio::test]
async fn an_unknown_stack_is_a_warning_event_and_an_invalid_status() {
    let state = catalog();
    let w = workload(&state, "Worker", "lost");
    let (result, seen) = run(&w, none()).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        lines(&seen),
        [
            "POST /apis/events.k8s.io/v1/namespaces/retail/events",
            "PATCH /apis/stackhook.io/v1alpha1/namespaces/retail/workers/lost/status",
        ]
    );
    let event = &seen[0].body;
    assert_eq!(
        (event["type"].as_str(), event["reason"].as_str()),
        (Some("Warning"), Some("StackNotFound"))
    );
    assert!(
        event["note"]
            .as_str()
            .unwrap_or_default()
            .contains("nosuch"),
        "{event}"
    );
    let status = status_of(&seen).unwrap_or_default();
    assert_eq!(status["phase"], "Invalid");
    assert_eq!(status["conditions"][0]["reason"], "StackNotFound");
}

#[tokio::test]
async fn dag_steps_start_after_their_dependencies_and_old_jobs_are_replaced() {
    let state = catalog();
    let w = workload(&state, "Workflow", "etl");
    let applied = |seen: &[Seen]| -> Vec<String> {
        seen.iter()
            .filter(|s| s.method == "PATCH" && s.path.contains("/jobs/"))
            .map(|s| s.path.rsplit('/').next().unwrap_or_default().to_owned())
            .collect()
    };
    // Nothing has run: only step a.
    let (result, seen) = run(&w, none()).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(lines(&seen)[0], "GET /apis/batch/v1/namespaces/retail/jobs");
    assert_eq!(applied(&seen), ["etl-a"]);
    let stamp = seen
        .iter()
        .find(|s| s.path.ends_with("/jobs/etl-a"))
        .and_then(|s| {
            s.body["metadata"]["labels"]["stackhook.io/stamp"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_default();

    // a has completed with this Stamp: b starts too.
    let done = move |stamp: &str| {
        json!({"apiVersion": "batch/v1", "kind": "JobList", "metadata": {}, "items": [{
            "metadata": {"name": "etl-a", "labels": {"stackhook.io/step": "a", "stackhook.io/stamp": stamp}},
            "status": {"conditions": [{"type": "Complete", "status": "True"}]}}]})
    };
    let list = done(&stamp);
    let (_, seen) = run(
        &w,
        Box::new(move |s| {
            (s.method == "GET" && s.path.ends_with("/jobs")).then(|| (200, list.clone()))
        }),
    )
    .await;
    assert_eq!(applied(&seen), ["etl-a", "etl-b"]);
    assert!(!lines(&seen).iter().any(|l| l.starts_with("DELETE")));

    // a completed under an older Stamp: it is deleted and applied again; b waits.
    let list = done("old0");
    let (_, seen) = run(
        &w,
        Box::new(move |s| {
            (s.method == "GET" && s.path.ends_with("/jobs")).then(|| (200, list.clone()))
        }),
    )
    .await;
    let l = lines(&seen);
    let delete = l
        .iter()
        .position(|x| x == "DELETE /apis/batch/v1/namespaces/retail/jobs/etl-a");
    let apply = l
        .iter()
        .position(|x| x == "PATCH /apis/batch/v1/namespaces/retail/jobs/etl-a");
    assert!(delete.is_some() && delete < apply, "{l:?}");
    assert_eq!(
        seen.iter()
            .find(|s| s.method == "DELETE")
            .map(|s| s.body["propagationPolicy"].clone()),
        Some(json!("Background"))
    );
}

#[tokio::test]
async fn a_scheduled_dag_starts_each_runs_later_steps_and_ends_on_schedule() {
    let state = catalog();
    let w = workload(&state, "Workflow", "nightly");
    let applied = |seen: &[Seen]| -> Vec<String> {
        seen.iter()
            .filter(|s| s.method == "PATCH" && s.path.contains("jobs/"))
            .map(|s| {
                s.path
                    .rsplit("/namespaces/retail/")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    // No run yet: the first step's CronJob only, suspended since endOn has passed.
    let (result, seen) = run(&w, none()).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(applied(&seen), ["cronjobs/nightly-a"]);
    let cron = seen
        .iter()
        .find(|s| s.path.ends_with("/cronjobs/nightly-a"))
        .map(|s| s.body.clone())
        .unwrap_or_default();
    assert_eq!(cron["spec"]["schedule"], "0 2 * * *");
    assert_eq!(cron["spec"]["suspend"], true);
    // The CronJob's run 29000000 finished step a: step b of that run starts.
    let list = json!({"apiVersion": "batch/v1", "kind": "JobList", "metadata": {}, "items": [{
        "metadata": {"name": "nightly-a-29000000", "labels": {"stackhook.io/step": "a"}},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]}}]});
    let (_, seen) = run(
        &w,
        Box::new(move |s| {
            (s.method == "GET" && s.path.ends_with("/jobs")).then(|| (200, list.clone()))
        }),
    )
    .await;
    assert_eq!(
        applied(&seen),
        ["cronjobs/nightly-a", "jobs/nightly-b-29000000"]
    );
}

#[tokio::test]
async fn an_object_already_gone_is_not_an_error() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let listed = four_old_config_maps();
    let (result, seen) = run(
        &w,
        Box::new(move |s| match s.method.as_str() {
            "GET" if s.path.ends_with("/configmaps") => Some((200, listed.clone())),
            // Deleted by someone else in the meantime.
            "DELETE" => Some((
                404,
                api_error(404, "NotFound", "configmaps \"x\" not found"),
            )),
            _ => None,
        }),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        lines(&seen)
            .iter()
            .filter(|l| l.starts_with("DELETE"))
            .count(),
        2
    );
    assert!(status_of(&seen).is_some());
}

#[tokio::test]
async fn a_failed_delete_names_the_object() {
    let state = catalog();
    let w = workload(&state, "Workflow", "etl");
    let old = json!({"apiVersion": "batch/v1", "kind": "JobList", "metadata": {}, "items": [{
        "metadata": {"name": "etl-a", "labels": {"stackhook.io/step": "a", "stackhook.io/stamp": "old0"}}}]});
    let (result, _) = run(
        &w,
        Box::new(move |s| match s.method.as_str() {
            "GET" if s.path.ends_with("/jobs") => Some((200, old.clone())),
            "DELETE" => Some((
                403,
                api_error(403, "Forbidden", "jobs.batch \"etl-a\" is forbidden"),
            )),
            _ => None,
        }),
    )
    .await;
    assert_eq!(
        result,
        Err(
            "cannot delete Job retail/etl-a: 403 Forbidden: jobs.batch \"etl-a\" is forbidden"
                .into()
        )
    );
}

/// A Deployment that exists already, with these owner references.
fn live_deployment(owners: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "orders-stream", "namespace": "retail", "uid": "d-9",
                        "ownerReferences": owners},
           "spec": {"selector": {}, "template": {}}})
}

#[tokio::test]
async fn an_object_the_workload_does_not_own_is_not_taken_over() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    for (owners, why) in [
        (
            json!([]),
            "Deployment orders-stream exists and is not managed by stackhook",
        ),
        (
            json!([{"apiVersion": "stackhook.io/v1alpha1", "kind": "Service", "name": "orders-stream",
                    "uid": "someone-else", "controller": true}]),
            "Deployment orders-stream exists and is owned by Service orders-stream",
        ),
    ] {
        let live = live_deployment(owners);
        let (result, seen) = run_all(
            &w,
            Box::new(move |s| {
                (s.method == "GET" && s.path.ends_with("/deployments/orders-stream"))
                    .then(|| (200, live.clone()))
            }),
        )
        .await;
        assert!(result.is_ok(), "{result:?}");
        // Every planned object is read, nothing is written but the Event and status.
        assert!(
            !seen
                .iter()
                .any(|s| s.method == "PATCH" && !s.path.ends_with("/status")),
            "{:?}",
            lines(&seen)
        );
        let event = seen
            .iter()
            .find(|s| s.path.ends_with("/events"))
            .map(|s| s.body.clone())
            .unwrap_or_default();
        assert_eq!(event["reason"], "Conflict");
        assert_eq!(event["type"], "Warning");
        assert_eq!(event["note"], format!("not applied: {why}"));
        let ready = ready_condition(&seen);
        assert_eq!(
            (&ready["status"], &ready["reason"]),
            (&json!("False"), &json!("Conflict"))
        );
        assert_eq!(ready["message"], format!("not applied: {why}"));
    }
}

#[tokio::test]
async fn an_object_the_workload_owns_is_applied_again() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let uid = w.meta().uid.clone().unwrap_or_default();
    let live = live_deployment(
        json!([{"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "name": "orders-stream", "uid": uid, "controller": true, "blockOwnerDeletion": true}]),
    );
    let (result, seen) = run_all(
        &w,
        Box::new(move |s| {
            (s.method == "GET" && s.path.ends_with("/deployments/orders-stream"))
                .then(|| (200, live.clone()))
        }),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    let methods: Vec<&str> = seen.iter().take(4).map(|s| s.method.as_str()).collect();
    assert_eq!(
        methods,
        ["GET", "GET", "PATCH", "PATCH"],
        "{:?}",
        lines(&seen)
    );
}

#[tokio::test]
async fn a_resource_template_kind_off_the_allow_list_is_not_made() {
    let state = catalog();
    let w = workload(&state, "Worker", "spark-job");
    let only_jobs = stackhook_core::orchestrate::OrchestrateSettings {
        resource_kinds: Some(vec!["Job.batch".into()]),
        ..Default::default()
    };
    let (result, seen) = run_with(&w, none(), only_jobs).await;
    assert!(result.is_ok(), "{result:?}");
    // Nothing applied, nothing even read: the Event and the status say why.
    assert_eq!(
        lines(&seen),
        [
            "POST /apis/events.k8s.io/v1/namespaces/retail/events",
            "PATCH /apis/stackhook.io/v1alpha1/namespaces/retail/workers/spark-job/status",
        ]
    );
    let why = "the Stack's resourceTemplate makes a SparkApplication.sparkoperator.k8s.io, which the controller may not create; allowed: Job.batch";
    assert_eq!(seen[0].body["reason"], "KindNotAllowed");
    assert_eq!(seen[0].body["note"], why);
    let ready = ready_condition(&seen);
    assert_eq!(
        (&ready["reason"], &ready["message"]),
        (&json!("KindNotAllowed"), &json!(why))
    );
    // On the allow-list: applied.
    let sparks = stackhook_core::orchestrate::OrchestrateSettings {
        resource_kinds: Some(vec!["SparkApplication.sparkoperator.k8s.io".into()]),
        ..Default::default()
    };
    let (result, seen) = run_with(&w, spark_discovery("sparkapplications"), sparks).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(
        lines(&seen)
            .iter()
            .any(|l| l == "PATCH /apis/sparkoperator.k8s.io/v1beta2/namespaces/retail/sparkapplications/spark-job"),
        "{:?}",
        lines(&seen)
    );
}

const SPARK_DISCOVERY: &str = "GET /apis/sparkoperator.k8s.io/v1beta2";

/// The API server's discovery of sparkoperator.k8s.io/v1beta2, serving
/// SparkApplications under `plural`.
fn spark_discovery(plural: &'static str) -> Answer {
    Box::new(move |s| {
        (s.line() == SPARK_DISCOVERY).then(|| {
            (
                200,
                json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "sparkoperator.k8s.io/v1beta2",
                "resources": [{"name": plural, "singularName": "sparkapplication",
                    "namespaced": true, "kind": "SparkApplication",
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]}),
            )
        })
    })
}

#[tokio::test]
async fn a_resource_template_kind_is_found_by_discovery_once_not_by_a_guessed_plural() {
    let state = catalog();
    let w = workload(&state, "Worker", "spark-job");
    let (client, task) = fake_api(spark_discovery("sparkapps"));
    let ctx = Context::new(client, catalog(), Default::default(), "test-pod");
    for _ in 0..2 {
        let result = reconcile(&w, &ctx).await;
        assert!(result.is_ok(), "{result:?}");
    }
    drop(ctx);
    let seen = lines(&task.await.unwrap_or_default());
    // The plural the API server serves, not "sparkapplications".
    let applied = "PATCH /apis/sparkoperator.k8s.io/v1beta2/namespaces/retail/sparkapps/spark-job";
    assert_eq!(seen.iter().filter(|l| *l == applied).count(), 2, "{seen:?}");
    // Discovered once, then kept.
    assert_eq!(
        seen.iter().filter(|l| *l == SPARK_DISCOVERY).count(),
        1,
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_resource_template_kind_is_discovered_again_when_its_resource_is_gone() {
    let state = catalog();
    let w = workload(&state, "Worker", "spark-job");
    let mut discovery = spark_discovery("sparkapps");
    let mut gone = true;
    let (client, task) = fake_api(Box::new(move |s| {
        if s.method == "PATCH" && s.path.ends_with("/sparkapps/spark-job") && gone {
            // The CRD was replaced: that resource is not served any more.
            gone = false;
            return Some((
                404,
                api_error(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            ));
        }
        discovery(s)
    }));
    let ctx = Context::new(client, catalog(), Default::default(), "test-pod");
    assert!(reconcile(&w, &ctx).await.is_err());
    assert!(reconcile(&w, &ctx).await.is_ok());
    drop(ctx);
    let seen = lines(&task.await.unwrap_or_default());
    assert_eq!(
        seen.iter().filter(|l| *l == SPARK_DISCOVERY).count(),
        2,
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_resource_template_kind_the_api_server_does_not_serve_is_an_error_naming_it() {
    let state = catalog();
    let w = workload(&state, "Worker", "spark-job");
    let (result, seen) = run_all(
        &w,
        Box::new(|s| {
            (s.line() == SPARK_DISCOVERY).then(|| {
                (
                    404,
                    api_error(
                        404,
                        "NotFound",
                        "the server could not find the requested resource",
                    ),
                )
            })
        }),
    )
    .await;
    assert_eq!(
        result.unwrap_err(),
        "cannot find the API resource of SparkApplication in sparkoperator.k8s.io/v1beta2: 404 NotFound: the server could not find the requested resource"
    );
    // Nothing applied.
    assert!(
        !lines(&seen)
            .iter()
            .any(|l| l.starts_with("PATCH /apis/sparkoperator")),
        "{:?}",
        lines(&seen)
    );
}

#[tokio::test]
async fn an_autoscaler_no_longer_asked_for_is_deleted_when_it_is_the_workloads() {
    let state = catalog();
    let w = workload(&state, "Worker", "orders-stream");
    let uid = w.meta().uid.clone().unwrap_or_default();
    let ours = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "orders-stream", "namespace": "retail", "uid": "h-1",
                     "ownerReferences": [{"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
                        "name": "orders-stream", "uid": uid, "controller": true}]},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "orders-stream"}, "maxReplicas": 3}});
    // Someone's own budget of the same name stays.
    let theirs = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "orders-stream", "namespace": "retail", "uid": "p-1"},
        "spec": {"maxUnavailable": 1}});
    let (result, seen) = run_all(
        &w,
        Box::new(move |s| match (s.method.as_str(), s.path.as_str()) {
            ("GET", p) if p.ends_with("/horizontalpodautoscalers/orders-stream") => {
                Some((200, ours.clone()))
            }
            ("GET", p) if p.ends_with("/poddisruptionbudgets/orders-stream") => {
                Some((200, theirs.clone()))
            }
            _ => None,
        }),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    let deletes: Vec<String> = seen
        .iter()
        .filter(|s| s.method == "DELETE")
        .map(Seen::line)
        .collect();
    assert_eq!(
        deletes,
        ["DELETE /apis/autoscaling/v2/namespaces/retail/horizontalpodautoscalers/orders-stream"]
    );
}

#[tokio::test]
async fn a_catalog_change_reconciles_the_workloads_it_touched_of_each_kind() {
    use futures::StreamExt as _;
    use stackhook_core::catalog::{Dependents, WorkloadKey};
    use stackhook_core::model::{Worker, WorkloadKind};
    let (tx, _) = tokio::sync::broadcast::channel(2);
    let (all, some) = super::touched_streams::<Worker>(&tx);
    let key = |kind, name: &str| WorkloadKey {
        namespace: "retail".into(),
        kind,
        name: name.into(),
    };
    tx.send(Arc::new(Dependents::Some(vec![
        key(WorkloadKind::Worker, "a"),
        key(WorkloadKind::Service, "b"),
        key(WorkloadKind::Worker, "c"),
    ])))
    .unwrap();
    let refs: Vec<String> = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        some.take(2).map(|r| r.to_string()).collect(),
    )
    .await
    .unwrap();
    assert_eq!(
        refs,
        [
            "Worker.v1alpha1.stackhook.io/a.retail",
            "Worker.v1alpha1.stackhook.io/c.retail"
        ]
    );
    // The release namespace's settings: every workload.
    let mut all = Box::pin(all);
    tx.send(Arc::new(Dependents::All)).unwrap();
    assert_eq!(all.next().await, Some(()));
    // Announcements missed (a backlog past the channel's): every workload too.
    for _ in 0..3 {
        tx.send(Arc::new(Dependents::Some(vec![key(
            WorkloadKind::Service,
            "b",
        )])))
        .unwrap();
    }
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), all.next()).await;
    assert_eq!(got, Ok(Some(())));
}

#[test]
fn the_violations_metric_holds_one_series_per_workload_in_its_current_mode() {
    use stackhook_core::model::Enforcement;
    let metrics = Metrics::new();
    let violations = super::Violations(metrics.workload_violations.clone());
    let value = json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": "w", "namespace": "retail"},
        "spec": {"stack": "s:1", "stackSpec": {}}});
    let Ok(Parsed::Resource(r)) = stackhook_core::model::parse_document(value) else {
        panic!("a Worker")
    };
    let Resource::Workload(w) = *r else {
        panic!("a Worker")
    };
    let series = |mode: &str| {
        format!(
            "stackhook_workload_violations{{namespace=\"retail\",kind=\"Worker\",name=\"w\",enforcement=\"{mode}\"}}"
        )
    };
    violations.set(&w, Some(Enforcement::Audit), 2);
    let text = metrics.encode();
    assert!(text.contains(&format!("{} 2\n", series("Audit"))), "{text}");
    // The mode changed: one series, of the new mode.
    violations.set(&w, Some(Enforcement::Warn), 1);
    let text = metrics.encode();
    assert!(text.contains(&format!("{} 1\n", series("Warn"))), "{text}");
    assert!(!text.contains(&series("Audit")), "{text}");
    // Conforming again (or denied, or deleted): no series.
    violations.set(&w, None, 0);
    assert!(
        !metrics.encode().contains("enforcement="),
        "{}",
        metrics.encode()
    );
}
