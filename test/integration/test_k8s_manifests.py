"""The Kubernetes manifests (deploy/kubernetes) pass scripts/check_k8s.py, the offline
checker (minimal hand-written schemas and the StatefulSet's cross-checks; no cluster and
no schema fetched), and the checker rejects each kind of broken manifest: every case
below edits one line of a copy and expects the problem named.

Starts no node (only `causalkv --help`, for the variable names): no ckvtest slot."""

import os
import shutil
import subprocess
import tempfile
import unittest

from ckvtest import CAUSALKV_BIN, SOURCE_DIR

K8S = os.path.join(SOURCE_DIR, "deploy", "kubernetes")
CHECKER = os.path.join(SOURCE_DIR, "scripts", "check_k8s.py")
# Debian's python3-yaml (scripts/test.sh installs it) under the system python
PYTHON = "/usr/bin/python3"

STS = "statefulset.yaml"
VIEW0 = "causalkv-0.causalkv.$(POD_NAMESPACE).svc.cluster.local:13800"
VIEW1 = "causalkv-1.causalkv.$(POD_NAMESPACE).svc.cluster.local:13800"

# (file, text in it, replacement, what the checker must say)
BROKEN = [
    (STS, "serviceName: causalkv\n", "serviceName: causalkv-peers\n",
     "serviceName 'causalkv-peers' is not a Service"),
    (STS, "\n  serviceName: causalkv\n", "\n", "serviceName is required"),
    (STS, "  replicas: 4\n", "  replicas: 4\n  replicas 5\n", "not valid YAML"),
    (STS, "replicas: 4\n", "replicas: 6\n", "VIEW must be the 6 pods' names in order"),
    (STS, VIEW0 + "," + VIEW1, VIEW1 + "," + VIEW0, "VIEW must be the 4 pods' names"),
    (STS, '"$(POD_NAME).causalkv.', '"causalkv-0.causalkv.', "ADDRESS must be the pod's own"),
    (STS, 'value: "2"\n', 'value: "3"\n', "replicas 4 is not a multiple of REPL_FACTOR 3"),
    (STS, "              path: /healthz\n              port: http\n",
     "              path: /healthz\n              port: 8080\n",
     "readinessProbe port 8080 is no container port"),
    (STS, "              path: /livez\n              port: http\n            periodSeconds: 10",
     "              path: /healthz\n              port: http\n            periodSeconds: 10",
     "livenessProbe must ask /livez"),
    (STS, "readinessProbe:", "readinesProbe:", "unknown field 'readinesProbe'"),
    (STS, "- name: LOG_LEVEL\n", "- name: LOGLEVEL\n",
     "env LOGLEVEL is not a variable the node knows"),
    (STS, "- name: POD_NAMESPACE\n", "- name: POD_NS\n",
     "$(POD_NAMESPACE) is referenced but not defined"),
    (STS, "containerPort: 13800", 'containerPort: "13800"', "must be an integer"),
    (STS, "  selector:\n    matchLabels:\n      app.kubernetes.io/name: causalkv\n",
     "  selector:\n    matchLabels:\n      app.kubernetes.io/name: other\n",
     "selector.matchLabels does not match the pod template's labels"),
    (STS, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false",
     "readOnlyRootFilesystem is not set"),
    (STS, "runAsUser: 10001\n", "runAsUser: 0\n", "runAsUser must be a non-root uid"),
    (STS, "terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: 5",
     "terminationGracePeriodSeconds 5 does not cover preStop"),
    (STS, "value: /data\n", "value: /var/lib/causalkv\n",
     "DATA_DIR /var/lib/causalkv is not the mount of a volumeClaimTemplate"),
    (STS, "podManagementPolicy: Parallel", "podManagementPolicy: parallel",
     "'parallel' is not one of"),
    (STS, "              cpu: 250m\n", "", "resources.requests.cpu is not set"),
    ("service-headless.yaml", "publishNotReadyAddresses: true",
     "publishNotReadyAddresses: false", "must publishNotReadyAddresses"),
    ("service-headless.yaml", "clusterIP: None", "clusterIP: 10.0.0.10", "is not headless"),
    ("service-client.yaml", "targetPort: http", "targetPort: web",
     "Service causalkv-client port 'web' is no container port"),
    ("service-client.yaml", "    app.kubernetes.io/name: causalkv\n  ports:",
     "    app.kubernetes.io/name: causalkv-x\n  ports:",
     "Service causalkv-client does not select the pods"),
    ("poddisruptionbudget.yaml", "apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n",
     "unknown apiVersion/kind policy/v1beta1/PodDisruptionBudget"),
    ("poddisruptionbudget.yaml", "      app.kubernetes.io/name: causalkv\n",
     "      app.kubernetes.io/name: nothing\n", "PodDisruptionBudget causalkv does not select"),
    ("kustomization.yaml", "  - poddisruptionbudget.yaml\n", "",
     "poddisruptionbudget.yaml is not listed in kustomization.yaml"),
    ("kustomization.yaml", "  - service-client.yaml\n", "  - service-clients.yaml\n",
     "resource service-clients.yaml does not exist"),
]


class K8sManifests(unittest.TestCase):
    def run_checker(self, directory):
        r = subprocess.run([PYTHON, CHECKER, "--node-bin", CAUSALKV_BIN, directory],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_manifests_pass(self):
        rc, out = self.run_checker(K8S)
        self.assertEqual(rc, 0, out)
        self.assertIn("4 documents", out)

    def test_checker_rejects_broken_manifests(self):
        tmp = tempfile.mkdtemp(prefix="ckv-k8s-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for i, (name, old, new, want) in enumerate(BROKEN):
            with self.subTest(case=i, file=name, want=want):
                d = os.path.join(tmp, "case%d" % i)
                shutil.copytree(K8S, d)
                path = os.path.join(d, name)
                with open(path) as f:
                    text = f.read()
                self.assertIn(old, text, "the manifest changed: update this case")
                with open(path, "w") as f:
                    f.write(text.replace(old, new, 1))
                rc, out = self.run_checker(d)
                self.assertEqual(rc, 1, out)
                self.assertIn(want, out)

    def test_view_matches_replicas_by_hand(self):
        # independent of the checker: the VIEW names are causalkv-0 .. causalkv-(n-1)
        with open(os.path.join(K8S, STS)) as f:
            text = f.read()
        replicas = int(text.split("\n  replicas: ", 1)[1].split("\n", 1)[0])
        view = text.split("- name: VIEW\n", 1)[1].split('value: "', 1)[1].split('"', 1)[0]
        self.assertEqual(view.split(","), [
            "causalkv-%d.causalkv.$(POD_NAMESPACE).svc.cluster.local:13800" % i
            for i in range(replicas)])

    def test_kubectl_kustomize_renders(self):
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            print("SKIP kubectl kustomize: kubectl is not installed here (the checker "
                  "above validated the manifests offline)")
            self.skipTest("no kubectl")
        r = subprocess.run([kubectl, "kustomize", K8S], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("image: causalkv:0.1.0", r.stdout)
        # what would be applied passes the same checks
        tmp = tempfile.mkdtemp(prefix="ckv-k8s-")
        self.addCleanup(shutil.rmtree, tmp, True)
        rendered = os.path.join(tmp, "rendered.yaml")
        with open(rendered, "w") as f:
            f.write(r.stdout)
        rc, out = self.run_checker(rendered)
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
