//! `review` end to end, bytes in → bytes out: a Pod review of about 5 KB and one of
//! about 20 KB (mutated), and a Worker validation review.
//!
//! `cargo bench -p stackhook-core --bench review`

// A benchmark whose own fixture does not load is broken: it stops there.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};

// The stackhook binary's allocator, so the figures are what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use goyaml::parse_documents;
use serde_json::{Value, json};
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::compiled::StackCache;
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::inject::{InjectMemo, InjectSettings};
use stackhook_core::model::{Parsed, parse_document};
use stackhook_core::review::Reviewer;

const CATALOG: [&str; 4] = [
    include_str!("../../../examples/catalog/stack-benthos.yaml"),
    include_str!("../../../examples/catalog/stack-flare.yaml"),
    include_str!("../../../examples/catalog/depots.yaml"),
    include_str!("../../../examples/catalog/workloads.yaml"),
];
const POD_REVIEW: &str =
    include_str!("../../../tests/fixtures/reviews/service-pod-two-containers.json");
const WORKER_REVIEW: &str = include_str!("../../../tests/fixtures/reviews/worker-create.json");

/// The fixture pod grown with realistic bulk (annotations, env, more containers)
/// until its review is about `target` bytes.
fn pod_review(target: usize) -> Vec<u8> {
    let mut review: Value = serde_json::from_str(POD_REVIEW).expect("fixture");
    let mut i = 0;
    while serde_json::to_vec(&review).expect("json").len() < target {
        let pod = &mut review["request"]["object"];
        pod["metadata"]["annotations"][format!("example.com/annotation-{i}")] =
            json!(format!("value-{i}-{}", "x".repeat(40)));
        if let Some(env) = pod["spec"]["containers"][0]["env"].as_array_mut() {
            env.push(
                json!({"name": format!("SHIPPER_OPTION_{i}"), "value": format!("setting-{i}")}),
            );
        } else {
            pod["spec"]["containers"][0]["env"] = json!([]);
        }
        i += 1;
    }
    serde_json::to_vec(&review).expect("json")
}

/// The example catalog, and (`extra` > 0) that many more Workers in 100 namespaces,
/// kept packed as a server that read them from files keeps them.
fn catalog(extra: usize) -> MemoryCatalog {
    let mut catalog = if extra > 0 {
        MemoryCatalog::compact()
    } else {
        MemoryCatalog::new()
    };
    for text in CATALOG {
        for d in parse_documents(text).expect("yaml") {
            // As a reflector delivers them: with uid and generation.
            let mut v = d.value;
            let name = v["metadata"]["name"].as_str().unwrap_or("x").to_owned();
            v["metadata"]["uid"] = json!(format!("uid-{name}"));
            v["metadata"]["generation"] = json!(1);
            if let Parsed::Resource(r) = parse_document(v).expect("resource") {
                catalog.insert(*r).expect("insert");
            }
        }
    }
    for i in 0..extra {
        let v = json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": format!("w{i}"), "namespace": format!("ns{}", i % 100),
                         "uid": format!("u{i}"), "generation": 1},
            "spec": {"stack": "benthos:4.0", "replicas": 2, "envs": {"MODE": "stream"},
                     "stackSpec": {"input": {"http_server": {"path": "/in"}}}}
        });
        if let Parsed::Resource(r) = parse_document(v).expect("resource") {
            catalog.insert(*r).expect("insert");
        }
    }
    catalog
}

fn bench(c: &mut Criterion) {
    let catalog = catalog(0);
    let cache = StackCache::new();
    let options = EngineSettings::default();
    let config = InjectSettings::default();
    let memo = InjectMemo::new();
    let built = Reviewer::new(Engine::new(&catalog, &cache, &options), &config);
    // "built": every review builds the workload's plan and the patch (the first pod of
    // a workload, and `stackhook mutate`); "kept": the webhook's memo has them (the
    // workload's other pods, whose template is the same).
    for (label, body) in [
        ("5 KB", pod_review(5 * 1024)),
        ("20 KB", pod_review(20 * 1024)),
    ] {
        for (how, r) in [("built", built), ("kept", built.keeping(&memo))] {
            let (_, summary) = r.review(&body).expect("review");
            assert!(summary.patched);
            c.bench_function(
                &format!(
                    "review: mutate a {label} Pod review ({} bytes), patch {how}",
                    body.len()
                ),
                |b| {
                    b.iter(|| r.review(&body).expect("review"));
                },
            );
        }
    }
    // The same 5 KB review against catalogs of 1,000 to 50,000 more workloads (#19).
    let body = pod_review(5 * 1024);
    for extra in [1_000, 10_000, 50_000] {
        let large = self::catalog(extra);
        let memo = InjectMemo::new();
        for (how, memo) in [("built", None), ("kept", Some(&memo))] {
            let r = Reviewer::new(Engine::new(&large, &cache, &options), &config);
            let r = memo.map_or(r, |m| r.keeping(m));
            assert!(r.review(&body).expect("review").1.patched);
            c.bench_function(
                &format!("review: mutate a 5 KB Pod review, {extra} more workloads, patch {how}"),
                |b| {
                    b.iter(|| r.review(&body).expect("review"));
                },
            );
        }
    }
    let body = WORKER_REVIEW.as_bytes();
    let r = built;
    assert!(r.review(body).expect("review").1.allowed);
    c.bench_function(
        &format!("review: validate a Worker review ({} bytes)", body.len()),
        |b| {
            b.iter(|| r.review(body).expect("review"));
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
