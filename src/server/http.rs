//! The HTTP side: `POST /validate` and `POST /mutate` on the TLS listener, and
//! `/healthz`, `/readyz`, `/metrics` on the plain probe listener. A handler reads the
//! body, calls the core's review, and answers; every decision is an HTTP 200 with an
//! AdmissionReview, only an undecodable request is a 400.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use stackhook_core::admit::{Admission, Options};
use stackhook_core::inject::Config;
use stackhook_core::review::Reviewer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use super::catalog::CatalogState;
use super::metrics::{
    EndpointLabels, KindLabels, Metrics, RequestLabels, kind_label, operation_label,
};

/// Largest AdmissionReview accepted (the API server's own limit is 3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Everything a request needs.
pub struct AppState {
    /// The catalog and its compiled Stacks.
    pub catalog: Arc<CatalogState>,
    /// Admission settings.
    pub options: Options,
    /// Injection settings.
    pub inject: Config,
    /// The metrics.
    pub metrics: Arc<Metrics>,
}

/// The admission routes (served over TLS).
pub fn admission_router(state: Arc<AppState>, deadline: Duration) -> Router {
    guarded(
        Router::new()
            .route("/validate", post(validate))
            .route("/mutate", post(mutate)),
        deadline,
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
    if state.catalog.ready() {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "catalog not loaded yet").into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
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
    answer(&state, "validate", &body)
}

async fn mutate(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    answer(&state, "mutate", &body)
}

/// Parse, call the core, answer — and count and log the decision.
fn answer(state: &AppState, endpoint: &'static str, body: &[u8]) -> Response {
    let started = Instant::now();
    let catalog = state.catalog.load();
    let reviewer = Reviewer {
        admission: Admission {
            catalog: &catalog.catalog,
            cache: &state.catalog.cache,
            options: &state.options,
            deadline: None,
        },
        inject: &state.inject,
        memo: Some(&catalog.memo),
    };
    let result = reviewer.review(body);
    let elapsed = started.elapsed();
    state
        .metrics
        .duration
        .get_or_create(&EndpointLabels { endpoint })
        .observe(elapsed.as_secs_f64());
    match result {
        Ok((bytes, summary)) => {
            let result = match (summary.allowed, summary.patched) {
                (false, _) => "denied",
                (true, true) => "patched",
                (true, false) => "allowed",
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
    use stackhook_core::MemoryCatalog;
    use tower::ServiceExt as _;

    fn state() -> Arc<AppState> {
        Arc::new(AppState {
            catalog: Arc::new(CatalogState::new()),
            options: Options::default(),
            inject: Config::default(),
            metrics: Arc::new(Metrics::new()),
        })
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

    #[tokio::test]
    async fn answers_in_process_without_tls() {
        let router = admission_router(state(), Duration::from_secs(8));
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
