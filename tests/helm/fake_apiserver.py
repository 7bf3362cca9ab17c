"""A small in-memory Kubernetes API server on loopback, enough for a real Helm (v4,
through helm-sdkpy) to install and upgrade a chart without a cluster: discovery,
namespaces, and create/get/list/watch/patch/update/delete of any resource it
advertises. It records every object it is sent, which is what the chart tests check.

Not a Kubernetes: no validation, no defaulting, no controllers. CRDs become
Established at once and their kinds join discovery. The Prometheus Operator and
cert-manager kinds are advertised as installed, so charts may use them.
"""

import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# (group, version, plural, kind, namespaced)
BUILTIN = [
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "services", "Service", True),
    ("", "v1", "serviceaccounts", "ServiceAccount", True),
    ("", "v1", "pods", "Pod", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("batch", "v1", "jobs", "Job", True),
    ("batch", "v1", "cronjobs", "CronJob", True),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ("coordination.k8s.io", "v1", "leases", "Lease", True),
    ("events.k8s.io", "v1", "events", "Event", True),
    ("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", True),
    ("cert-manager.io", "v1", "certificates", "Certificate", True),
    ("cert-manager.io", "v1", "issuers", "Issuer", True),
    ("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer", False),
]


def merge_patch(target, patch):
    """RFC 7386 (used for strategic merge patches too: close enough for a fake)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _fields(buf):
    """Protobuf wire format: (field number, value) pairs; varints as int, the rest bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, value


def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _string_map(entries):
    out = {}
    for raw in entries:
        kv = dict(_fields(raw))
        out[kv.get(1, b"").decode()] = kv.get(2, b"")
    return out


def secret_from_protobuf(raw):
    """A Secret sent as Kubernetes protobuf (how Helm stores its release records) as
    JSON: the `k8s\\0` envelope, runtime.Unknown, then v1.Secret's fields."""
    import base64
    if not raw.startswith(b"k8s\x00"):
        raise ValueError("not a Kubernetes protobuf envelope")
    unknown = dict(_fields(raw[4:]))
    secret = list(_fields(unknown[2]))
    meta_raw = next((v for n, v in secret if n == 1), b"")
    meta_fields = list(_fields(meta_raw))
    meta = {}
    for n, v in meta_fields:
        if n == 1:
            meta["name"] = v.decode()
        elif n == 3:
            meta["namespace"] = v.decode()
    labels = _string_map(v for n, v in meta_fields if n == 11)
    if labels:
        meta["labels"] = {k: v.decode() for k, v in labels.items()}
    data = _string_map(v for n, v in secret if n == 2)
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": meta,
           "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}
    for n, v in secret:
        if n == 3:
            obj["type"] = v.decode()
    return obj


def matches(obj, selector):
    """Equality (`k=v`) and existence (`k`) terms of a label selector."""
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        if "=" in term:
            k, want = term.split("=", 1)
            if labels.get(k.rstrip("=!")) != want:
                return False
        elif term not in labels:
            return False
    return True


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.resources = list(BUILTIN)
        self.objects = {}  # (group, version, plural, namespace, name) -> object
        self.created = []  # every object as first sent, in order
        self.patched = []  # "Kind/name" of every object patched or replaced
        self.rv = 100

    def find(self, group, version, plural):
        for r in self.resources:
            if r[0] == group and r[1] == version and r[2] == plural:
                return r
        return None

    def next_rv(self):
        self.rv += 1
        return str(self.rv)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: Store = None

    def log_message(self, *args):
        pass

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, reason, message):
        self.send_json(code, {"apiVersion": "v1", "kind": "Status", "metadata": {},
                              "status": "Failure", "code": code, "reason": reason, "message": message})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        if "protobuf" in (self.headers.get("Content-Type") or ""):
            return secret_from_protobuf(raw)
        return json.loads(raw)

    def discovery(self, path):
        s = self.store
        if path == "/version":
            return {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups = {}
            for g, v, *_ in s.resources:
                if g:
                    groups.setdefault(g, [])
                    if v not in groups[g]:
                        groups[g].append(v)
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                for g, vs in groups.items()]}
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            g, v = "", parts[1]
        elif parts[0] == "apis" and len(parts) == 3:
            g, v = parts[1], parts[2]
        elif parts[0] == "apis" and len(parts) == 2:
            vs = sorted({r[1] for r in s.resources if r[0] == parts[1]})
            if not vs:
                return None
            return {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1],
                    "versions": [{"groupVersion": f"{parts[1]}/{v}", "version": v} for v in vs],
                    "preferredVersion": {"groupVersion": f"{parts[1]}/{vs[0]}", "version": vs[0]}}
        else:
            return None
        rs = [r for r in s.resources if r[0] == g and r[1] == v]
        if not rs:
            return None
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        resources = []
        for r in rs:
            resources.append({"name": r[2], "singularName": r[3].lower(), "namespaced": r[4],
                              "kind": r[3], "verbs": verbs})
            resources.append({"name": r[2] + "/status", "singularName": "", "namespaced": r[4],
                              "kind": r[3], "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{g}/{v}" if g else v, "resources": resources}

    def route(self, path):
        """(group, version, namespace, plural, name, subresource) of a resource path."""
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            g, rest = "", parts[1:]
        elif parts[0] == "apis" and len(parts) >= 3:
            g, rest = parts[1], parts[2:]
        else:
            return None
        v, rest = rest[0], rest[1:]
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2 or (len(rest) >= 3 and rest[0] == "namespaces"):
            ns, rest = rest[1], rest[2:]
        if not rest:
            return None
        plural, rest = rest[0], rest[1:]
        name = rest[0] if rest else None
        sub = rest[1] if len(rest) > 1 else None
        return g, v, ns, plural, name, sub

    def handle_any(self, method):
        if os.environ.get("FAKE_APISERVER_LOG"):
            print(method, self.path, self.headers.get("Accept"), file=sys.stderr)
        url = urlparse(self.path)
        query = parse_qs(url.query)
        s = self.store
        if method == "GET":
            d = self.discovery(url.path)
            if d is not None:
                return self.send_json(200, d)
        if url.path == "/_objects":
            with s.lock:
                return self.send_json(200, {"objects": list(s.objects.values()), "patched": s.patched})
        if url.path.startswith("/openapi"):
            return self.status(404, "NotFound", "no openapi here")
        r = self.route(url.path)
        if r is None:
            return self.status(404, "NotFound", f"no route {url.path}")
        g, v, ns, plural, name, sub = r
        res = s.find(g, v, plural)
        if res is None:
            return self.status(404, "NotFound", f"the server could not find the requested resource ({plural})")
        kind = res[3]
        api_version = f"{g}/{v}" if g else v
        body = self.body() if method in ("POST", "PUT", "PATCH") else None
        if name is None and method == "GET":
            selector = query.get("labelSelector", [""])[0]
            if query.get("watch", ["false"])[0] in ("1", "true"):
                return self.watch(g, v, plural, ns, selector, query)
            with s.lock:
                items = [o for (og, ov, op, ons, _), o in sorted(s.objects.items())
                         if (og, ov, op) == (g, v, plural) and (ns is None or ons == ns)
                         and matches(o, selector)]
                # Pages, as the API server gives them (`limit`, `continue`: here an offset).
                start = int(query.get("continue", ["0"])[0] or 0)
                limit = int(query.get("limit", ["0"])[0] or 0)
                meta = {"resourceVersion": str(s.rv)}
                if limit and start + limit < len(items):
                    meta["continue"] = str(start + limit)
                    meta["remainingItemCount"] = len(items) - start - limit
                items = items[start:start + limit] if limit else items[start:]
                return self.send_json(200, {"apiVersion": api_version, "kind": kind + "List",
                                            "metadata": meta, "items": items})
        with s.lock:
            if name is None and method == "POST":
                obj = body or {}
                meta = obj.setdefault("metadata", {})
                if not meta.get("name") and meta.get("generateName"):
                    meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
                key = (g, v, plural, ns or meta.get("namespace") or "", meta.get("name"))
                if key in s.objects:
                    return self.status(409, "AlreadyExists", f'{plural} "{meta.get("name")}" already exists')
                s.created.append(json.loads(json.dumps(obj)))
                if ns:
                    meta["namespace"] = ns
                meta.update(uid=str(uuid.uuid4()), resourceVersion=s.next_rv(),
                            creationTimestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                obj.setdefault("apiVersion", api_version)
                obj.setdefault("kind", kind)
                if kind == "CustomResourceDefinition":
                    self.establish(obj)
                s.objects[key] = obj
                return self.send_json(201, obj)
            key = (g, v, plural, ns or "", name)
            existing = s.objects.get(key)
            if method == "GET":
                if existing is None:
                    return self.status(404, "NotFound", f'{plural} "{name}" not found')
                return self.send_json(200, existing)
            if method == "DELETE":
                if existing is None:
                    return self.status(404, "NotFound", f'{plural} "{name}" not found')
                del s.objects[key]
                return self.send_json(200, {"apiVersion": "v1", "kind": "Status", "status": "Success", "metadata": {}})
            if method == "PUT":
                s.patched.append(f"{kind}/{name}")
                obj = body or {}
                obj.setdefault("metadata", {}).update(resourceVersion=s.next_rv())
                s.objects[key] = obj
                return self.send_json(200, obj)
            if method == "PATCH":
                ctype = self.headers.get("Content-Type", "")
                if existing is None:
                    if "apply-patch" not in ctype:
                        return self.status(404, "NotFound", f'{plural} "{name}" not found')
                    existing = {"apiVersion": api_version, "kind": kind,
                                "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4())}}
                    s.created.append(json.loads(json.dumps(body or {})))
                s.patched.append(f"{kind}/{name}")
                if isinstance(body, list):
                    return self.status(415, "UnsupportedMediaType", "JSON patches are not supported here")
                obj = merge_patch(existing, body or {})
                obj["metadata"]["resourceVersion"] = s.next_rv()
                s.objects[key] = obj
                return self.send_json(200, obj)
        return self.status(405, "MethodNotAllowed", method)

    def establish(self, crd):
        crd["status"] = {"conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}],
            "acceptedNames": crd.get("spec", {}).get("names", {})}
        spec = crd.get("spec", {})
        for ver in spec.get("versions", []):
            entry = (spec.get("group"), ver.get("name"), spec["names"]["plural"], spec["names"]["kind"],
                     spec.get("scope") == "Namespaced")
            if entry not in self.store.resources:
                self.store.resources.append(entry)

    def watch(self, g, v, plural, ns, selector, query):
        """Streams changes after the request's resourceVersion for a few seconds (the
        client watches again after), polling the store."""
        s = self.store
        since = int((query.get("resourceVersion", ["0"])[0] or "0").split(".")[0] or 0)
        deadline = time.time() + min(int(query.get("timeoutSeconds", ["5"])[0]), 5)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        seen = {}
        try:
            while time.time() < deadline:
                with s.lock:
                    now = {key: o for key, o in s.objects.items()
                           if key[:3] == (g, v, plural) and (ns is None or key[3] == ns)
                           and matches(o, selector)}
                events = []
                for key, o in now.items():
                    rv = int(o.get("metadata", {}).get("resourceVersion") or 0)
                    if rv > since and seen.get(key) != rv:
                        events.append({"type": "MODIFIED" if key in seen else "ADDED", "object": o})
                        seen[key] = rv
                for key in [k for k in seen if k not in now]:
                    events.append({"type": "DELETED", "object": {"apiVersion": v if not g else f"{g}/{v}",
                                   "metadata": {"name": key[4], "namespace": key[3] or None}}})
                    del seen[key]
                for e in events:
                    line = (json.dumps(e) + "\n").encode()
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


def start():
    """Starts a server on a free loopback port; returns (server, store, url)."""
    store = Store()
    handler = type("BoundHandler", (Handler,), {"store": store})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, store, f"http://127.0.0.1:{server.server_address[1]}"


def kubeconfig(url, path):
    with open(path, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                   "clusters": [{"name": "fake", "cluster": {"server": url}}],
                   "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "default"}}],
                   "users": [{"name": "fake", "user": {"token": "fake"}}]}, f)


def seed(url, paths):
    """Creates every document of the YAML files, in order, through the API."""
    import urllib.request

    import yaml

    for path in paths:
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if not doc:
                    continue
                group_version = doc["apiVersion"]
                g, v = group_version.split("/") if "/" in group_version else ("", group_version)
                res = next(r for r in _STORE.resources if r[0] == g and r[1] == v and r[3] == doc["kind"])
                ns = doc.get("metadata", {}).get("namespace")
                prefix = f"/apis/{g}/{v}" if g else f"/api/{v}"
                target = f"{prefix}/namespaces/{ns}/{res[2]}" if res[4] and ns else f"{prefix}/{res[2]}"
                request = urllib.request.Request(url + target, data=json.dumps(doc).encode(), method="POST",
                                                 headers={"Content-Type": "application/json"})
                urllib.request.urlopen(request).read()


if __name__ == "__main__":
    # Standalone: create the documents of the files given, then serve until killed; the
    # first line of stdout is the URL. GET /_objects dumps what is stored.
    _server, _STORE, _url = start()
    seed(_url, sys.argv[1:])
    print(_url, flush=True)
    threading.Event().wait()
