#!/usr/bin/env python3
"""Pod CREATE latency through a real kube-apiserver (scripts/bench-apiserver.sh runs it).

One run, on a control plane of its own (scripts/control-plane.sh up), for each case:
  none       no admission step for the pod (the webhook configurations not installed)
  policy     an in-tree MutatingAdmissionPolicy doing the static part of stackhook's
             injection (env vars, the config volume and mount, the init container)
  webhook    stackhook's webhooks (helm install of charts/stackhook, the webhook a
             local release build serving with the chart's certificate and service
             account token), called at https://localhost:PORT (`webhook.url`): the
             API server speaks HTTP/2 to a loopback URL
  webhook-nopatch
             the webhook case with the pods already marked injected
             (`stackhook.io/injected`): stackhook answers "allowed" with no patch. What
             any mutating webhook costs the API server before it changes anything
             (encoding the request, the call, decoding the answer): the floor under
             the webhook case
  webhook-2  the same behind the chart's Service with two replicas, as in a cluster:
             each replica listens on this machine's address (not loopback, which an
             EndpointSlice refuses), one EndpointSlice per replica, and kube-apiserver
             (--enable-aggregator-routing, scripts/control-plane.sh) picks a ready
             endpoint per call; the API server speaks HTTP/1.1 to a Service
For each body (the 5 KB and 20 KB pods of BENCHMARKS.md's load run, labelled for the
example Service) it measures pod CREATEs at a fixed rate and in a closed loop, from a
client on loopback with the admin's certificate, and prints one JSON line per case:
{"case", "body", "mode", "rate", "requests", "errors", "p50_ms", "p99_ms",
 "admission_ms" (the API server's own mean of its mutating admission step, from
 apiserver_admission_step_admission_duration_seconds), "plugins_ms_per_create" (each
 mutating admission plugin's time per CREATE,
 apiserver_admission_controller_admission_duration_seconds: where the step goes), and
 in the webhook case "webhook_call_ms" (its mean of our webhook's calls,
 apiserver_admission_webhook_admission_duration_seconds),
 "webhook_calls_per_create" (more than 1: the API server called the webhook again,
 admission reinvocation),
 "webhook_cpu_us_per_review" (stackhook's CPU time per review, all replicas) and
 "webhook_idle_cpu_us_per_s" (its CPU per second with no review, measured before the
 run: the watches and the runtime; at 20 reviews/s a part of the first figure)}.

usage: bench-apiserver.py BIN_DIR STACKHOOK_BINARY [SECONDS] [CASE,…]
"""

import concurrent.futures
import http.client
import json
import os
import pathlib
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
NS = "bench"
RATE = 20
CLOSED_WORKERS = 2


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ControlPlane:
    def __init__(self, bins, folder):
        self.bins = pathlib.Path(bins)
        self.dir = pathlib.Path(folder)
        out = subprocess.run(
            ["bash", str(ROOT / "scripts/control-plane.sh"), "up", str(self.dir)],
            check=True, capture_output=True, text=True).stdout
        self.kubeconfig = re.search(r"KUBECONFIG=(\S+)", out).group(1)
        self.port = int((self.dir / "apiserver.port").read_text())
        pki = self.dir / "pki"
        self.ssl = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ssl.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def kubectl(self, *args, stdin=None):
        run = subprocess.run([str(self.bins / "kubectl"), "--kubeconfig", self.kubeconfig, *args],
                             input=stdin, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {run.stderr.strip()}")
        return run.stdout

    def apply(self, objects, attempts=1):
        """`attempts` > 1: tried again a second later while refused (a webhook that is
        not serving yet, CRDs not yet established)."""
        for attempt in range(attempts):
            try:
                return self.kubectl("apply", "-f", "-",
                                    stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                time.sleep(1)

    def connection(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl, timeout=30)

    def metrics(self):
        c = self.connection()
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        return text

    def down(self):
        subprocess.run(["bash", str(ROOT / "scripts/control-plane.sh"), "down", str(self.dir)], check=False)


def documents(path, namespace=None):
    """The documents of a YAML file of the repository (PyYAML: the examples are plain
    CRD-form YAML), with `namespace` set on the namespaced ones."""
    import yaml  # PyYAML: .ci/run installs it
    out = []
    for d in yaml.safe_load_all((ROOT / path).read_text()):
        if not isinstance(d, dict):
            continue
        if namespace and "namespace" in d.get("metadata", {}):
            d["metadata"]["namespace"] = namespace
        out.append(d)
    return out


def pod_bodies():
    review = json.loads((ROOT / "tests/fixtures/reviews/service-pod-two-containers.json").read_text())
    pod = review["request"]["object"]
    pod["metadata"].pop("name", None)
    # No owner: kube-controller-manager's garbage collector would delete (and so add
    # work to) pods whose ReplicaSet does not exist.
    pod["metadata"].pop("ownerReferences", None)
    pod["metadata"]["generateName"] = "bench-"
    pod["metadata"]["namespace"] = NS
    bodies = {}
    for label, target in (("5k", 5 * 1024), ("20k", 20 * 1024)):
        p = json.loads(json.dumps(pod))
        i = 0
        while len(json.dumps(p, separators=(",", ":"))) < target:
            p["metadata"].setdefault("annotations", {})[f"example.com/annotation-{i}"] = f"value-{i}-" + "x" * 40
            p["spec"]["containers"][0].setdefault("env", []).append({"name": f"SHIPPER_OPTION_{i}", "value": f"setting-{i}"})
            i += 1
        bodies[label] = json.dumps(p, separators=(",", ":")).encode()
    return bodies


def admission_seconds(metrics, family="apiserver_admission_step_admission_duration_seconds", only=""):
    """Sum and count of the mutating admission step's duration for CREATEs (only pods
    are created during a measurement), or of one webhook's calls (`only`)."""
    total = count = 0.0
    for line in metrics.splitlines():
        if not line.startswith(family + "_"):
            continue
        if 'operation="CREATE"' not in line or 'type="admit"' not in line or only not in line:
            continue
        name, value = line.rsplit(" ", 1)
        # Exact names: the family also has a `_summary` (whose lines start with `_sum`).
        metric = name.split("{", 1)[0]
        if metric == family + "_sum":
            total += float(value)
        elif metric == family + "_count":
            count += float(value)
    return total, count


def webhook_seconds(metrics):
    return admission_seconds(metrics, "apiserver_admission_webhook_admission_duration_seconds",
                             'name="pods.stackhook.io"')


def plugin_seconds(metrics):
    """Sum and count of each mutating admission plugin's duration for CREATEs, by name
    (apiserver_admission_controller_admission_duration_seconds): where the step's time goes."""
    family = "apiserver_admission_controller_admission_duration_seconds"
    out = {}
    for line in metrics.splitlines():
        if not line.startswith(family + "_"):
            continue
        if 'operation="CREATE"' not in line or 'type="admit"' not in line:
            continue
        name, value = line.rsplit(" ", 1)
        metric = name.split("{", 1)[0]
        plugin = re.search(r'name="([^"]*)"', name).group(1)
        total, count = out.get(plugin, (0.0, 0.0))
        if metric == family + "_sum":
            total += float(value)
        elif metric == family + "_count":
            count += float(value)
        out[plugin] = (total, count)
    return out


def mean_ms(before, after):
    return round((after[0] - before[0]) / (after[1] - before[1]) * 1000, 3) if after[1] > before[1] else None


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_load(cp, body, mode, seconds):
    local = threading.local()
    latencies, errors = [], []
    lock = threading.Lock()

    def create():
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = cp.connection()
        start = time.perf_counter()
        try:
            c.request("POST", f"/api/v1/namespaces/{NS}/pods", body,
                      {"Content-Type": "application/json", "Accept": "application/json"})
            r = c.getresponse()
            data = r.read()
            ok = r.status == 201
        except (OSError, http.client.HTTPException) as e:
            local.c = None
            ok, data = False, str(e).encode()
        elapsed = (time.perf_counter() - start) * 1000
        with lock:
            (latencies if ok else errors).append(elapsed if ok else data[:300])

    if mode == "rate":
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            start = time.perf_counter()
            n = 0
            while time.perf_counter() - start < seconds:
                due = start + n / RATE
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(create)
                n += 1
    else:
        stop = time.perf_counter() + seconds

        def loop():
            while time.perf_counter() < stop:
                create()
        threads = [threading.Thread(target=loop) for _ in range(CLOSED_WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return latencies, errors


def cpu_us(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000 / os.sysconf("SC_CLK_TCK")


def reviews_served(probe):
    c = http.client.HTTPConnection("127.0.0.1", probe, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    n = 0.0
    for line in text.splitlines():
        if line.startswith("stackhook_admission_requests_total") and 'endpoint="mutate"' in line:
            n += float(line.rsplit(" ", 1)[1])
    return n


def measure(cp, case, bodies, seconds, webhook=None):
    """`webhook`: the (pid, probe port) of each replica, or None."""
    def cpu():
        return sum(cpu_us(pid) for pid, _ in webhook)

    def served():
        return sum(reviews_served(probe) for _, probe in webhook)

    for label, body in bodies.items():
        run_load(cp, body, "closed", 2)  # warm-up: connections, caches
        for mode in ("rate", "closed"):
            cp.kubectl("delete", "pods", "--all", "-n", NS, "--wait=false")
            idle = None
            if webhook:
                c0 = cpu()
                time.sleep(3)
                idle = round((cpu() - c0) / 3, 1)
            metrics = cp.metrics()
            before, webhook_before = admission_seconds(metrics), webhook_seconds(metrics)
            plugins_before = plugin_seconds(metrics)
            cpu0 = cpu() if webhook else None
            served0 = served() if webhook else None
            latencies, errors = run_load(cp, body, mode, seconds)
            metrics = cp.metrics()
            after, webhook_after = admission_seconds(metrics), webhook_seconds(metrics)
            plugins_after = plugin_seconds(metrics)
            line = {
                "case": case, "body": label, "mode": mode,
                "rate": RATE if mode == "rate" else None,
                "workers": CLOSED_WORKERS if mode == "closed" else None,
                "requests": len(latencies), "errors": len(errors),
                "p50_ms": round(percentile(latencies, 0.50), 2) if latencies else None,
                "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
                "admission_ms": mean_ms(before, after),
            }
            # Each plugin's mean per CREATE (its calls per CREATE: more than 1 when the
            # chain is run again, reinvocation).
            created = after[1] - before[1]
            line["plugins_ms_per_create"] = {
                name: round((total - plugins_before.get(name, (0, 0))[0]) / created * 1000, 3)
                for name, (total, _) in sorted(plugins_after.items())
                if created and total > plugins_before.get(name, (0, 0))[0]}
            if webhook:
                line["webhook_call_ms"] = mean_ms(webhook_before, webhook_after)
                line["webhook_calls_per_create"] = round((webhook_after[1] - webhook_before[1]) / created, 3) if created else None
                n = served() - served0
                line["webhook_cpu_us_per_review"] = round((cpu() - cpu0) / n, 1) if n else None
                line["webhook_idle_cpu_us_per_s"] = idle
            if errors:
                line["first_error"] = errors[0].decode(errors="replace") if isinstance(errors[0], bytes) else str(errors[0])
            print(json.dumps(line), flush=True)


def node_ip():
    """This machine's address on its default route (no packet is sent)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("192.0.2.254", 9))
    ip = s.getsockname()[0]
    s.close()
    if ip.startswith("127."):
        sys.exit("bench-apiserver: webhook-2 needs an address that is not loopback")
    return ip


def helm_install(cp, work, sets):
    helm_home = work / "helm"
    args = [str(cp.bins / "helm"), "--kubeconfig", cp.kubeconfig, "upgrade", "--install", "stackhook",
            str(ROOT / "charts/stackhook"), "-n", "stackhook-system", "--create-namespace",
            # Else an upgrade with no --set keeps the last release's values (webhook.url).
            "--reset-values"]
    for v in sets:
        args += ["--set", v]
    subprocess.run(args, check=True, capture_output=True,
                   env={**os.environ, "HELM_CACHE_HOME": str(helm_home / "c"),
                        "HELM_CONFIG_HOME": str(helm_home / "f"), "HELM_DATA_HOME": str(helm_home / "d")})


CASES = ("none", "policy", "webhook", "webhook-nopatch", "webhook-2")


def main():
    bins, stackhook = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    cases = set(sys.argv[4].split(",")) if len(sys.argv) > 4 else set(CASES)
    if cases - set(CASES):
        sys.exit(f"bench-apiserver: unknown case(s) {sorted(cases - set(CASES))}; the cases are {', '.join(CASES)}")
    work = pathlib.Path(tempfile.mkdtemp(prefix="stackhook-bench-apiserver."))
    cp = ControlPlane(bins, work / "cp")
    procs = []
    try:
        cp.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
        bodies = pod_bodies()

        # (a) no admission step for pods.
        if "none" in cases:
            measure(cp, "none", bodies, seconds)

        # (c) the in-tree MutatingAdmissionPolicy: the static part of the injection. (An
        # ApplyConfiguration may not set atomic lists, so the init container has no args:
        # a policy cannot express the projector's command line.)
        policy = {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": "bench-static-injection"},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                        "operations": ["CREATE"], "resources": ["pods"]}]},
                "matchConditions": [{"name": "labelled",
                                     "expression": "has(object.metadata.labels) && 'stackhook.io/workload' in object.metadata.labels"}],
                "failurePolicy": "Fail", "reinvocationPolicy": "Never",
                "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": """
Object{
  spec: Object.spec{
    initContainers: [Object.spec.initContainers{name: "stackhook-project", image: "stackhook/stackhook:0.1.0",
      volumeMounts: [Object.spec.initContainers.volumeMounts{name: "stackhook-secrets", mountPath: "/etc/dataos/secret"}]}],
    volumes: [
      Object.spec.volumes{name: "stackhook-config", configMap: Object.spec.volumes.configMap{name: "orders-api-service-static"}},
      Object.spec.volumes{name: "stackhook-secrets", emptyDir: Object.spec.volumes.emptyDir{medium: "Memory"}}],
    containers: [Object.spec.containers{name: object.spec.containers[0].name,
      env: [Object.spec.containers.env{name: "DATAOS_NAME", value: object.metadata.labels["stackhook.io/workload"]},
            Object.spec.containers.env{name: "DATAOS_TYPE", value: "service"},
            Object.spec.containers.env{name: "DATAOS_CONFIG_DIR", value: "/etc/dataos/config"},
            Object.spec.containers.env{name: "DATAOS_SECRET_DIR", value: "/etc/dataos/secret"}],
      volumeMounts: [Object.spec.containers.volumeMounts{name: "stackhook-config", mountPath: "/etc/dataos/config", readOnly: true},
                     Object.spec.containers.volumeMounts{name: "stackhook-secrets", mountPath: "/etc/dataos/secret", readOnly: true}]}]
  }
}"""}}],
            },
        }
        binding = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
                   "metadata": {"name": "bench-static-injection"},
                   "spec": {"policyName": "bench-static-injection"}}
        if "policy" in cases:
            cp.apply([policy, binding])
            time.sleep(3)  # the policy is picked up asynchronously
            measure(cp, "policy", bodies, seconds)
            cp.kubectl("delete", "mutatingadmissionpolicybinding,mutatingadmissionpolicy", "bench-static-injection")
            time.sleep(3)

        # (b) stackhook's webhooks, installed by the chart, at a loopback URL.
        if not cases & {"webhook", "webhook-nopatch", "webhook-2"}:
            return
        port = free_port()
        helm_install(cp, work, [f"webhook.url=https://localhost:{port}"])
        secret = json.loads(cp.kubectl("get", "secret", "stackhook-tls", "-n", "stackhook-system", "-o", "json"))
        import base64
        for key in ("tls.crt", "tls.key"):
            (work / key).write_bytes(base64.b64decode(secret["data"][key]))
        token = cp.kubectl("create", "token", "stackhook", "-n", "stackhook-system", "--duration=2h").strip()
        kc = work / "webhook.kubeconfig"
        kc.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{cp.port}",
                                                   "certificate-authority": str(cp.dir / "pki/ca.crt")}}],
            "users": [{"name": "u", "user": {"token": token}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))

        def start(name, listen):
            probe = free_port()
            log = open(work / f"{name}.log", "w")
            proc = subprocess.Popen([stackhook, "serve", "--kube", "--listen", listen,
                                     "--probe-listen", f"127.0.0.1:{probe}", "--tls-cert", str(work / "tls.crt"),
                                     "--tls-key", str(work / "tls.key"), "--release-namespace", "stackhook-system"],
                                    env={**os.environ, "KUBECONFIG": str(kc)}, stdout=log, stderr=log)
            procs.append(proc)
            for _ in range(200):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", probe, timeout=1)
                    c.request("GET", "/readyz")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            return proc, probe

        proc, probe = start("stackhook", f"127.0.0.1:{port}")
        objects = []
        for f in ("stack-benthos.yaml", "stack-flare.yaml", "depots.yaml", "workloads.yaml"):
            objects += documents(f"examples/catalog/{f}", NS)
        cp.apply(objects, attempts=30)
        time.sleep(2)
        if "webhook" in cases:
            measure(cp, "webhook", bodies, seconds, webhook=[(proc.pid, probe)])
        if "webhook-nopatch" in cases:
            marked = {}
            for label, body in bodies.items():
                pod = json.loads(body)
                pod["metadata"].setdefault("annotations", {})["stackhook.io/injected"] = "bench"
                marked[label] = json.dumps(pod, separators=(",", ":")).encode()
            measure(cp, "webhook-nopatch", marked, seconds, webhook=[(proc.pid, probe)])
        proc.terminate()
        proc.wait()

        # (d) two replicas behind the chart's Service: the chart without webhook.url,
        # an EndpointSlice per replica on this machine's address.
        if "webhook-2" in cases:
            helm_install(cp, work, [])
            ip = node_ip()
            replicas = []
            for i in range(2):
                rport = free_port()
                replicas.append(start(f"stackhook-{i}", f"{ip}:{rport}"))
                cp.apply([{
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": f"stackhook-replica-{i}", "namespace": "stackhook-system",
                                 "labels": {"kubernetes.io/service-name": "stackhook",
                                            "endpointslice.kubernetes.io/managed-by": "bench-apiserver"}},
                    "addressType": "IPv4",
                    "ports": [{"name": "https", "port": rport, "protocol": "TCP"}],
                    "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}]}])
            time.sleep(2)
            measure(cp, "webhook-2", bodies, seconds, webhook=[(p.pid, pr) for p, pr in replicas])
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        cp.down()


if __name__ == "__main__":
    main()
