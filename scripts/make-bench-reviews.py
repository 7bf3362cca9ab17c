#!/usr/bin/env python3
"""Writes the load run's request bodies into DIR: the two-container Service pod review
grown to about 5 KB and 20 KB (annotations and env, as real pods carry), and the Worker
validation review. Same growth as crates/stackhook-core/benches/review.rs."""
import json, sys, pathlib

out = pathlib.Path(sys.argv[1])
root = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/reviews"
pod = json.loads((root / "service-pod-two-containers.json").read_text())

def grown(target):
    review = json.loads(json.dumps(pod))
    i = 0
    while len(json.dumps(review, separators=(",", ":"))) < target:
        o = review["request"]["object"]
        o["metadata"].setdefault("annotations", {})[f"example.com/annotation-{i}"] = f"value-{i}-" + "x" * 40
        o["spec"]["containers"][0].setdefault("env", []).append({"name": f"SHIPPER_OPTION_{i}", "value": f"setting-{i}"})
        i += 1
    return json.dumps(review, separators=(",", ":"))

(out / "pod-5k.json").write_text(grown(5 * 1024))
(out / "pod-20k.json").write_text(grown(20 * 1024))
(out / "worker.json").write_text((root / "worker-create.json").read_text())
