#!/usr/bin/env python3
"""The catalog scale run of BENCHMARKS.md (issue #19).

Writes a file catalog of N workloads (Workers in 100 namespaces, each naming one of S
Stacks and one of D Depots), starts `stackhook serve --catalog DIR` on it (release,
self-signed TLS), and reports: the server's RSS once ready; its RSS after one workload
file changes and after a Stack file changes (each applied when `/readyz` reports the
new catalog); and how long `stackhook validate --catalog DIR` takes over all N
workloads.

    python3 scripts/bench-catalog.py [N ...]        # default: 1000 10000 50000
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


def write_catalog(directory, n, stacks, depots):
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
                f.write(WORKER.format(i=i, ns=ns, stack=i % stacks, depot=depot, gen=1))


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


def run(n, stacks=100, depots=1000):
    work = tempfile.mkdtemp()
    catalog = os.path.join(work, "catalog")
    write_catalog(catalog, n, stacks, depots)
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
        path = os.path.join(catalog, "workers-000.yaml")
        text = open(path).read().replace("uid: u0, generation: 1", "uid: u0, generation: 2", 1)
        open(path, "w").write(text)
        wait_reloads(probe, 1)
        time.sleep(1)
        after_workload = rss_kb(server.pid)
        # One Stack changes: every workload naming it is affected.
        path = os.path.join(catalog, "stack-0.yaml")
        open(path, "w").write(STACK.format(i=0, gen=2))
        wait_reloads(probe, 2)
        time.sleep(1)
        after_stack = rss_kb(server.pid)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work)
    print(f"| {n:,} | {stacks} | {depots} | {ready / 1024:.0f} MB | {after_workload / 1024:.0f} MB "
          f"| {after_stack / 1024:.0f} MB | {ready_s:.2f} s | {validate_s:.2f} s ({summary}) |")


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 50000]
    print("| workloads | Stacks | Depots | RSS ready | after a workload change | after a Stack change "
          "| first load | validate all |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        run(n)


if __name__ == "__main__":
    main()
