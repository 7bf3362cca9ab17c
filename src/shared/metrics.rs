//! Prometheus metrics, all named `stackhook_*`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Labels of an admission request. Static strings: counting a request allocates
/// nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `validate` or `mutate`.
    pub endpoint: &'static str,
    /// The object's kind (`Pod`, `Worker`, …; `other`, or `unknown` when undecodable).
    pub kind: &'static str,
    /// CREATE, UPDATE, DELETE, CONNECT (`other`, `unknown`).
    pub operation: &'static str,
    /// `allowed`, `patched`, `denied` or `error`.
    pub result: &'static str,
}

/// Labels naming an endpoint.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// `validate` or `mutate`.
    pub endpoint: &'static str,
}

/// Labels naming a kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The kind.
    pub kind: &'static str,
}

/// A request's kind as a bounded label value.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "Pod" => "Pod",
        "Worker" => "Worker",
        "Service" => "Service",
        "Workflow" => "Workflow",
        "Stack" => "Stack",
        "Depot" => "Depot",
        _ => "other",
    }
}

/// A request's operation as a bounded label value.
pub fn operation_label(operation: &str) -> &'static str {
    match operation {
        "CREATE" => "CREATE",
        "UPDATE" => "UPDATE",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

/// Labels of a reload.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok` or `failed`.
    pub result: String,
}

/// Labels of an escaped pod: why it escaped (`not_injected`, `stale_stamp`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why.
    pub reason: &'static str,
}

/// Labels of a workload whose violations its mode admitted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ViolationLabels {
    /// The workload's namespace.
    pub namespace: String,
    /// Worker, Service or Workflow.
    pub kind: &'static str,
    /// The workload's name.
    pub name: String,
    /// `Warn` or `Audit`.
    pub enforcement: &'static str,
}

/// Every metric.
pub struct Metrics {
    /// The registry they are exposed from.
    pub registry: Registry,
    /// `stackhook_admission_requests_total`.
    pub requests: Family<RequestLabels, Counter>,
    /// `stackhook_admission_duration_seconds`.
    pub duration: Family<EndpointLabels, Histogram>,
    /// `stackhook_admission_denials_total`.
    pub denials: Family<KindLabels, Counter>,
    /// `stackhook_catalog_objects`.
    pub catalog_objects: Family<KindLabels, Gauge>,
    /// `stackhook_catalog_reloads_total`.
    pub catalog_reloads: Family<ResultLabels, Counter>,
    /// `stackhook_catalog_update_duration_seconds`: how long one change of the
    /// catalog took to apply (a reload of files, a batch of watch events).
    pub catalog_update: Histogram,
    /// `stackhook_tls_certificate_expiry_timestamp_seconds`.
    pub certificate_expiry: Gauge,
    /// `stackhook_escaped_pods`: labelled pods that escaped admission, known now (the
    /// controller, while it holds the Lease).
    pub escaped_pods: Family<ReasonLabels, Gauge>,
    /// `stackhook_escaped_pods_found_total`: escaped pods found.
    pub escaped_pods_found: Family<ReasonLabels, Counter>,
    /// `stackhook_workload_violations`: per workload, the violations `Warn` or
    /// `Audit` admitted, as the controller last found them (no series: none).
    pub workload_violations: Family<ViolationLabels, Gauge>,
    /// `stackhook_catalog_sources_failing`: the catalog's watches of the cluster
    /// failing now (the catalog may miss their changes).
    pub catalog_sources_failing: Gauge,
    /// `stackhook_catalog_source_failing_seconds`: how long the oldest of them has
    /// been failing (0: none).
    pub catalog_source_failing_seconds: Gauge<f64, AtomicU64>,
    /// `stackhook_catalog_stale`: 1 while reviews are denied because the catalog may
    /// be older than its staleness bound.
    pub catalog_stale: Gauge,
    /// `stackhook_shutting_down`: 1 from SIGTERM on (not ready; reviews still
    /// answered for the shutdown delay).
    pub shutting_down: Gauge,
}

impl Metrics {
    /// Every metric, registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("stackhook");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "admission_requests",
            "Admission requests answered",
            requests.clone(),
        );
        let duration = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            // 10 µs to ~1.3 s.
            Histogram::new(exponential_buckets(0.000_01, 2.0, 18))
        });
        registry.register(
            "admission_duration_seconds",
            "Time to answer an admission request",
            duration.clone(),
        );
        let denials = Family::<KindLabels, Counter>::default();
        registry.register(
            "admission_denials",
            "Admission requests denied",
            denials.clone(),
        );
        let catalog_objects = Family::<KindLabels, Gauge>::default();
        registry.register(
            "catalog_objects",
            "Objects in the catalog",
            catalog_objects.clone(),
        );
        let catalog_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "catalog_reloads",
            "Catalog reloads from files",
            catalog_reloads.clone(),
        );
        // 10 µs to ~5 s.
        let catalog_update = Histogram::new(exponential_buckets(0.000_01, 2.0, 20));
        registry.register(
            "catalog_update_duration_seconds",
            "Time to apply one change of the catalog (a file reload, a batch of watch events)",
            catalog_update.clone(),
        );
        let certificate_expiry = Gauge::default();
        registry.register(
            "tls_certificate_expiry_timestamp_seconds",
            "When the serving certificate expires (Unix time)",
            certificate_expiry.clone(),
        );
        let escaped_pods = Family::<ReasonLabels, Gauge>::default();
        registry.register(
            "escaped_pods",
            "Labelled pods that escaped admission (not injected, or injected for a Stamp no longer kept), known now",
            escaped_pods.clone(),
        );
        let escaped_pods_found = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "escaped_pods_found",
            "Labelled pods found to have escaped admission",
            escaped_pods_found.clone(),
        );
        let workload_violations = Family::<ViolationLabels, Gauge>::default();
        registry.register(
            "workload_violations",
            "Violations a workload's enforcement mode (Warn or Audit) admitted, as the controller last found them",
            workload_violations.clone(),
        );
        let catalog_sources_failing = Gauge::default();
        registry.register(
            "catalog_sources_failing",
            "Watches of the cluster that fill the catalog and are failing now",
            catalog_sources_failing.clone(),
        );
        let catalog_source_failing_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "catalog_source_failing_seconds",
            "How long the oldest failing watch of the catalog has been failing (0: none)",
            catalog_source_failing_seconds.clone(),
        );
        let catalog_stale = Gauge::default();
        registry.register(
            "catalog_stale",
            "1 while reviews are denied because the catalog may be older than its staleness bound",
            catalog_stale.clone(),
        );
        let shutting_down = Gauge::default();
        registry.register(
            "shutting_down",
            "1 from SIGTERM on: not ready, reviews still answered for the shutdown delay",
            shutting_down.clone(),
        );
        Self {
            registry,
            requests,
            duration,
            denials,
            catalog_objects,
            catalog_reloads,
            catalog_update,
            certificate_expiry,
            escaped_pods,
            escaped_pods_found,
            workload_violations,
            catalog_sources_failing,
            catalog_source_failing_seconds,
            catalog_stale,
            shutting_down,
        }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
