#!/usr/bin/env bash
# A real Kubernetes control plane for the end-to-end suite, built from source.
#
#   scripts/control-plane.sh build       builds (or reuses) the binaries; prints their folder
#   scripts/control-plane.sh up DIR      starts etcd, kube-apiserver and
#                                        kube-controller-manager on loopback, state in DIR;
#                                        prints KUBECONFIG=DIR/admin.kubeconfig
#   scripts/control-plane.sh down DIR    stops what `up DIR` started
#   scripts/control-plane.sh restart-apiserver DIR
#                                        stops kube-apiserver and starts it again
#   scripts/control-plane.sh stop-apiserver DIR / start-apiserver DIR
#                                        the same in two steps (an outage of a test's choosing)
#   scripts/control-plane.sh bin         prints the binaries' folder (builds nothing)
#
# What it builds: kube-apiserver, kube-controller-manager and kubectl from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3 and helm from
# helm.sh/helm/v4/cmd/helm, each from the Go module proxy (nothing prebuilt can be
# downloaded), static (CGO_ENABLED=0), version-stamped, into
# $STACKHOOK_CACHE/control-plane/<versions>/bin (default ~/.cache/stackhook): a second
# build with the same versions is a no-op. No kubelet and no scheduler: Pods stay
# Pending, which is all admission needs.
#
# kube-apiserver routes calls to a Service's webhook to an endpoint of its
# EndpointSlices (--enable-aggregator-routing), not to the Service's ClusterIP (no
# kube-proxy here): with EndpointSlices of their own, tests put local webhook replicas
# behind the chart's Service (tests/e2e/replicas.rs). APISERVER_PROFILING=true serves
# kube-apiserver's /debug/pprof (for a CPU profile of a benchmark, BENCHMARKS.md).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
# The staging modules (k8s.io/api, client-go, …) at the version of the same release.
STAGING_VERSION="${STAGING_VERSION:-v0.${K8S_VERSION#v1.}}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
HELM_VERSION="${HELM_VERSION:-v4.3.2}"

cache_root="${STACKHOOK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stackhook}"
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_helm-${HELM_VERSION}"
bin_dir="$cache_root/control-plane/$key/bin"
tools=(kube-apiserver kube-controller-manager kubectl etcd helm)

# Kubernetes 1.37 needs Go 1.26: Debian's Go 1.19 (which the template tests use) may come
# first on PATH, so take the machine's newer Go when there is one.
if ! go version 2>/dev/null | grep -qE 'go1\.(2[6-9]|[3-9][0-9])'; then
    [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
fi

log() { echo "control-plane: $*" >&2; }
die() { echo "control-plane: $*" >&2; exit 1; }

built() {
    local t
    for t in "${tools[@]}"; do [ -x "$bin_dir/$t" ] || return 1; done
}

# Builds one module's commands in a throwaway module of our own. $1: folder, $2: the
# go.mod text, then the packages to build.
go_build_in() {
    local dir="$1" gomod="$2"; shift 2
    mkdir -p "$dir"
    printf '%s\n' "$gomod" > "$dir/go.mod"
    (
        cd "$dir"
        export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
        local pkg
        for pkg in "$@"; do
            local name="${pkg##*/}"
            case "$pkg" in go.etcd.io/etcd/server/v3) name=etcd ;; esac
            log "building $name ($pkg)"
            go build -trimpath -ldflags "-s -w ${LDFLAGS_EXTRA:-}" -o "$bin_dir.tmp/$name" "$pkg" \
                || die "building $pkg failed (see above); a module the proxy refused is named there"
        done
    )
}

build() {
    if built; then
        log "reusing $bin_dir"
        echo "$bin_dir"
        return
    fi
    command -v go >/dev/null || die "go is not installed"
    local started=$SECONDS work
    work="$(mktemp -d)"
    rm -rf "$bin_dir.tmp"
    mkdir -p "$bin_dir.tmp"
    log "building $key into $bin_dir (the first build takes 20-40 minutes on 2 cores)"

    # Kubernetes: k8s.io/kubernetes replaces its staging modules with folders of its own
    # repository, which a module that requires it does not have: read that list off the
    # release's go.mod and replace each with the same module at the release's version.
    local k8s_mod replaces
    k8s_mod="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION")" \
        || die "the module proxy refused k8s.io/kubernetes@$K8S_VERSION; try the neighbouring release (K8S_VERSION=…)"
    local gomod_file
    gomod_file="$(printf '%s' "$k8s_mod" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
    replaces="$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$STAGING_VERSION"'#p' "$gomod_file" | sort -u)"
    [ -n "$replaces" ] || die "no staging modules found in k8s.io/kubernetes@$K8S_VERSION's go.mod"
    local go_line
    go_line="$(sed -n 's/^go \(.*\)/\1/p' "$gomod_file" | head -1)"
    local git_minor="${K8S_VERSION#v1.}"; git_minor="${git_minor%%.*}"
    local v="k8s.io/component-base/version" cv="k8s.io/client-go/pkg/version"
    LDFLAGS_EXTRA="-X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$git_minor \
-X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z \
-X $cv.gitVersion=$K8S_VERSION -X $cv.gitMajor=1 -X $cv.gitMinor=$git_minor \
-X $cv.gitTreeState=clean -X $cv.buildDate=1970-01-01T00:00:00Z" \
    go_build_in "$work/kubernetes" "module stackhook.test/controlplane

go $go_line

require k8s.io/kubernetes $K8S_VERSION

replace (
$replaces
)" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kubectl

    LDFLAGS_EXTRA="" go_build_in "$work/etcd" "module stackhook.test/etcd

go 1.25

require go.etcd.io/etcd/server/v3 $ETCD_VERSION" go.etcd.io/etcd/server/v3

    # Helm pins other k8s.io versions than Kubernetes: a module of its own.
    LDFLAGS_EXTRA="-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    go_build_in "$work/helm" "module stackhook.test/helm

go 1.25

require helm.sh/helm/v4 $HELM_VERSION" helm.sh/helm/v4/cmd/helm

    rm -rf "$bin_dir"
    mv "$bin_dir.tmp" "$bin_dir"
    rm -rf "$work"
    log "built in $((SECONDS - started)) s"
    echo "$bin_dir"
}

# Waits until URL answers ok (curl with the admin's client certificate).
wait_ready() {
    local dir="$1" url="$2" what="$3" i pid
    pid="$(cat "$dir/$what.pid")"
    for i in $(seq 1 240); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -5 "$dir/logs/$what.log" >&2 || true
            die "$what exited (log: $dir/logs/$what.log)"
        fi
        if curl -fsS --max-time 2 --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" \
                --key "$dir/pki/admin.key" "$url" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    tail -30 "$dir/logs/$what.log" >&2 || true
    die "$what did not become ready at $url within 120 s (log: $dir/logs/$what.log)"
}

# One certificate signed by the cluster CA: $1 name, $2 subject, $3 extensions (or "").
sign() {
    local pki="$1" name="$2" subj="$3" ext="$4"
    openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$name.key" -out "$pki/$name.csr" \
        -subj "$subj" 2>/dev/null
    if [ -n "$ext" ]; then
        printf '%s\n' "$ext" > "$pki/$name.ext"
        openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
            -CAcreateserial -days 365 -out "$pki/$name.crt" -extfile "$pki/$name.ext" 2>/dev/null
    else
        openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
            -CAcreateserial -days 365 -out "$pki/$name.crt" 2>/dev/null
    fi
    rm -f "$pki/$name.csr" "$pki/$name.ext"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

kubeconfig() {
    local dir="$1" user="$2" port="$3"
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $dir/pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $dir/pki/$user.crt
    client-key: $dir/pki/$user.key
contexts:
- name: local
  context: {cluster: local, user: $user}
current-context: local
EOF
}

start_apiserver() {
    local dir="$1" port
    port="$(cat "$dir/apiserver.port")"
    "$bin_dir/kube-apiserver" \
        --etcd-servers="http://127.0.0.1:$(cat "$dir/etcd.port")" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
        --cert-dir="$dir/pki" --tls-cert-file="$dir/pki/apiserver.crt" \
        --tls-private-key-file="$dir/pki/apiserver.key" \
        --client-ca-file="$dir/pki/ca.crt" \
        --authorization-mode=Node,RBAC \
        --enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,MutatingAdmissionPolicy,ValidatingAdmissionPolicy,ResourceQuota \
        --service-account-key-file="$dir/pki/sa.pub" \
        --service-account-signing-key-file="$dir/pki/sa.key" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --api-audiences=https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range=10.96.0.0/16 \
        --allow-privileged=true \
        --endpoint-reconciler-type=none \
        --enable-aggregator-routing=true \
        --profiling="${APISERVER_PROFILING:-false}" \
        >"$dir/logs/kube-apiserver.log" 2>&1 &
    echo $! > "$dir/kube-apiserver.pid"
    wait_ready "$dir" "https://127.0.0.1:$port/readyz" kube-apiserver
}

up() {
    local dir="$1"
    [ -n "$dir" ] || die "usage: $0 up DIR"
    built || build >/dev/null
    mkdir -p "$dir/pki" "$dir/logs" "$dir/etcd"
    dir="$(cd "$dir" && pwd)"
    local pki="$dir/pki"
    # Keys made at start, never kept anywhere but DIR.
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" \
        -days 365 -subj "/CN=stackhook-e2e-ca" 2>/dev/null
    sign "$pki" apiserver "/CN=kube-apiserver" \
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
    sign "$pki" admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
    sign "$pki" controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
    openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

    local etcd_port peer_port api_port
    etcd_port="$(free_port)"; peer_port="$(free_port)"; api_port="$(free_port)"
    echo "$etcd_port" > "$dir/etcd.port"; echo "$api_port" > "$dir/apiserver.port"
    "$bin_dir/etcd" --data-dir "$dir/etcd" --name e2e \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "e2e=http://127.0.0.1:$peer_port" \
        --unsafe-no-fsync --quota-backend-bytes=2147483648 \
        >"$dir/logs/etcd.log" 2>&1 &
    echo $! > "$dir/etcd.pid"
    local i
    for i in $(seq 1 120); do
        curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 && break
        [ "$i" = 120 ] && { tail -20 "$dir/logs/etcd.log" >&2; die "etcd did not start"; }
        sleep 0.5
    done

    start_apiserver "$dir"
    kubeconfig "$dir" admin "$api_port" > "$dir/admin.kubeconfig"
    kubeconfig "$dir" controller-manager "$api_port" > "$dir/controller-manager.kubeconfig"

    "$bin_dir/kube-controller-manager" \
        --kubeconfig="$dir/controller-manager.kubeconfig" \
        --authentication-kubeconfig="$dir/controller-manager.kubeconfig" \
        --authorization-kubeconfig="$dir/controller-manager.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port=0 \
        --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
        --use-service-account-credentials=true \
        --controllers='*,-nodeipam,-nodelifecycle,-ttl,-bootstrapsigner,-tokencleaner' \
        --leader-elect=false \
        >"$dir/logs/kube-controller-manager.log" 2>&1 &
    echo $! > "$dir/kube-controller-manager.pid"

    # The namespace "default" and its service account exist once the controllers run.
    for i in $(seq 1 120); do
        kill -0 "$(cat "$dir/kube-controller-manager.pid")" 2>/dev/null \
            || { tail -5 "$dir/logs/kube-controller-manager.log" >&2; die "kube-controller-manager exited (log: $dir/logs/kube-controller-manager.log)"; }
        "$bin_dir/kubectl" --kubeconfig "$dir/admin.kubeconfig" get serviceaccount default \
            -n default >/dev/null 2>&1 && break
        [ "$i" = 120 ] && { tail -20 "$dir/logs/kube-controller-manager.log" >&2; die "kube-controller-manager made no service account in 60 s"; }
        sleep 0.5
    done
    echo "$bin_dir" > "$dir/bin"
    echo "KUBECONFIG=$dir/admin.kubeconfig"
}

stop_pid() {
    local file="$1" pid i
    [ -f "$file" ] || return 0
    pid="$(cat "$file")"
    if kill "$pid" 2>/dev/null; then
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

down() {
    local dir="$1"
    [ -n "$dir" ] || die "usage: $0 down DIR"
    # What the end-to-end suite started beside the control plane (stackhook-*.pid) first.
    local f
    for f in "$dir"/stackhook-*.pid; do [ -e "$f" ] && stop_pid "$f"; done
    stop_pid "$dir/kube-controller-manager.pid"
    stop_pid "$dir/kube-apiserver.pid"
    stop_pid "$dir/etcd.pid"
}

case "${1:-}" in
    build) build ;;
    bin) echo "$bin_dir" ;;
    up) up "${2:-}" ;;
    down) down "${2:-}" ;;
    restart-apiserver)
        dir="$(cd "${2:?usage: $0 restart-apiserver DIR}" && pwd)"
        stop_pid "$dir/kube-apiserver.pid"
        start_apiserver "$dir"
        ;;
    stop-apiserver)
        dir="$(cd "${2:?usage: $0 stop-apiserver DIR}" && pwd)"
        stop_pid "$dir/kube-apiserver.pid"
        ;;
    start-apiserver)
        dir="$(cd "${2:?usage: $0 start-apiserver DIR}" && pwd)"
        start_apiserver "$dir"
        ;;
    *) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
