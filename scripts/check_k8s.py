#!/usr/bin/env python3
"""Offline check of the Kubernetes manifests in deploy/kubernetes (no cluster, no schema
fetched): python3 standard library and Debian's python3-yaml.

    check_k8s.py [--node-bin PATH] [DIR | FILE]   (default: deploy/kubernetes)

Reads DIR/kustomization.yaml and the resources it lists (or FILE, a rendered stream
such as `kubectl kustomize DIR` prints), then checks
- each document against a minimal hand-written schema of its apiVersion/kind (required
  fields, types, and no field the schema does not know, so a misspelt key fails);
- the StatefulSet against the rest: its selector matches its pod labels, serviceName is
  a headless Service (publishNotReadyAddresses) selecting those pods, every Service's
  and probe's port is a container port, readiness is /healthz and liveness /livez,
  VIEW holds exactly the pods' names (replicas × <sts>-N.<service>.<ns>.svc.cluster.local)
  and ADDRESS is the pod's own, replicas is a multiple of REPL_FACTOR, DATA_DIR is a
  volumeClaimTemplate's mount, the container runs as non-root with a read-only root
  file system, the grace period covers preStop plus the node's shutdown, requests are
  set, and every env var is one the node knows (from `causalkv --help`) or a helper
  that another value references as $(NAME);
- the PodDisruptionBudget selects the pods.
Exit 1 with every problem listed, 0 with a one-line summary."""
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SHUTDOWN_S = 1  # README Operations: SIGTERM → exit 0 within a second
CLUSTER_DOMAIN = "svc.cluster.local"

# ------------------------------------------------------------------ minimal schemas
# A schema is a type (str, int, bool), ("list", item), ("map", value) — any keys — or a
# dict {field: schema}; a field whose name ends in "!" is required.
STR, INT, BOOL = str, int, bool
INT_OR_STR = "int-or-string"
LABELS = ("map", STR)
METADATA = {"name!": STR, "namespace": STR, "labels": LABELS, "annotations": LABELS}
SELECTOR = {"matchLabels!": LABELS}
PROBE = {
    "httpGet!": {"path!": STR, "port!": INT_OR_STR, "scheme": STR},
    "initialDelaySeconds": INT, "periodSeconds": INT, "timeoutSeconds": INT,
    "failureThreshold": INT, "successThreshold": INT,
}
ENV_VAR = {
    "name!": STR, "value": STR,
    "valueFrom": {"fieldRef": {"fieldPath!": STR, "apiVersion": STR},
                  "secretKeyRef": {"name!": STR, "key!": STR, "optional": BOOL},
                  "configMapKeyRef": {"name!": STR, "key!": STR, "optional": BOOL}},
}
RESOURCES = {"requests": ("map", INT_OR_STR), "limits": ("map", INT_OR_STR)}
CONTAINER = {
    "name!": STR, "image!": STR, "imagePullPolicy": STR,
    "command": ("list", STR), "args": ("list", STR),
    "ports": ("list", {"name": STR, "containerPort!": INT, "protocol": STR}),
    "env": ("list", ENV_VAR),
    "readinessProbe": PROBE, "livenessProbe": PROBE, "startupProbe": PROBE,
    "lifecycle": {"preStop": {"exec": {"command!": ("list", STR)}}},
    "resources": RESOURCES,
    "securityContext": {"allowPrivilegeEscalation": BOOL, "readOnlyRootFilesystem": BOOL,
                        "runAsNonRoot": BOOL, "runAsUser": INT, "runAsGroup": INT,
                        "capabilities": {"drop": ("list", STR), "add": ("list", STR)}},
    "volumeMounts": ("list", {"name!": STR, "mountPath!": STR, "readOnly": BOOL}),
}
POD_SPEC = {
    "containers!": ("list", CONTAINER),
    "terminationGracePeriodSeconds": INT, "enableServiceLinks": BOOL,
    "automountServiceAccountToken": BOOL, "serviceAccountName": STR,
    "securityContext": {"runAsNonRoot": BOOL, "runAsUser": INT, "runAsGroup": INT,
                        "fsGroup": INT, "seccompProfile": {"type!": STR}},
    "volumes": ("list", {"name!": STR, "emptyDir": ("map", STR)}),
}
PVC_TEMPLATE = {
    "metadata!": {"name!": STR, "labels": LABELS},
    "spec!": {"accessModes!": ("list", STR), "storageClassName": STR,
              "resources!": {"requests!": {"storage!": STR}}},
}
SCHEMAS = {
    ("apps/v1", "StatefulSet"): {
        "apiVersion!": STR, "kind!": STR, "metadata!": METADATA,
        "spec!": {
            "serviceName!": STR, "replicas!": INT, "podManagementPolicy": STR,
            "updateStrategy": {"type": STR, "rollingUpdate": {"partition": INT}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": STR, "whenScaled": STR},
            "selector!": SELECTOR,
            "template!": {"metadata!": {"labels!": LABELS, "annotations": LABELS},
                          "spec!": POD_SPEC},
            "volumeClaimTemplates": ("list", PVC_TEMPLATE),
        },
    },
    ("v1", "Service"): {
        "apiVersion!": STR, "kind!": STR, "metadata!": METADATA,
        "spec!": {"type": STR, "clusterIP": STR, "publishNotReadyAddresses": BOOL,
                  "selector!": LABELS,
                  "ports!": ("list", {"name": STR, "port!": INT, "targetPort": INT_OR_STR,
                                      "protocol": STR})},
    },
    ("policy/v1", "PodDisruptionBudget"): {
        "apiVersion!": STR, "kind!": STR, "metadata!": METADATA,
        "spec!": {"maxUnavailable": INT_OR_STR, "minAvailable": INT_OR_STR,
                  "selector!": SELECTOR},
    },
}
KUSTOMIZATION = {
    "apiVersion!": STR, "kind!": STR, "namespace": STR, "resources!": ("list", STR),
    "images": ("list", {"name!": STR, "newName": STR, "newTag": STR, "digest": STR}),
}
ENUMS = {"imagePullPolicy": {"Always", "IfNotPresent", "Never"},
         "podManagementPolicy": {"OrderedReady", "Parallel"},
         "protocol": {"TCP", "UDP", "SCTP"}, "whenDeleted": {"Retain", "Delete"},
         "whenScaled": {"Retain", "Delete"}}


def check_schema(value, schema, where, problems):
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            problems.append("%s: must be a mapping" % where)
            return
        fields = {k.rstrip("!"): v for k, v in schema.items()}
        for k in schema:
            if k.endswith("!") and k[:-1] not in value:
                problems.append("%s: %s is required" % (where, k[:-1]))
        for k, v in value.items():
            if k not in fields:
                problems.append("%s: unknown field %r" % (where, k))
            else:
                check_schema(v, fields[k], "%s.%s" % (where, k), problems)
                leaf = k
                if leaf in ENUMS and isinstance(v, str) and v not in ENUMS[leaf]:
                    problems.append("%s.%s: %r is not one of %s" % (
                        where, k, v, sorted(ENUMS[leaf])))
    elif isinstance(schema, tuple):
        kind, item = schema
        if kind == "list":
            if not isinstance(value, list):
                problems.append("%s: must be a list" % where)
                return
            for i, v in enumerate(value):
                check_schema(v, item, "%s[%d]" % (where, i), problems)
        else:  # map
            if not isinstance(value, dict):
                problems.append("%s: must be a mapping" % where)
                return
            for k, v in value.items():
                check_schema(v, item, "%s.%s" % (where, k), problems)
    elif schema == INT_OR_STR:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            problems.append("%s: must be an integer or a string" % where)
    elif schema is INT:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append("%s: must be an integer, not %r" % (where, value))
    elif not isinstance(value, schema):
        problems.append("%s: must be a %s, not %r" % (where, schema.__name__, value))


# ------------------------------------------------------------------ loading
def load_stream(path, label, problems):
    """The documents of one YAML file, each named label#N."""
    try:
        with open(path) as f:
            return [("%s#%d" % (label, i), doc)
                    for i, doc in enumerate(yaml.safe_load_all(f)) if doc is not None]
    except yaml.YAMLError as e:
        problems.append("%s: not valid YAML: %s" % (label, str(e).replace("\n", " ")))
        return []


def load(directory, problems):
    """The kustomization and every document of the resources it lists."""
    kpath = os.path.join(directory, "kustomization.yaml")
    with open(kpath) as f:
        kust = yaml.safe_load(f)
    check_schema(kust, KUSTOMIZATION, "kustomization.yaml", problems)
    if (kust.get("apiVersion"), kust.get("kind")) != ("kustomize.config.k8s.io/v1beta1",
                                                      "Kustomization"):
        problems.append("kustomization.yaml: not a kustomize.config.k8s.io/v1beta1 "
                        "Kustomization")
    docs = []
    for res in kust.get("resources") or []:
        path = os.path.join(directory, res)
        if not os.path.isfile(path):
            problems.append("kustomization.yaml: resource %s does not exist" % res)
            continue
        docs.extend(load_stream(path, res, problems))
    listed = {os.path.normpath(r) for r in kust.get("resources") or []}
    for name in sorted(os.listdir(directory)):
        if name.endswith((".yaml", ".yml")) and name != "kustomization.yaml" \
                and name not in listed:
            problems.append("%s is not listed in kustomization.yaml resources" % name)
    return kust, docs


def node_variables(node_bin):
    """The variable names `causalkv --help` lists."""
    out = subprocess.run([node_bin, "--help"], capture_output=True, text=True,
                         timeout=30).stdout
    names = set(re.findall(r"^  ([A-Z][A-Z0-9_]+)\s", out, re.M))
    if not names:
        raise SystemExit("check_k8s: %s --help lists no variables" % node_bin)
    return names


# ------------------------------------------------------------------ cross checks
def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def expand(value, env_by_name):
    """$(NAME) → a placeholder for a pod field, the value for a plain env var."""
    def sub(m):
        e = env_by_name.get(m.group(1))
        if e is None:
            return m.group(0)
        ref = (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        if ref == "metadata.name":
            return "<pod>"
        if ref == "metadata.namespace":
            return "<ns>"
        return e.get("value", m.group(0))
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, value)


def check_statefulset(name, sts, services, pdbs, known_vars, problems):
    p = lambda msg: problems.append("%s: StatefulSet %s: %s" % (name, sts_name, msg))  # noqa
    sts_name = sts["metadata"]["name"]
    spec = sts["spec"]
    labels = spec["template"]["metadata"].get("labels") or {}
    if not selects(spec["selector"].get("matchLabels"), labels):
        p("selector.matchLabels does not match the pod template's labels")
    headless = [s for s in services if s["metadata"]["name"] == spec["serviceName"]]
    if not headless:
        p("serviceName %r is not a Service of these manifests" % spec["serviceName"])
    else:
        h = headless[0]["spec"]
        if h.get("clusterIP") != "None":
            p("Service %s (serviceName) is not headless (clusterIP: None)"
              % spec["serviceName"])
        if h.get("publishNotReadyAddresses") is not True:
            p("Service %s must publishNotReadyAddresses, or peers cannot find each other "
              "before they are ready" % spec["serviceName"])
    pod = spec["template"]["spec"]
    if len(pod["containers"]) != 1:
        p("expected one container")
        return
    c = pod["containers"][0]
    ports = {pt.get("name"): pt["containerPort"] for pt in c.get("ports") or []}
    numbers = set(ports.values())

    def port_ok(port):
        return port in ports if isinstance(port, str) else port in numbers

    for svc in services:
        sname = svc["metadata"]["name"]
        if not selects(svc["spec"].get("selector"), labels):
            p("Service %s does not select the pods" % sname)
        for sp in svc["spec"].get("ports") or []:
            if not port_ok(sp.get("targetPort", sp["port"])):
                p("Service %s port %r is no container port" % (
                    sname, sp.get("targetPort", sp["port"])))
    for pdb in pdbs:
        if not selects(pdb["spec"]["selector"].get("matchLabels"), labels):
            p("PodDisruptionBudget %s does not select the pods" % pdb["metadata"]["name"])
    want_paths = {"readinessProbe": "/healthz", "livenessProbe": "/livez",
                  "startupProbe": "/livez"}
    for probe, path in want_paths.items():
        pr = c.get(probe)
        if pr is None:
            if probe != "startupProbe":
                p("%s is missing" % probe)
            continue
        if not port_ok(pr["httpGet"]["port"]):
            p("%s port %r is no container port" % (probe, pr["httpGet"]["port"]))
        if pr["httpGet"]["path"] != path:
            p("%s must ask %s (got %s)" % (probe, path, pr["httpGet"]["path"]))

    env = c.get("env") or []
    env_by_name = {e["name"]: e for e in env}
    if len(env_by_name) != len(env):
        p("an env var is set twice")
    referenced = set(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                " ".join(e.get("value", "") for e in env)))
    for e in env:
        if e["name"] not in known_vars and e["name"] not in referenced:
            p("env %s is not a variable the node knows (causalkv --help) nor a helper "
              "referenced as $(%s)" % (e["name"], e["name"]))
        if "value" in e and "valueFrom" in e:
            p("env %s has both value and valueFrom" % e["name"])
    for ref in referenced:
        if ref not in env_by_name:
            p("$(%s) is referenced but not defined" % ref)
        elif [x["name"] for x in env].index(ref) > min(
                [x["name"] for x in env].index(e["name"]) for e in env
                if "$(%s)" % ref in e.get("value", "")):
            p("$(%s) is used before it is defined (Kubernetes expands earlier vars only)"
              % ref)

    replicas = spec["replicas"]
    try:
        rf = int(env_by_name.get("REPL_FACTOR", {}).get("value", "1"))
    except ValueError:
        rf = 0
        p("REPL_FACTOR is not an integer")
    if rf < 1 or replicas % rf != 0:
        p("replicas %d is not a multiple of REPL_FACTOR %d" % (replicas, rf))
    port = ports.get("http", next(iter(numbers), None))
    suffix = "%s.<ns>.%s:%s" % (spec["serviceName"], CLUSTER_DOMAIN, port)
    view = expand(env_by_name.get("VIEW", {}).get("value", ""), env_by_name)
    want_view = ["%s-%d.%s" % (sts_name, i, suffix) for i in range(replicas)]
    got_view = [v.strip() for v in view.split(",")] if view else []
    if got_view != want_view:
        p("VIEW must be the %d pods' names in order, %s (got %s)"
          % (replicas, ",".join(want_view), ",".join(got_view) or "nothing"))
    address = expand(env_by_name.get("ADDRESS", {}).get("value", ""), env_by_name)
    if address != "<pod>." + suffix:
        p("ADDRESS must be the pod's own name, <pod>.%s (got %r)" % (suffix, address))

    claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}
    mounts = {m["mountPath"].rstrip("/"): m["name"] for m in c.get("volumeMounts") or []}
    data_dir = env_by_name.get("DATA_DIR", {}).get("value")
    if data_dir is None:
        p("DATA_DIR is not set: a restarted pod would start empty")
    elif mounts.get(data_dir.rstrip("/")) not in claims:
        p("DATA_DIR %s is not the mount of a volumeClaimTemplate" % data_dir)

    psc = pod.get("securityContext") or {}
    csc = c.get("securityContext") or {}
    if not (psc.get("runAsNonRoot") or csc.get("runAsNonRoot")):
        p("runAsNonRoot is not set")
    if (csc.get("runAsUser", psc.get("runAsUser")) or 0) == 0:
        p("runAsUser must be a non-root uid")
    if csc.get("readOnlyRootFilesystem") is not True:
        p("readOnlyRootFilesystem is not set")
    if csc.get("allowPrivilegeEscalation") is not False:
        p("allowPrivilegeEscalation must be false")
    req = (c.get("resources") or {}).get("requests") or {}
    for r in ("cpu", "memory"):
        if r not in req:
            p("resources.requests.%s is not set" % r)
    pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command")
    sleep = 0
    if pre and len(pre) == 2 and pre[0] == "sleep" and pre[1].isdigit():
        sleep = int(pre[1])
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < sleep + SHUTDOWN_S + 1:
        p("terminationGracePeriodSeconds %d does not cover preStop (%d s) and the "
          "node's shutdown (%d s)" % (grace, sleep, SHUTDOWN_S))


def check(directory, known_vars):
    problems = []
    if os.path.isfile(directory):  # a rendered stream (kubectl kustomize DIR > FILE)
        docs = load_stream(directory, os.path.basename(directory), problems)
    else:
        _, docs = load(directory, problems)
    by_kind = {}
    for name, doc in docs:
        if not isinstance(doc, dict):
            problems.append("%s: not a mapping" % name)
            continue
        key = (doc.get("apiVersion"), doc.get("kind"))
        schema = SCHEMAS.get(key)
        if schema is None:
            problems.append("%s: unknown apiVersion/kind %s/%s" % (name, key[0], key[1]))
            continue
        before = len(problems)
        check_schema(doc, schema, "%s %s" % (name, key[1]), problems)
        if len(problems) == before:
            by_kind.setdefault(key[1], []).append((name, doc))
    names = [(d["kind"], d["metadata"]["name"]) for _, d in docs
             if isinstance(d, dict) and isinstance(d.get("metadata"), dict)]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append("%s %s is defined twice" % dup)
    stss = by_kind.get("StatefulSet", [])
    if len(stss) != 1:
        problems.append("expected exactly one StatefulSet, found %d" % len(stss))
    if not by_kind.get("PodDisruptionBudget"):
        problems.append("no PodDisruptionBudget")
    services = [d for _, d in by_kind.get("Service", [])]
    if len(services) < 2:
        problems.append("expected a headless and a client Service")
    if not problems:
        for name, sts in stss:
            check_statefulset(name, sts, services,
                              [d for _, d in by_kind.get("PodDisruptionBudget", [])],
                              known_vars, problems)
    return problems, len(docs)


def main(argv):
    node_bin = os.environ.get("CAUSALKV_BIN", os.path.join(ROOT, "build", "causalkv"))
    args = list(argv)
    if args[:1] == ["--node-bin"]:
        node_bin = args[1]
        args = args[2:]
    directory = args[0] if args else os.path.join(ROOT, "deploy", "kubernetes")
    problems, n = check(directory, node_variables(node_bin))
    for pr in problems:
        print(pr)
    if problems:
        return 1
    print("check_k8s: %d documents in %s, schemas and cross-checks pass" % (n, directory))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
