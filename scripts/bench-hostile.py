#!/usr/bin/env python3
"""The worst case of one review over the hostile corpus (BENCHMARKS.md): starts the
release `stackhook serve` with the corpus's Stacks as its catalog, pinned to core 0,
posts each review of tests/fixtures/hostile/ alone (three times), and reports for each
the latency, the server's CPU time (from /proc/PID/stat) and, at the end, its peak RSS.

    python3 scripts/bench-hostile.py [path/to/stackhook]
"""
import json, os, pathlib, ssl, subprocess, sys, tempfile, time, urllib.request, http.client

root = pathlib.Path(__file__).resolve().parent.parent
binary = sys.argv[1] if len(sys.argv) > 1 else str(root / "target/release/stackhook")
sys.path.insert(0, str(root))
import yaml  # PyYAML, as .ci/run installs it

work = pathlib.Path(tempfile.mkdtemp())
reviews = []
for f in sorted((root / "tests/fixtures/hostile").glob("*.yaml")):
    text = f.read_text()
    if "# catalog: true" in text or "alias-bytes" in f.name:
        continue
    for i, doc in enumerate(yaml.safe_load_all(text)):
        if doc is None:
            continue
        if doc["kind"] == "Stack":
            (work / f"{f.stem}-{i}.json").write_text(json.dumps(doc))
        group, version = doc["apiVersion"].split("/")
        request = {"uid": f"{f.stem}-{i}", "kind": {"group": group, "version": version, "kind": doc["kind"]},
                   "operation": "CREATE", "name": doc["metadata"]["name"], "object": doc,
                   "userInfo": {"username": "bench"}}
        if "namespace" in doc["metadata"]:
            request["namespace"] = doc["metadata"]["namespace"]
        reviews.append((f"{f.stem} {doc['kind']}", json.dumps({"apiVersion": "admission.k8s.io/v1",
                        "kind": "AdmissionReview", "request": request}).encode()))

server = subprocess.Popen(["taskset", "-c", "0", binary, "serve", "--catalog", str(work),
                           "--listen", "127.0.0.1:18443", "--probe-listen", "127.0.0.1:18080",
                           "--ca-out", str(work / "ca.crt")], stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            if urllib.request.urlopen("http://127.0.0.1:18080/readyz").status == 200:
                break
        except Exception:
            time.sleep(0.1)
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = lambda: sum(int(x) for x in open(f"/proc/{server.pid}/stat").read().split()[13:15])
    ctx = ssl.create_default_context(cafile=str(work / "ca.crt"))
    worst = (0, "")
    print(f"{'review':48} {'ms':>8} {'cpu ms':>8}  answer")
    for name, body in reviews:
        for _ in range(3):
            conn = http.client.HTTPSConnection("localhost", 18443, context=ctx)
            before, t = cpu(), time.perf_counter()
            conn.request("POST", "/validate", body, {"content-type": "application/json"})
            resp = json.loads(conn.getresponse().read())
            ms = (time.perf_counter() - t) * 1e3
            cpu_ms = (cpu() - before) * 1000 / ticks
            conn.close()
        r = resp["response"]
        answer = "allowed" if r["allowed"] else f"denied {r['status']['code']}"
        print(f"{name:48} {ms:8.1f} {cpu_ms:8.0f}  {answer}")
        worst = max(worst, (cpu_ms, name))
    hwm = [l for l in open(f"/proc/{server.pid}/status") if l.startswith("VmHWM")][0].split()[1]
    print(f"worst CPU: {worst[0]:.0f} ms ({worst[1]}); peak RSS {int(hwm) // 1024} MB")
finally:
    server.kill()
