#!/usr/bin/env bash
# Makes development certificates for the webhook Service with `stackhook certs`:
# certs/out/{ca.crt,tls.crt,tls.key}. The key never leaves this directory (ignored by
# git). Usage: certs/make-dev-certs.sh [SERVICE] [NAMESPACE]
set -euo pipefail
cd "$(dirname "$0")/.."
service="${1:-stackhook}"
namespace="${2:-stackhook-system}"
cargo run --release --locked --quiet -- certs \
    --dns "$service" \
    --dns "$service.$namespace" \
    --dns "$service.$namespace.svc" \
    --dns "$service.$namespace.svc.cluster.local" \
    --dns localhost \
    --out certs/out
echo "certs/out: ca.crt tls.crt tls.key for $service.$namespace.svc"
echo "use them with the chart:"
echo "  kubectl -n $namespace create secret tls stackhook-dev-tls --cert certs/out/tls.crt --key certs/out/tls.key"
echo "  helm install stackhook charts/stackhook -n $namespace --set certificates.mode=existingSecret \\"
echo "    --set certificates.existingSecret.name=stackhook-dev-tls \\"
echo "    --set certificates.existingSecret.caBundle=\$(base64 -w0 certs/out/ca.crt)"
