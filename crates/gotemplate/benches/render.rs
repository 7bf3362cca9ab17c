//! Rendering the seed's benthos `configFileTemplate` from a parsed template (the
//! per-request cost: parsing happens once per Stack generation), and parsing it.
//!
//! `cargo bench -p gotemplate --bench render`

// A benchmark whose own fixture does not load is broken: it stops there.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};

// The stackhook binary's allocator, so the figures are what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use gotemplate::{CallContext, Limits, Template, Value};
use serde_json::json;

const BENTHOS: &str = r#"jobconfig.yaml: |
{{ toYaml .ApplicationSpec.StackSpec | indent 2 }}
  logger:
   level: {{.ApplicationSpec.LogLevel}}
   add_timestamp: true
   format: json
   static_fields:
     '@service': {{.Name}}
  http:
   address: 0.0.0.0:{{.MetricPort}}
   root_path: /dataos-benthos
   debug_endpoints: false
  metrics:
   prometheus:
      push_url: "http://prometheus-pushgateway.sentinel.svc.cluster.local:9091"
      push_interval: "5s"
      push_job_name: "{{ .Name }}-{{ .Type }}{{ .Stamp }}"
"#;

fn context() -> Value {
    Value::from(json!({
        "Name": "orders-stream", "Type": "worker", "Stamp": "-a1b2", "MetricPort": 8093,
        "Workspace": "retail",
        "ApplicationSpec": {"LogLevel": "INFO", "StackSpec": {
            "input": {"http_server": {"path": "/orders", "allowed_verbs": ["POST"], "timeout": "5s"}},
            "pipeline": {"processors": [{"bloblang": "root = this"}, {"mapping": "root.id = uuid_v4()"}]},
            "output": {"kafka": {"addresses": ["kafka:9092"], "topic": "orders", "max_in_flight": 64}}
        }}
    }))
}

fn bench(c: &mut Criterion) {
    let template = Template::parse("configFileTemplate", BENTHOS).expect("parses");
    let data = context();
    let limits = Limits::default();
    let ctx = CallContext::default();
    c.bench_function("render benthos configFileTemplate (parsed)", |b| {
        b.iter(|| {
            template
                .execute(data.clone(), &ctx, &limits)
                .expect("renders")
        });
    });
    c.bench_function("parse benthos configFileTemplate", |b| {
        b.iter(|| Template::parse("configFileTemplate", BENTHOS).expect("parses"));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
