//! Catalog changes at scale (issue #19): 10,000 workloads in 100 namespaces, 100
//! Stacks, 1,000 Depots. What one watch event costs the catalog (a copy of the
//! catalog, the change applied, what it touched given a new epoch), and what a Stack
//! change touching 1,000 workloads costs. Criterion gives the means; the run then
//! prints percentiles of 10,000 single events, measured one by one.
//!
//! `cargo bench -p stackhook-core --bench catalog`

// A benchmark whose own fixture does not load is broken: it stops there.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use serde_json::{Value, json};
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::catalog::{Change, Dependents};
use stackhook_core::model::{Parsed, Resource, parse_document};

// The stackhook binary's allocator, so the figures are what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WORKLOADS: usize = 10_000;
const NAMESPACES: usize = 100;
const STACKS: usize = 100;
const DEPOTS: usize = 1_000;
/// The workloads naming Stack 0 (the others share the rest).
const ON_STACK_0: usize = 1_000;

fn resource(v: Value) -> Resource {
    match parse_document(v).expect("document") {
        Parsed::Resource(r) => *r,
        Parsed::Skipped { what } => panic!("skipped {what}"),
    }
}

fn stack(i: usize, generation: i64) -> Resource {
    resource(json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
        "metadata": {"name": format!("app-{i}"), "uid": format!("s{i}"), "generation": generation},
        "spec": {"name": format!("app{i}"), "version": "1.0",
                 "image": {"registry": "r.io", "repository": "team", "image": "app",
                           "tag": format!("1.{generation}")},
                 "dataOsAddressJqFilters": [".inputs[]"],
                 "stackSpecValueSchema": {"jsonSchema": "{\"type\": \"object\"}"},
                 "workerConfig": {"configFileTemplate": "app.yaml: |\n  name: {{ .Name }}\n"}}
    }))
}

fn worker(i: usize, generation: i64) -> Resource {
    let ns = i % NAMESPACES;
    let stack = if i.is_multiple_of(WORKLOADS / ON_STACK_0) {
        0
    } else {
        1 + i % (STACKS - 1)
    };
    resource(json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": format!("w{i}"), "namespace": format!("ns{ns}"),
                     "uid": format!("u{i}"), "generation": generation,
                     "labels": {"team": format!("t{ns}")}},
        "spec": {"stack": format!("app{stack}:1.0"), "replicas": 2, "logLevel": "INFO",
                 "envs": {"MODE": "stream", "REGION": "eu-west-1"},
                 "stackSpec": {"inputs": [format!("dataos://lake{}:raw/orders", ns)]}}
    }))
}

fn catalog(compact: bool) -> MemoryCatalog {
    let mut c = if compact {
        MemoryCatalog::compact()
    } else {
        MemoryCatalog::new()
    };
    for i in 0..STACKS {
        c.insert(stack(i, 1)).unwrap();
    }
    for i in 0..DEPOTS {
        c.insert(resource(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
            "metadata": {"name": format!("lake{i}"), "namespace": format!("ns{}", i % NAMESPACES)},
            "spec": {"type": "S3", "spec": {"bucket": format!("b{i}")}}
        })))
        .unwrap();
    }
    for i in 0..WORKLOADS {
        c.insert(worker(i, 1)).unwrap();
    }
    c
}

/// One event as the server applies it: copy the catalog, apply, keep the copy.
fn apply(current: &mut MemoryCatalog, change: Change) -> Dependents {
    let mut next = current.clone();
    let touched = next.apply([change]).touched;
    *current = next;
    touched
}

fn bench(c: &mut Criterion) {
    for (label, compact) in [("shared", false), ("compact", true)] {
        let mut current = catalog(compact);
        let mut generation = 1;
        c.bench_function(&format!("catalog/{label}/workload event"), |b| {
            b.iter(|| {
                generation += 1;
                black_box(apply(
                    &mut current,
                    Change::Upsert(worker(4321, generation)),
                ))
            });
        });
        let mut current = catalog(compact);
        let mut generation = 1;
        c.bench_function(
            &format!("catalog/{label}/Stack change touching 1,000"),
            |b| {
                b.iter(|| {
                    generation += 1;
                    let touched = apply(&mut current, Change::Upsert(stack(0, generation)));
                    assert!(matches!(&touched, Dependents::Some(k) if k.len() == ON_STACK_0));
                    black_box(touched)
                });
            },
        );
    }
}

// A bench reports on stdout, as criterion does.
#[allow(clippy::disallowed_macros)]
fn percentiles(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{label}: {} runs, p50 {:?}, p99 {:?}, max {:?}",
        times.len(),
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}

/// Each event timed alone, including the event's own object made (as a watch
/// delivers it), so the tail is what a server sees.
fn tails() {
    for (label, compact) in [("shared", false), ("compact", true)] {
        let mut current = catalog(compact);
        let mut times = Vec::with_capacity(WORKLOADS);
        for i in 0..WORKLOADS {
            let event = Change::Upsert(worker(i, 2));
            let t = Instant::now();
            black_box(apply(&mut current, event));
            times.push(t.elapsed());
        }
        percentiles(&format!("catalog/{label}/workload event"), times);
        let mut times = Vec::new();
        for generation in 2..202 {
            let event = Change::Upsert(stack(0, generation));
            let t = Instant::now();
            black_box(apply(&mut current, event));
            times.push(t.elapsed());
        }
        percentiles(
            &format!("catalog/{label}/Stack change touching 1,000"),
            times,
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    tails();
}
