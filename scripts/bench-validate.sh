#!/usr/bin/env bash
# Times `stackhook validate` over N generated workload documents (default 1000) against
# the example catalog: the figure BENCHMARKS.md reports. Uses the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$n"); do
    cat <<DOC
---
apiVersion: stackhook.io/v1alpha1
kind: Workflow
metadata: {name: export-$i, namespace: retail}
spec:
  stack: flare:6.0
  stackSpec:
    inputs:
      - {dataset: "dataos://icebase:retail/city_$i", format: iceberg}
    outputs:
      - {dataset: "dataos://gcdexport:none/city/$i.csv"}
DOC
done > "$work/workloads.yaml"
cargo build --release --locked --quiet
bin=target/release/stackhook
"$bin" validate --catalog examples/catalog "$work/workloads.yaml" | tail -1
runs=5
best=""
for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$bin" validate --catalog examples/catalog "$work/workloads.yaml" > /dev/null
    end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
echo "validate $n workloads: best of $runs runs: ${best} ms"
