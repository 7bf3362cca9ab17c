#!/usr/bin/env python3
"""The catalog scale run of BENCHMARKS.md (issue #19).

Writes a catalog of N workloads (Workers in 100 namespaces, each naming one of S
Stacks and one of D Depots) and serves it two ways (release, self-signed TLS):

- files: `stackhook serve --catalog DIR`; one workload file is changed, then one
  Stack file. Also how long `stackhook validate --catalog DIR` takes over all N.
- cluster (`--cluster`): the same objects created in the fake API server of
  `tests/helm/` and `stackhook serve --kube` watching it; one Worker is patched (a
  new generation), then one Stack.

Stack 0, the one changed, is named by 1,000 of the workloads (all, when fewer). Each
run reports the server's RSS once ready, after the workload change and after the
Stack change (each once the catalog has applied it), and how long the catalog took to
apply each change (`stackhook_catalog_update_duration_seconds`: for files, the new
catalog against the old, after the files are read; in a cluster, the watch event).

    python3 scripts/bench-catalog.py [--cluster | --controller] [--layout=L,...] [N ...]   # default: 1000 10000 50000

`--layout` (files only; default `split,single,list`): how the workloads are written.
`split`: files of 1,000 documents, as a GitOps repository splits them; `single`: all
of them in one multi-document file; `list`: one `kubectl get workers -A -o yaml` List
(`items` before `kind`). Whatever the layout, the server reads a document at a time,
so the figures should not differ.

`--controller` is the cluster run with `stackhook controller` instead of the webhook:
it keeps the watches' stores (objects unpacked, shared with its catalog) and
reconciles every workload once; "RSS ready" is then its peak while doing so.
    STACKHOOK_BIN=path/to/stackhook python3 scripts/bench-catalog.py 10000
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("STACKHOOK_BIN", os.path.join(ROOT, "target/release/stackhook"))
NAMESPACES = 100

STACK = """apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {{name: app-{i}, generation: {gen}}}
spec:
  name: app{i}
  version: "1.0"
  image: {{registry: r.io, repository: team, image: app, tag: "1.{gen}"}}
  dataOsAddressJqFilters: [".inputs[]"]
  secretProjection: {{type: propFile}}
  stackSpecValueSchema:
    jsonSchema: '{{"type": "object", "properties": {{"inputs": {{"type": "array", "items": {{"type": "string"}}}}}}}}'
  workerConfig:
    configFileTemplate: |
      app.yaml: |
        name: {{{{ .Name }}}}
        inputs: {{{{ toJson .ApplicationSpec.StackSpec.inputs }}}}
"""

DEPOT = """apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {{name: lake{i}, namespace: ns{ns}}}
spec: {{type: S3, spec: {{bucket: b{i}}}, secrets: [{{name: lake{i}-r, acl: r}}]}}
---
"""

WORKER = """apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {{name: w{i}, namespace: ns{ns}, uid: u{i}, generation: {gen}, labels: {{team: t{ns}}}}}
spec:
  stack: "app{stack}:1.0"
  replicas: 2
  logLevel: INFO
  envs: {{MODE: stream, REGION: eu-west-1}}
  stackSpec: {{inputs: ["dataos://lake{depot}:raw/orders"]}}
---
"""


def worker_docs(n, stacks, depots):
    for i in range(n):
        ns = i % NAMESPACES
        # A depot of the workload's own namespace.
        depot = ns + NAMESPACES * ((i // NAMESPACES) % max(1, depots // NAMESPACES))
        # 1,000 workloads (or all, when fewer) name Stack 0, the one the run
        # changes; the others share the rest.
        stack = 0 if i % max(1, n // 1000) == 0 else 1 + i % (stacks - 1)
        yield WORKER.format(i=i, ns=ns, stack=stack, depot=depot, gen=1)


def as_list_item(doc):
    """A document as an item of a List, as kubectl writes it (`- ` then indented)."""
    lines = [l for l in doc.splitlines() if l != "---"]
    return "".join(("- " if j == 0 else "  ") + l + "\n" for j, l in enumerate(lines))


def workers_file(directory, layout):
    """The file that holds Worker w0 in `layout`."""
    return os.path.join(directory, {"split": "workers-000.yaml", "single": "workers.yaml",
                                    "list": "workers-list.yaml"}[layout])


def write_catalog(directory, n, stacks, depots, layout="split"):
    if layout != "split":
        os.makedirs(directory)
        for i in range(stacks):
            with open(os.path.join(directory, f"stack-{i}.yaml"), "w") as f:
                f.write(STACK.format(i=i, gen=1))
        with open(os.path.join(directory, "depots.yaml"), "w") as f:
            for i in range(depots):
                f.write(DEPOT.format(i=i, ns=i % NAMESPACES))
        with open(workers_file(directory, layout), "w") as f:
            if layout == "list":
                f.write("apiVersion: v1\nitems:\n")
                for doc in worker_docs(n, stacks, depots):
                    f.write(as_list_item(doc))
                f.write('kind: List\nmetadata:\n  resourceVersion: ""\n')
            else:
                for doc in worker_docs(n, stacks, depots):
                    f.write(doc)
        return

    os.makedirs(directory)
    for i in range(stacks):
        with open(os.path.join(directory, f"stack-{i}.yaml"), "w") as f:
            f.write(STACK.format(i=i, gen=1))
    with open(os.path.join(directory, "depots.yaml"), "w") as f:
        for i in range(depots):
            f.write(DEPOT.format(i=i, ns=i % NAMESPACES))
    # Workloads in files of 1,000, as a GitOps repository splits them.
    for start in range(0, n, 1000):
        with open(os.path.join(directory, f"workers-{start // 1000:03}.yaml"), "w") as f:
            for i in range(start, min(n, start + 1000)):
                ns = i % NAMESPACES
                # A depot of the workload's own namespace.
                depot = ns + NAMESPACES * ((i // NAMESPACES) % max(1, depots // NAMESPACES))
                # 1,000 workloads (or all, when fewer) name Stack 0, the one the run
                # changes; the others share the rest.
                stack = 0 if i % max(1, n // 1000) == 0 else 1 + i % (stacks - 1)
                f.write(WORKER.format(i=i, ns=ns, stack=stack, depot=depot, gen=1))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metric(port, name):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_ready(port, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the server did not get ready")


def wait_reloads(port, at_least, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if metric(port, "stackhook_catalog_reloads_total") >= at_least:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the catalog was not reloaded")


def updates(port):
    """(count, total seconds) of the catalog's updates so far."""
    return (metric(port, "stackhook_catalog_update_duration_seconds_count"),
            metric(port, "stackhook_catalog_update_duration_seconds_sum"))


def wait_update(port, before, timeout=120):
    """Waits for the catalog to apply a change after `before` (an `updates` reading);
    returns how long the updates since took, in ms."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = updates(port)
        if now[0] > before[0]:
            time.sleep(0.5)
            now = updates(port)
            return (now[1] - before[1]) * 1e3
        time.sleep(0.02)
    raise SystemExit("the catalog did not apply the change")


def run(n, stacks=100, depots=1000, layout="split"):
    work = tempfile.mkdtemp()
    catalog = os.path.join(work, "catalog")
    write_catalog(catalog, n, stacks, depots, layout)
    t = time.time()
    out = subprocess.run([BIN, "validate", "--catalog", catalog, catalog], capture_output=True, text=True)
    validate_s = time.time() - t
    summary = out.stdout.strip().splitlines()[-1] if out.stdout else out.stderr.strip()[-200:]
    port, probe = 18543, 18180
    server = subprocess.Popen(
        [BIN, "serve", "--catalog", catalog, "--listen", f"127.0.0.1:{port}",
         "--probe-listen", f"127.0.0.1:{probe}", "--ca-out", os.path.join(work, "ca.crt")],
        stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        t = time.time()
        wait_ready(probe)
        ready_s = time.time() - t
        time.sleep(1)
        ready = rss_kb(server.pid)
        # One workload changes (a new generation).
        path = workers_file(catalog, layout)
        text = open(path).read().replace("uid: u0, generation: 1", "uid: u0, generation: 2", 1)
        def change_workload():
            open(path, "w").write(text)
            wait_reloads(probe, 1)

        workload_ms, after_workload = measure(probe, server.pid, change_workload)

        # One Stack changes: every workload naming it is affected.
        def change_stack():
            open(os.path.join(catalog, "stack-0.yaml"), "w").write(STACK.format(i=0, gen=2))
            wait_reloads(probe, 2)

        stack_ms, after_stack = measure(probe, server.pid, change_stack)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work)
    row(f"files ({layout})", n, stacks, depots, ready, after_workload, after_stack, ready_s, workload_ms, stack_ms,
        f"{validate_s:.2f} s ({summary})")


def measure(probe, pid, change):
    """Makes `change`, waits for the catalog to apply it: (ms the catalog took, RSS kB
    a second later)."""
    before = updates(probe)
    change()
    ms = wait_update(probe, before)
    time.sleep(1)
    return ms, rss_kb(pid)


def row(source, n, stacks, depots, ready, after_workload, after_stack, ready_s, workload_ms, stack_ms,
        validate):
    print(f"| {source} | {n:,} | {stacks} | {depots} | {ready / 1024:.0f} MB | {after_workload / 1024:.0f} MB "
          f"| {after_stack / 1024:.0f} MB | {ready_s:.2f} s | {workload_ms:.2f} ms | {stack_ms:.2f} ms "
          f"| {validate} |")


def api_request(url, method, path, body, ctype="application/json"):
    import json
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": ctype})
    return urllib.request.urlopen(request, timeout=30).read()


def run_cluster(n, stacks=100, depots=1000, controller=False):
    import json
    work = tempfile.mkdtemp()
    catalog = os.path.join(work, "catalog")
    write_catalog(catalog, n, stacks, depots)
    crds = os.path.join(work, "crds.yaml")
    with open(crds, "w") as f:
        f.write(subprocess.run([BIN, "crds"], capture_output=True, text=True, check=True).stdout)
    namespaces = os.path.join(work, "namespaces.yaml")
    with open(namespaces, "w") as f:
        for ns in [f"ns{i}" for i in range(NAMESPACES)] + ["stackhook-system"]:
            f.write(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n")
    seeds = [namespaces, crds] + sorted(os.path.join(catalog, f) for f in os.listdir(catalog))
    api = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/helm/fake_apiserver.py"), *seeds],
                           stdout=subprocess.PIPE, text=True)
    url = api.stdout.readline().strip()
    if not url.startswith("http://"):
        raise SystemExit("the fake API server did not start")
    kubeconfig = os.path.join(work, "kubeconfig")
    with open(kubeconfig, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                   "clusters": [{"name": "fake", "cluster": {"server": url}}],
                   "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                   "users": [{"name": "fake", "user": {"token": "fake"}}]}, f)
    port, probe = 18543, 18180
    made = 0
    env = dict(os.environ, KUBECONFIG=kubeconfig, POD_NAMESPACE="stackhook-system")
    if controller:
        # The controller keeps the watches' stores (it reconciles from them).
        command = [BIN, "controller", "--probe-listen", f"127.0.0.1:{probe}"]
    else:
        command = [BIN, "serve", "--kube", "--listen", f"127.0.0.1:{port}",
                   "--probe-listen", f"127.0.0.1:{probe}", "--ca-out", os.path.join(work, "ca.crt")]
    log = open(os.environ.get("BENCH_LOG", os.devnull), "w")
    server = subprocess.Popen(command, stderr=log, stdout=subprocess.DEVNULL, env=env)
    try:
        t = time.time()
        wait_ready(probe)
        ready_s = time.time() - t
        time.sleep(2)
        ready = rss_kb(server.pid)
        if controller:
            # It reconciles every workload once (their objects made in the fake API
            # server): wait until its memory has not grown for 10 s.
            peak, still, deadline = ready, 0, time.time() + 300
            while still < 10 and time.time() < deadline:
                time.sleep(1)
                now = rss_kb(server.pid)
                still = still + 1 if now <= peak else 0
                peak = max(peak, now)
            ready = peak
            items = json.loads(urllib.request.urlopen(url + "/apis/apps/v1/deployments", timeout=60).read())
            made = len(items["items"])
        # One Worker changes: a new generation, as the API server gives a spec change.
        patch = "application/merge-patch+json"
        workload_ms, after_workload = measure(probe, server.pid, lambda: api_request(
            url, "PATCH", "/apis/stackhook.io/v1alpha1/namespaces/ns0/workers/w0",
            {"metadata": {"generation": 2}, "spec": {"replicas": 3}}, patch))
        stack_ms, after_stack = measure(probe, server.pid, lambda: api_request(
            url, "PATCH", "/apis/stackhook.io/v1alpha1/stacks/app-0",
            {"metadata": {"generation": 2}, "spec": {"image": {"tag": "1.2"}}}, patch))
    finally:
        server.terminate()
        server.wait()
        api.kill()
        api.wait()
        shutil.rmtree(work)
    source = f"cluster, controller ({made:,} Deployments made)" if controller else "cluster"
    row(source, n, stacks, depots, ready, after_workload, after_stack, ready_s, workload_ms, stack_ms, "")


def main():
    args = sys.argv[1:]
    cluster = "--cluster" in args
    controller = "--controller" in args
    sizes = [int(a) for a in args if not a.startswith("--")] or [1000, 10000, 50000]
    layouts = next((a.split("=", 1)[1].split(",") for a in args if a.startswith("--layout=")),
                   ["split", "single", "list"])
    print("| source | workloads | Stacks | Depots | RSS ready | after a workload change "
          "| after a Stack change | first load | workload change applied | Stack change applied "
          "| validate all |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        if controller:
            run_cluster(n, controller=True)
        elif cluster:
            run_cluster(n)
        else:
            for layout in layouts:
                run(n, layout=layout)


if __name__ == "__main__":
    main()
