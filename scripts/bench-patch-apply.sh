#!/usr/bin/env bash
# What kube-apiserver spends applying stackhook's patch to a Pod: the JSON patch of
# each load-run pod (5 KB, 20 KB; scripts/make-bench-reviews.py), made as the API
# server asks for it (the pod carries the ServiceAccount plugin's token volume and
# mounts), decoded and applied with the API server's own library and version
# (scripts/patch-apply, gopkg.in/evanphx/json-patch.v4 v4.13.0 as k8s.io/apiserver
# v0.37.2 requires it). One JSON line per binary and pod. Several binaries compare
# builds on the same pods, in turns.
#
# usage: scripts/bench-patch-apply.sh [STACKHOOK_BINARY…]   (default: the release build)
# Needs Go 1.22 or newer (`go` on PATH, or GO=…) and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
go="${GO:-go}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ "$#" -eq 0 ]; then
    cargo build --release --locked --quiet
    set -- target/release/stackhook
fi
python3 scripts/make-bench-reviews.py "$work"
for size in 5k 20k; do
    python3 - "$work/pod-$size.json" <<'PY'
import json, sys
# As kube-apiserver's ServiceAccount plugin leaves a pod before mutating webhooks.
path = sys.argv[1]
review = json.load(open(path))
spec = review["request"]["object"]["spec"]
name = "kube-api-access-b7x2q"
spec.setdefault("volumes", []).append({"name": name, "projected": {"defaultMode": 420, "sources": [
    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}})
for c in spec["containers"]:
    c.setdefault("volumeMounts", []).append(
        {"name": name, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
json.dump(review, open(path, "w"), separators=(",", ":"))
PY
done
(cd scripts/patch-apply && GOFLAGS=-mod=mod "$go" build -o "$work/patch-apply" .)
for round in 1 2; do
    for bin in "$@"; do
        for size in 5k 20k; do
            "$bin" review --catalog examples/catalog "$work/pod-$size.json" > "$work/response.json"
            line="$("$work/patch-apply" "$work/pod-$size.json" "$work/response.json")"
            echo "{\"round\":$round,\"stackhook\":\"$bin\",\"pod\":\"$size\",${line#\{}"
        done
    done
done
