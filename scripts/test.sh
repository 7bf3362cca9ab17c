#!/usr/bin/env bash
# The README's test command: every test of the workspace, the end-to-end suite against a
# real control plane included.
#
# Without STACKHOOK_E2E_KUBECONFIG it builds the control plane on first use
# (scripts/control-plane.sh build: kube-apiserver, kube-controller-manager, kubectl, etcd
# and helm from Go modules, 20-40 minutes on 2 cores the first time, cached after that
# under ~/.cache/stackhook), starts it in a temporary folder, runs the tests and stops
# it. With STACKHOOK_E2E_KUBECONFIG set (a control plane you started with
# `scripts/control-plane.sh up DIR`), it uses that one. Arguments go to nextest
# (`scripts/test.sh e2e::` runs the end-to-end suite alone).
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-nextest runs the tests; machines do not come with it.
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked --quiet

if [ -z "${STACKHOOK_E2E_KUBECONFIG:-}" ]; then
    if ! bash scripts/control-plane.sh bin >/dev/null || [ ! -x "$(bash scripts/control-plane.sh bin)/kube-apiserver" ]; then
        echo "test.sh: building the control plane on first use (20-40 minutes on 2 cores; cached afterwards)" >&2
    fi
    bash scripts/control-plane.sh build >/dev/null
    cp_dir="$(mktemp -d "${TMPDIR:-/tmp}/stackhook-e2e.XXXXXX")"
    stop() {
        bash scripts/control-plane.sh down "$cp_dir" || true
        # Keep the logs of a failed run for whoever reads it.
        [ "${keep_logs:-}" = 1 ] || rm -rf "$cp_dir"
    }
    trap stop EXIT
    kubeconfig="$(bash scripts/control-plane.sh up "$cp_dir" | sed -n 's/^KUBECONFIG=//p')"
    export STACKHOOK_E2E_KUBECONFIG="$kubeconfig"
fi

status=0
cargo nextest run --locked --workspace --no-fail-fast "$@" || status=$?
if [ "$status" != 0 ] && [ -n "${cp_dir:-}" ]; then
    keep_logs=1
    echo "test.sh: the control plane's and stackhook's logs are kept in $cp_dir/logs" >&2
fi
exit "$status"
