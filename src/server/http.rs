//! The HTTP side: `POST /validate` and `POST /mutate` on the TLS listener, and
//! `/healthz`, `/readyz`, `/metrics` on the plain probe listener. A handler reads the
//! body, has the core's review run on the decision pool ([`super::decide`]), and
//! answers; every decision is an HTTP 200 with an AdmissionReview — a review not
//! decided by its deadline, or refused because the pool is full, is a denial saying
//! so — and only an undecodable request is a 400.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::inject::InjectSettings;
use stackhook_core::review::{Kept, ReviewError, Reviewer, Summary, Unanswered, unanswered};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use super::decide::{DecisionPool, Refused};
use crate::shared::live::{LiveCatalog, Snapshot};
use crate::shared::metrics::{
    EndpointLabels, KindLabels, Metrics, RequestLabels, kind_label, operation_label,
};
use crate::shared::readiness::Components;

/// Largest AdmissionReview accepted (the API server's own limit is 3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Everything a request needs.
pub struct AppState {
    /// The catalog and its compiled Stacks.
    pub catalog: Arc<LiveCatalog>,
    /// Admission settings.
    pub engine_settings: EngineSettings,
    /// Injection settings.
    pub inject: InjectSettings,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Where decisions run.
    pub decisions: DecisionPool,
    /// The review deadline (below the webhook's `timeoutSeconds`).
    pub deadline: Duration,
    /// The most time one review's templates may take in all: well under the
    /// deadline, so a few slow reviews cannot hold every decision thread until it.
    pub review_time: Duration,
    /// The components besides the catalog that this process was asked to run (the
    /// controller), for `/readyz`.
    pub components: Arc<Components>,
}

impl AppState {
    /// The state for the given parts, with a decision pool of one thread per core.
    pub fn new(
        catalog: Arc<LiveCatalog>,
        inject: InjectSettings,
        metrics: Arc<Metrics>,
        deadline: Duration,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            catalog,
            engine_settings: EngineSettings::default(),
            inject,
            metrics,
            decisions: DecisionPool::new(cores, 64),
            deadline,
            review_time: Duration::from_secs(1),
            components: Arc::new(Components::default()),
        }
    }
}

/// The admission routes (served over TLS). The deadline of the HTTP layer is a
/// backstop after the review deadline (a body that never arrives, say): a review is
/// answered as a denial before it.
pub fn admission_router(state: Arc<AppState>, in_flight: usize) -> Router {
    let backstop = state.deadline + Duration::from_millis(500);
    guarded(
        Router::new()
            .route("/validate", post(validate))
            .route("/mutate", post(mutate))
            // Bodies are read only by requests that have a slot: memory stays bounded
            // whatever the number of connections and streams.
            .layer(tower::limit::ConcurrencyLimitLayer::new(in_flight.max(1))),
        backstop,
    )
    .with_state(state)
}

/// The limits every admission route runs under: the body limit (413), the deadline
/// (408), and a panic answered with 500 while the server keeps serving.
fn guarded<S: Clone + Send + Sync + 'static>(router: Router<S>, deadline: Duration) -> Router<S> {
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            deadline,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked; answered 500, still serving");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }))
}

/// The probe routes (plain HTTP).
pub fn probe_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if !state.catalog.ready() {
        (StatusCode::SERVICE_UNAVAILABLE, "catalog not loaded yet").into_response()
    } else if let Some(stale) = state.catalog.stale() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: catalog: {stale}"),
        )
            .into_response()
    } else if let Some(problem) = state.components.problem() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {problem}"),
        )
            .into_response()
    } else {
        "ready".into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    state.catalog.observe_sources(&state.metrics);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

async fn validate(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    answer(state, "validate", body).await
}

async fn mutate(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    answer(state, "mutate", body).await
}

/// The review's decision, on the pool: the core stops template execution a little
/// before the answer is due, so a slow render is its own clear error, and the pool's
/// deadline is the backstop.
async fn answer(state: Arc<AppState>, endpoint: &'static str, body: Bytes) -> Response {
    let started = Instant::now();
    // No decision on a catalog that may have missed changes for longer than allowed
    // (a watch of the cluster failing): a denial saying so, as when undecided.
    if let Some(stale) = state.catalog.stale() {
        let why = Unanswered::Stale {
            age: stale.age,
            bound: stale.bound,
            sources: stale.sources,
        };
        tracing::warn!(endpoint, reason = %why, "review not decided; answered with a denial");
        return respond(&state, endpoint, started, unanswered(&body, &why), "stale");
    }
    // A pod whose patch is kept (a Deployment's replicas, a rollout) is answered here,
    // in microseconds: handing it to the pool would cost more than deciding it. Small
    // bodies only, so no answer given here takes long.
    if body.len() <= INLINE_BODY_BYTES
        && let Kept::Answer(result) = kept(&state, &body)
    {
        return respond(&state, endpoint, started, result, "");
    }
    let answer_by = started + state.deadline.mul_f64(0.95);
    let decide_by = started + state.deadline.mul_f64(0.9);
    let (task_state, task_body) = (Arc::clone(&state), body.clone());
    let outcome = state
        .decisions
        .run(answer_by, move || {
            // The review's time budget starts when it gets a thread.
            let budget = decide_by.min(Instant::now() + task_state.review_time);
            decide(&task_state, &task_body, budget)
        })
        .await;
    let result = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => {
            tracing::error!(endpoint, error = %panic, "a decision panicked; answered 500, still serving");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
        Err(refused) => {
            let why = match refused {
                Refused::Deadline => Unanswered::Deadline(state.deadline),
                Refused::Overloaded => Unanswered::Overloaded {
                    running: state.decisions.max_running,
                    waiting: state.decisions.max_waiting,
                },
            };
            let label = match refused {
                Refused::Deadline => "deadline",
                Refused::Overloaded => "overloaded",
            };
            tracing::warn!(endpoint, reason = %why, "review not decided; answered with a denial");
            return respond(&state, endpoint, started, unanswered(&body, &why), label);
        }
    };
    respond(&state, endpoint, started, result, "")
}

/// Largest body answered without the decision pool (when its answer is kept).
const INLINE_BODY_BYTES: usize = 64 << 10;

/// The review's answer if it is already kept: see [`Reviewer::review_kept`].
fn kept(state: &AppState, body: &[u8]) -> Kept {
    let catalog = state.catalog.load();
    reviewer(state, &catalog, None).review_kept(body)
}

/// The core's review of one body, with the catalog as it is now.
fn decide(
    state: &AppState,
    body: &[u8],
    deadline: Instant,
) -> Result<(Vec<u8>, Summary), ReviewError> {
    let catalog = state.catalog.load();
    reviewer(state, &catalog, Some(deadline)).review(body)
}

/// The one way a request's reviewer is made: the catalog as loaded, its kept plans
/// and patches, the server's settings, and the review's deadline when it has one.
fn reviewer<'a>(
    state: &'a AppState,
    catalog: &'a Snapshot,
    deadline: Option<Instant>,
) -> Reviewer<'a> {
    let engine = Engine::new(
        &catalog.catalog,
        &state.catalog.cache,
        &state.engine_settings,
    );
    let engine = match deadline {
        Some(deadline) => engine.until(deadline),
        None => engine,
    };
    Reviewer::new(engine, &state.inject).keeping(&catalog.memo)
}

/// Counts, logs and answers; `unanswered` names why a review was not decided.
fn respond(
    state: &AppState,
    endpoint: &'static str,
    started: Instant,
    result: Result<(Vec<u8>, Summary), ReviewError>,
    unanswered: &'static str,
) -> Response {
    let elapsed = started.elapsed();
    state
        .metrics
        .duration
        .get_or_create(&EndpointLabels { endpoint })
        .observe(elapsed.as_secs_f64());
    match result {
        Ok((bytes, summary)) => {
            let result = match (summary.allowed, summary.patched, unanswered) {
                (_, _, u) if !u.is_empty() => u,
                (false, _, _) => "denied",
                (true, true, _) => "patched",
                (true, false, _) => "allowed",
            };
            state
                .metrics
                .requests
                .get_or_create(&RequestLabels {
                    endpoint,
                    kind: kind_label(&summary.kind),
                    operation: operation_label(&summary.operation),
                    result,
                })
                .inc();
            if !summary.allowed {
                state
                    .metrics
                    .denials
                    .get_or_create(&KindLabels {
                        kind: kind_label(&summary.kind),
                    })
                    .inc();
            }
            tracing::info!(
                uid = %summary.uid,
                endpoint,
                kind = %summary.kind,
                object = %summary.object,
                operation = %summary.operation,
                result,
                latency_us = elapsed.as_micros() as u64,
                "admission decision"
            );
            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => {
            state
                .metrics
                .requests
                .get_or_create(&RequestLabels {
                    endpoint,
                    kind: "unknown",
                    operation: "unknown",
                    result: "error",
                })
                .inc();
            tracing::warn!(endpoint, error = %e, "undecodable admission request");
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use stackhook_core::catalog::MemoryCatalog;
    use tower::ServiceExt as _;

    fn state() -> Arc<AppState> {
        Arc::new(AppState::new(
            Arc::new(LiveCatalog::new()),
            InjectSettings::default(),
            Arc::new(Metrics::new()),
            Duration::from_secs(8),
        ))
    }

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let resp = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn readyz_waits_for_the_catalog() {
        let state = state();
        let probes = probe_router(Arc::clone(&state));
        assert_eq!(
            get(probes.clone(), "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "catalog not loaded yet".into()
            )
        );
        assert_eq!(get(probes.clone(), "/healthz").await.0, StatusCode::OK);
        state.catalog.replace(MemoryCatalog::new(), &state.metrics);
        assert_eq!(
            get(probes, "/readyz").await,
            (StatusCode::OK, "ready".into())
        );
    }

    /// The value of the metric line starting with `name ` in `text`.
    fn sample(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    }

    #[tokio::test]
    async fn metrics_say_which_watches_fail_for_how_long_and_when_the_catalog_is_stale() {
        let state = state();
        state.catalog.replace(MemoryCatalog::new(), &state.metrics);
        let probes = probe_router(Arc::clone(&state));
        let (_, text) = get(probes.clone(), "/metrics").await;
        assert_eq!(sample(&text, "stackhook_catalog_sources_failing"), 0.0);
        assert_eq!(
            sample(&text, "stackhook_catalog_source_failing_seconds"),
            0.0
        );
        assert_eq!(sample(&text, "stackhook_catalog_stale"), 0.0);
        assert_eq!(sample(&text, "stackhook_shutting_down"), 0.0);

        state.catalog.source_down("Worker");
        state.catalog.source_down("Stack");
        state
            .catalog
            .set_staleness_bound(Some(Duration::from_millis(20)));
        let (_, text) = get(probes.clone(), "/metrics").await;
        assert_eq!(sample(&text, "stackhook_catalog_sources_failing"), 2.0);
        assert_eq!(sample(&text, "stackhook_catalog_stale"), 0.0);
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (_, text) = get(probes.clone(), "/metrics").await;
        assert!(sample(&text, "stackhook_catalog_source_failing_seconds") >= 0.03);
        assert_eq!(sample(&text, "stackhook_catalog_stale"), 1.0);

        // Listed again: nothing failing, not stale.
        state.catalog.source_up("Worker");
        state.catalog.source_up("Stack");
        let (_, text) = get(probes, "/metrics").await;
        assert_eq!(sample(&text, "stackhook_catalog_sources_failing"), 0.0);
        assert_eq!(
            sample(&text, "stackhook_catalog_source_failing_seconds"),
            0.0
        );
        assert_eq!(sample(&text, "stackhook_catalog_stale"), 0.0);
    }

    #[tokio::test]
    async fn readyz_says_not_ready_while_a_component_asked_for_is_down() {
        let state = state();
        state.catalog.replace(MemoryCatalog::new(), &state.metrics);
        let probes = probe_router(Arc::clone(&state));
        state.components.down(
            "controller",
            "the controller needs the watches' stores; none were kept",
        );
        assert_eq!(
            get(probes.clone(), "/readyz").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: controller: the controller needs the watches' stores; none were kept"
                    .into()
            )
        );
        state.components.up("controller");
        assert_eq!(
            get(probes, "/readyz").await,
            (StatusCode::OK, "ready".into())
        );
    }

    #[tokio::test]
    async fn a_panic_is_answered_500_and_the_next_request_is_served() {
        #[allow(clippy::panic)]
        async fn boom() -> &'static str {
            panic!("handler bug")
        }
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        }
        let router = guarded(
            Router::new()
                .route("/boom", axum::routing::get(boom))
                .route("/slow", axum::routing::get(slow))
                .route("/ok", axum::routing::get(|| async { "fine" })),
            Duration::from_millis(100),
        );
        assert_eq!(
            get(router.clone(), "/boom").await,
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
        );
        assert_eq!(
            get(router.clone(), "/ok").await,
            (StatusCode::OK, "fine".into())
        );
        assert_eq!(get(router, "/slow").await.0, StatusCode::REQUEST_TIMEOUT);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_in_process_without_tls() {
        let router = admission_router(state(), 8);
        let resp = router
            .oneshot(
                Request::post("/validate")
                    .body(Body::from(r#"{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}"#))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "unsupported AdmissionReview apiVersion \"admission.k8s.io/v1beta1\" (only admission.k8s.io/v1 is served)"
        );
    }
}
