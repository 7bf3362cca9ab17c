#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/ from the
project's own test material: real reviews, the example catalog, the template and
filter differential cases. Run from fuzz/: python3 make-seeds.py"""
import json, pathlib, shutil, subprocess

root = pathlib.Path(__file__).resolve().parent.parent
seeds = root / "fuzz" / "seeds"
shutil.rmtree(seeds, ignore_errors=True)

def put(target, name, data):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())

def yaml_list(path):
    # The case files are YAML; PyYAML reads them as the tests do.
    import yaml
    return yaml.safe_load(path.read_text())

for f in sorted((root / "tests/fixtures/reviews").glob("*.json")):
    put("review", f.name, f.read_bytes())
for f in sorted((root / "examples").rglob("*.yaml")):
    put("yaml", f"{f.parent.name}-{f.name}", f.read_bytes())
# Lines broken by lone CRs (found by the fuzzer: positions count them as YAML does).
put("yaml", "carriage-returns", b" \r\r\r\r6Vel 2}\ndb]\n")
put("yaml", "anchors.yaml", "base: &b {x: 1, w: 2}\nderived:\n  <<: *b\n  w: 3\nlist: [*b, *b]\n")
for c in yaml_list(root / "crates/gotemplate/tests/gotmpl/cases.yaml"):
    put("template", c["name"], c["template"] + "\0" + json.dumps(c.get("data")))
for c in yaml_list(root / "crates/jqlite/tests/filters/cases.yaml"):
    put("filter", c["name"], c["filter"] + "\0" + json.dumps(c["input"]))
for i, a in enumerate(["dataos://icebase:retail/city", "dataos://testawslh", "dataos://gcdexport:none/a/b.csv",
                       "dataos://icebase:retail/city?acl=rw", "dataos://a-b:c_d", "dataos://Bad:x"]):
    put("address", f"a{i}", a)
put("properties", "plain", "user\0alice\0password\0s3cr=t:#!\0")
put("properties", "unicode", "key\0välue ✓ 😀\0 leading\0  spaces\0")
put("properties", "lines", "multi\0line one\nline two\\\0tab\0a\tb\0")
