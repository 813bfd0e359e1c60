"""The chart's pod, run as a kubelet would: the real image under podman, against the testbed.

The Deployment is rendered from the chart (default values plus the testbed's SASL_SSL broker),
and its one container is started with what a kubelet would give it: the image, args and env
(Secret-backed SASL credentials resolved from the Secret the test creates), the user, a
read-only root filesystem, no capabilities, no privilege escalation, the memory limit, the
broker CA mounted where the chart mounts it, and the in-cluster identity: a TokenRequest token
for the chart's ServiceAccount, the apiserver CA and the namespace at the standard path, and
KUBERNETES_SERVICE_HOST/PORT. No kubeconfig.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import helm_python as helm
import pytest
import yaml
from kubernetes import client

from .conftest import ROOT, Testbed, free_port, wait_for
from .test_operator import NodeContracts, _nc
from .test_rbac import RELEASE, install_identity

pytestmark = [pytest.mark.image, pytest.mark.usefixtures("nodecontract_crd")]

CHART = ROOT / "helm" / "contract-operator"
IMAGE_SH = ROOT / "hack" / "image.sh"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="session")
def image() -> str:
    """The image `make image` builds (built once; `make test` builds it before pytest)."""
    built = subprocess.run([str(IMAGE_SH), "build"], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    return built.stdout.strip().splitlines()[-1]


def podman() -> list[str]:
    return shlex.split(
        subprocess.run([str(IMAGE_SH), "podman"], capture_output=True, text=True, check=True).stdout
    )


def render(values: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=namespace)
    return [
        d
        for path, text in manifests.items()
        if path.endswith(".yaml")
        for d in yaml.safe_load_all(text)
        if d
    ]


def _memory_bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


class Pod:
    """One container of a rendered pod spec, run by podman the way a kubelet runs it."""

    def __init__(
        self,
        spec: dict[str, Any],
        image: str,
        secrets: dict[str, dict[str, str]],
        files: dict[str, Path],
        service: tuple[str, int],
    ) -> None:
        (self.container,) = spec["containers"]
        self.spec, self.name = spec, f"co-pod-{uuid.uuid4().hex[:8]}"
        pod_sc, sc = spec.get("securityContext", {}), self.container.get("securityContext", {})
        args = [
            *podman(),
            "run",
            "-d",
            "--name",
            self.name,
            "--network",
            "host",
            "--user",
            f"{sc.get('runAsUser', pod_sc.get('runAsUser'))}:"
            f"{sc.get('runAsGroup', pod_sc.get('runAsGroup'))}",
        ]
        if sc.get("readOnlyRootFilesystem"):
            args.append("--read-only")
        for cap in sc.get("capabilities", {}).get("drop", []):
            args += ["--cap-drop", cap]
        if sc.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        limit = self.container.get("resources", {}).get("limits", {}).get("memory")
        if limit:
            args += [
                "--memory",
                str(_memory_bytes(limit)),
                "--memory-swap",
                str(_memory_bytes(limit)),
            ]
        for item in self.container.get("env", []):
            if "value" in item:
                value = item["value"]
            elif "secretKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["secretKeyRef"]
                value = secrets[ref["name"]][ref["key"]]
            elif "fieldRef" in item.get("valueFrom", {}):
                value = self.name  # metadata.name: the pod's name
            else:
                raise AssertionError(f"env {item['name']}: unsupported source {item}")
            args += ["-e", f"{item['name']}={value}"]
        host, port = service
        args += ["-e", f"KUBERNETES_SERVICE_HOST={host}", "-e", f"KUBERNETES_SERVICE_PORT={port}"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in self.container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                size = volume["emptyDir"].get("sizeLimit", "64Mi")
                args += ["--tmpfs", f"{mount['mountPath']}:rw,size={_memory_bytes(size)},mode=1777"]
            else:
                args += ["-v", f"{files[mount['name']]}:{mount['mountPath']}:ro"]
        args += ["-v", f"{files['serviceaccount']}:{SA_DIR}:ro"]
        args += [image, *self.container.get("args", [])]
        self.args = args
        started = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr

    def inspect(self) -> dict[str, Any]:
        out = subprocess.run(
            [*podman(), "inspect", self.name], capture_output=True, text=True, check=True
        ).stdout
        return json.loads(out)[0]  # type: ignore[no-any-return]

    def logs(self) -> str:
        done = subprocess.run([*podman(), "logs", self.name], capture_output=True, text=True)
        return done.stdout + done.stderr

    def probe(self, name: str) -> int:
        probe = self.container[name]["httpGet"]
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        port = ports.get(probe["port"], probe["port"])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe['path']}", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def stop(self, grace: int) -> tuple[float, int]:
        started = time.monotonic()
        subprocess.run(
            [*podman(), "stop", "-t", str(grace), self.name],
            capture_output=True,
            timeout=grace + 30,
        )
        took = time.monotonic() - started
        state = self.inspect()["State"]
        return took, int(state.get("ExitCode", -1))

    def remove(self) -> None:
        subprocess.run([*podman(), "rm", "-f", self.name], capture_output=True, timeout=60)


def identity_files(
    kube: client.ApiClient, testbed: Testbed, release_ns: str, sa: str, directory: Path
) -> Path:
    """What a kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(
            audiences=["https://kubernetes.default.svc"], expiration_seconds=3600
        )
    )
    token = client.CoreV1Api(kube).create_namespaced_service_account_token(sa, release_ns, request)
    sa_dir = directory / "serviceaccount"
    sa_dir.mkdir()
    (sa_dir / "token").write_text(token.status.token)
    kubeconfig = yaml.safe_load(Path(testbed.kubeconfig).read_text())
    ca = kubeconfig["clusters"][0]["cluster"]["certificate-authority"]
    (sa_dir / "ca.crt").write_text(Path(ca).read_text())
    (sa_dir / "namespace").write_text(release_ns)
    for f in sa_dir.iterdir():
        f.chmod(0o644)
    sa_dir.chmod(0o755)
    return sa_dir


def _service(testbed: Testbed) -> tuple[str, int]:
    server = yaml.safe_load(Path(testbed.kubeconfig).read_text())["clusters"][0]["cluster"][
        "server"
    ]
    url = urlparse(server)
    return str(url.hostname), int(url.port or 443)


def test_the_chart_pod_runs_as_a_kubelet_would(
    image: str,
    kube: client.ApiClient,
    testbed: Testbed,
    namespace: str,
    tmp_path: Path,
    topic_prefix: str,
) -> None:
    release_ns = f"co-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata={"name": release_ns}))
    health, metrics = free_port(), free_port()
    values = {
        "namespaces": [namespace],
        "broker": {
            "bootstrapServers": testbed.secure_bootstrap_servers,
            "securityProtocol": "SASL_SSL",
            "sasl": {"mechanism": "SCRAM-SHA-512", "existingSecret": "kafka-user"},
            "tls": {"caSecret": "kafka-ca"},
        },
        "health": {"port": health},
        "metrics": {"port": metrics},
        # The webhook needs a Service the apiserver can reach; no kube-proxy here.
        "admission": {"enabled": False},
        "image": {"repository": image.rsplit(":", 1)[0], "tag": image.rsplit(":", 1)[1]},
    }
    docs = render(values, release_ns)
    install_identity(kube, release_ns, values)
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    secrets = {
        "kafka-user": {"username": testbed.secure_username, "password": testbed.secure_password}
    }
    ca_dir = tmp_path / "broker-ca"
    ca_dir.mkdir()
    (ca_dir / "ca.crt").write_text(Path(testbed.ca_file).read_text())
    (ca_dir / "ca.crt").chmod(0o644)
    files = {
        "broker-ca": ca_dir,
        "serviceaccount": identity_files(
            kube, testbed, release_ns, spec["serviceAccountName"], tmp_path
        ),
    }
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    ncs.apply(_nc("orders", node, [{"name": f"onex.evt.{node}.placed.v1"}]))
    started = time.monotonic()
    pod = Pod(spec, image, secrets, files, _service(testbed))
    try:
        state = pod.inspect()
        user = state["Config"]["User"]
        assert user == "65532:65532", user
        assert state["HostConfig"]["ReadonlyRootfs"] is True
        # What the running process holds (its bounding and effective sets): none at all.
        status = Path(f"/proc/{state['State']['Pid']}/status").read_text()
        caps = dict(line.split(":\t") for line in status.splitlines() if line.startswith("Cap"))
        assert int(caps["CapBnd"], 16) == 0 and int(caps["CapEff"], 16) == 0, caps
        assert "no_new_privs" not in status or "NoNewPrivs:\t1" in status
        limit = spec["containers"][0]["resources"]["limits"]["memory"]
        assert state["HostConfig"]["Memory"] == _memory_bytes(limit)

        try:
            wait_for(lambda: pod.probe("readinessProbe") == 200, 60, what="/readyz 200")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{pod.logs()[-3000:]}") from None
        ready_s = time.monotonic() - started
        ncs.wait_condition("orders", "Ready", "True", timeout=60)
        contract_s = time.monotonic() - started
        assert pod.probe("livenessProbe") == 200
        print(
            f"\npod start -> /readyz 200 in {ready_s:.1f} s, contract Ready in {contract_s:.1f} s"
        )
        grace = int(spec.get("terminationGracePeriodSeconds", 30))
        took, code = pod.stop(grace)
        assert took < grace, f"SIGTERM took {took:.1f} s (grace {grace} s): {pod.logs()[-2000:]}"
        assert code in (0, 143), pod.logs()[-2000:]
    finally:
        log = pod.logs()
        pod.remove()
    assert "Traceback" not in log, log[-3000:]
