"""Installs charts/stackhook with a real Helm (helm-sdkpy: Helm v4 as a library) into
the fake API server, optionally upgrades it, and prints what Helm sent as JSON:
{"lint": ..., "install": [objects...], "upgrade": [objects...], "stored": [objects...]}.

usage: render.py CHART VALUES_JSON [--upgrade VALUES_JSON] [--lint]

"upgrade_patched" lists the objects the upgrade patched or replaced ("Kind/name").
"""

import asyncio
import json
import os
import sys
import tempfile

import helm_sdkpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_apiserver  # noqa: E402

NAMESPACE = "stackhook-system"


async def main():
    chart = os.path.abspath(sys.argv[1])
    values = json.loads(sys.argv[2])
    upgrade_values = None
    if "--upgrade" in sys.argv:
        upgrade_values = json.loads(sys.argv[sys.argv.index("--upgrade") + 1])
    server, store, url = fake_apiserver.start()
    # Helm's create_namespace validates against OpenAPI, which the fake does not serve.
    store.objects[("", "v1", "namespaces", "", NAMESPACE)] = {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        kc = os.path.join(tmp, "kubeconfig")
        fake_apiserver.kubeconfig(url, kc)
        # Release records in memory: the storage driver speaks protobuf to Secrets.
        os.environ["HELM_DRIVER"] = "memory"
        os.environ["HELM_CACHE_HOME"] = os.path.join(tmp, "cache")
        os.environ["HELM_CONFIG_HOME"] = os.path.join(tmp, "config")
        os.environ["HELM_DATA_HOME"] = os.path.join(tmp, "data")
        config = helm_sdkpy.Configuration(namespace=NAMESPACE, kubeconfig=kc)
        if "--lint" in sys.argv:
            out["lint"] = await helm_sdkpy.Lint(config).run(chart)
        await helm_sdkpy.Install(config).run(
            "stackhook", chart, values=values, create_namespace=False, wait=False, timeout=60)
        out["install"] = list(store.created)
        if upgrade_values is not None:
            store.created.clear()
            store.patched.clear()
            await helm_sdkpy.Upgrade(config).run(
                "stackhook", chart, values=upgrade_values, wait=False, timeout=60)
            out["upgrade"] = list(store.created)
            out["upgrade_patched"] = list(store.patched)
        out["stored"] = [o for o in store.objects.values()
                         if not (o.get("kind") == "Secret" and o.get("type") == "helm.sh/release.v1")]
    server.shutdown()
    json.dump(out, sys.stdout)


try:
    asyncio.run(main())
except helm_sdkpy.HelmError as e:
    print(f"helm: {e}", file=sys.stderr)
    sys.exit(1)
