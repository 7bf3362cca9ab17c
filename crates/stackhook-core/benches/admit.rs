//! One workload's admission verdict with its Stack already compiled (the per-request
//! cost): schema validation, address extraction and checks, Stamp, and the dry render.
//!
//! `cargo bench -p stackhook-core --bench admit`

// A benchmark whose own fixture does not load is broken: it stops there.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};

// The stackhook binary's allocator, so the figures are what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use goyaml::parse_documents;
use stackhook_core::admit::Operation;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::compiled::StackCache;
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::model::{Parsed, Resource, parse_document};

const CATALOG: &str = include_str!("../../../examples/catalog/stack-flare.yaml");
const DEPOTS: &str = include_str!("../../../examples/catalog/depots.yaml");
const WORKLOAD: &str = r#"
apiVersion: stackhook.io/v1alpha1
kind: Workflow
metadata: {name: city-export, namespace: retail, uid: u1, generation: 3}
spec:
  stack: flare:6.0
  stackSpec:
    inputs:
      - {dataset: "dataos://icebase:retail/city", format: iceberg}
      - {dataset: "dataos://icebase:retail/country", format: parquet}
    outputs:
      - {dataset: "dataos://gcdexport:none/city/city.csv"}
    steps:
      - {sql: "SELECT * FROM city JOIN country USING (country_id)"}
"#;

fn resources(text: &str) -> Vec<Resource> {
    parse_documents(text)
        .expect("yaml")
        .into_iter()
        .filter_map(|d| match parse_document(d.value).expect("resource") {
            Parsed::Resource(r) => Some(*r),
            Parsed::Skipped { .. } => None,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut catalog = MemoryCatalog::new();
    for r in resources(CATALOG).into_iter().chain(resources(DEPOTS)) {
        catalog.insert(r).expect("insert");
    }
    let workload = resources(WORKLOAD).remove(0);
    let cache = StackCache::new();
    let options = EngineSettings::default();
    let engine = Engine::new(&catalog, &cache, &options);
    assert!(engine.resource(&workload, Operation::Create).allowed());
    c.bench_function("admit a Workflow (flare, 3 addresses, dry render)", |b| {
        b.iter(|| engine.resource(&workload, Operation::Create));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
