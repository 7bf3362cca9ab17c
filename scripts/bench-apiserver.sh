#!/usr/bin/env bash
# A benchmark, not a test: Pod CREATE latency through a real kube-apiserver with no
# admission step, with an in-tree MutatingAdmissionPolicy doing the static part of the
# injection, with stackhook's webhooks, and with two replicas of it behind the chart's
# Service (scripts/bench-apiserver.py says how). On a
# control plane of its own (scripts/control-plane.sh, built on first use), with a
# release build of stackhook. Prints one JSON line per case; BENCHMARKS.md has the table.
#   SECONDS_PER_RUN=10 scripts/bench-apiserver.sh      (CASES=webhook,webhook-2 for some of the cases)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin="$(bash scripts/control-plane.sh build)"
python3 scripts/bench-apiserver.py "$bin" "$PWD/target/release/stackhook" "${SECONDS_PER_RUN:-10}" ${CASES:+"$CASES"}
