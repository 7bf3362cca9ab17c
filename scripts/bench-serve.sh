#!/usr/bin/env bash
# The load run of BENCHMARKS.md: `stackhook serve` (release, embedded catalog,
# self-signed TLS, default info logging to a file) pinned to core 0, oha on core 1,
# TLS keep-alive. For each request body, after a 2 s warm-up: latency at a fixed 1,000 req/s
# (latency-corrected), then maximum throughput, the server's CPU time per review
# (from /proc/PID/stat), and its peak RSS. Needs oha (`cargo install oha --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${DURATION:-10s}"
work="$(mktemp -d)"
# STACKHOOK_BIN measures another build (an earlier commit's, side by side).
bin="${STACKHOOK_BIN:-target/release/stackhook}"
[ -n "${STACKHOOK_BIN:-}" ] || cargo build --release --locked --quiet
python3 scripts/make-bench-reviews.py "$work"
# SCALE=N serves the example catalog plus N more Workers (scripts/bench-catalog.py's,
# from files) instead of the embedded catalog: the same reviews against a large catalog.
catalog=()
if [ -n "${SCALE:-}" ]; then
    python3 - "$work/catalog" "$SCALE" <<'PY'
import importlib.util, shutil, sys
spec = importlib.util.spec_from_file_location("b", "scripts/bench-catalog.py")
b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)
b.write_catalog(sys.argv[1], int(sys.argv[2]), 100, 1000)
for f in ["stack-benthos.yaml", "stack-flare.yaml", "depots.yaml", "workloads.yaml"]:
    shutil.copy(f"examples/catalog/{f}", f"{sys.argv[1]}/example-{f}")
PY
    catalog=(--catalog "$work/catalog")
fi
RUST_LOG="${RUST_LOG:-info}" taskset -c 0 "$bin" serve "${catalog[@]}" --listen 127.0.0.1:18443 --probe-listen 127.0.0.1:18080 \
    --ca-out "$work/ca.crt" 2> "$work/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for body in pod-5k pod-20k worker; do
    path=/mutate; [ "$body" = worker ] && path=/validate
    size=$(stat -c %s "$work/$body.json")
    common=(--no-tui --output-format json --insecure -m POST -H 'content-type: application/json'
            -D "$work/$body.json" "https://127.0.0.1:18443$path")
    # Warm-up: connections made, the Stack compiled, the workload's plan and patch
    # kept — what a webhook that has been up for a while has.
    taskset -c 1 oha -z 2s -c 16 "${common[@]}" > /dev/null
    taskset -c 1 oha -z "$duration" -q 1000 --latency-correction -c 16 "${common[@]}" > "$work/rate.json"
    before=$(cpu)
    taskset -c 1 oha -z "$duration" -c 32 "${common[@]}" > "$work/max.json"
    after=$(cpu)
    python3 - "$body" "$size" "$work/rate.json" "$work/max.json" "$before" "$after" "$ticks" <<'PY'
import json, sys
body, size, rate, mx, before, after, ticks = sys.argv[1:]
r = json.load(open(rate)); m = json.load(open(mx))
p = r["latencyPercentiles"]
n = m["summary"]["successRate"] * 0 + sum(v for k, v in m["statusCodeDistribution"].items() if k == "200")
cpu_us = (int(after) - int(before)) / int(ticks) * 1e6 / max(n, 1)
print(f"{body} ({size} B): 1000 req/s p50 {p['p50']*1e3:.3f} ms, p99 {p['p99']*1e3:.3f} ms, "
      f"p99.9 {p['p99.9']*1e3:.3f} ms | max {m['summary']['requestsPerSec']:.0f} req/s, "
      f"server CPU {cpu_us:.1f} us/review | status {dict(r['statusCodeDistribution'])}")
PY
done
echo "peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
