"""The chart's pod under podman, as a kubelet would run it; shared by test_image.py and
hack/bench_pod.py.

`render()` renders the chart, `Pod` starts the Deployment's one container with what a kubelet
would give it (user, read-only root, dropped capabilities, no privilege escalation, the memory
memory and CPU limits, env with Secret-backed values resolved, mounts, the in-cluster identity and
KUBERNETES_SERVICE_HOST/PORT, host network), `identity_files()` writes what a kubelet mounts at
/var/run/secrets/kubernetes.io/serviceaccount. Nothing here imports pytest.
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
from typing import Any, Protocol
from urllib.parse import urlparse

import helm_python as helm
import yaml
from kubernetes import client

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "contract-operator"
IMAGE_SH = ROOT / "hack" / "image.sh"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
RELEASE = "contract-operator"


class HasKubeconfig(Protocol):
    """A testbed: the tests' fixture value or hack/bench.py's Testbed."""

    kubeconfig: str


def build_image() -> str:
    """`hack/image.sh build`: the image `make image` builds (skipped while nothing changed)."""
    built = subprocess.run([str(IMAGE_SH), "build"], capture_output=True, text=True, timeout=1800)
    if built.returncode != 0:
        raise RuntimeError(f"hack/image.sh build failed:\n{built.stderr[-3000:]}")
    return built.stdout.strip().splitlines()[-1]


def podman() -> list[str]:
    return shlex.split(
        subprocess.run([str(IMAGE_SH), "podman"], capture_output=True, text=True, check=True).stdout
    )


def render(values: dict[str, Any], namespace: str, release: str = RELEASE) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name=release, namespace=namespace)
    return [
        d
        for path, text in manifests.items()
        if path.endswith(".yaml")
        for d in yaml.safe_load_all(text)
        if d
    ]


def chart_values(bootstrap: str, image: str, health: int, metrics: int) -> dict[str, Any]:
    """The chart's values for the testbed: its defaults, plus the SASL_SSL broker (Secret-backed
    credentials and CA), free probe/metrics ports on the host network, and this image."""
    return {
        "broker": {
            "bootstrapServers": bootstrap,
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


def memory_bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


def cpu_cores(quantity: str) -> float:
    """'500m' -> 0.5, '1' -> 1.0."""
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


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
        limit = self.memory_limit
        if limit:
            args += ["--memory", str(limit), "--memory-swap", str(limit)]
        cpus = self.container.get("resources", {}).get("limits", {}).get("cpu")
        if cpus:  # a CFS quota, as the kubelet sets for limits.cpu
            args += ["--cpus", str(cpu_cores(str(cpus)))]
        for item in self.container.get("env", []):
            if "value" in item:
                value = item["value"]
            elif "secretKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["secretKeyRef"]
                value = secrets[ref["name"]][ref["key"]]
            elif "fieldRef" in item.get("valueFrom", {}):
                value = self.name  # metadata.name: the pod's name
            else:
                raise ValueError(f"env {item['name']}: unsupported source {item}")
            args += ["-e", f"{item['name']}={value}"]
        host, port = service
        args += ["-e", f"KUBERNETES_SERVICE_HOST={host}", "-e", f"KUBERNETES_SERVICE_PORT={port}"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in self.container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                size = volume["emptyDir"].get("sizeLimit", "64Mi")
                args += ["--tmpfs", f"{mount['mountPath']}:rw,size={memory_bytes(size)},mode=1777"]
            else:
                args += ["-v", f"{files[mount['name']]}:{mount['mountPath']}:ro"]
        args += ["-v", f"{files['serviceaccount']}:{SA_DIR}:ro"]
        args += [image, *self.container.get("args", [])]
        self.args = args
        self.started = time.monotonic()  # just before `podman run`
        started = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if started.returncode != 0:
            raise RuntimeError(f"podman run failed: {started.stderr}")
        self.run_s = time.monotonic() - self.started  # `podman run -d` returned

    @property
    def memory_limit(self) -> int:
        """The container's memory limit in bytes (0: none)."""
        limit = self.container.get("resources", {}).get("limits", {}).get("memory")
        return memory_bytes(limit) if limit else 0

    def inspect(self) -> dict[str, Any]:
        out = subprocess.run(
            [*podman(), "inspect", self.name], capture_output=True, text=True, check=True
        ).stdout
        return json.loads(out)[0]  # type: ignore[no-any-return]

    def logs(self) -> str:
        done = subprocess.run([*podman(), "logs", self.name], capture_output=True, text=True)
        return done.stdout + done.stderr

    def port(self, name: str) -> int:
        """A container port by its name in the pod spec (host network: the same on the host)."""
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        return int(ports[name])

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
    kube: client.ApiClient, testbed: HasKubeconfig, release_ns: str, sa: str, directory: Path
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


def broker_ca(ca_file: str, directory: Path) -> Path:
    """The broker CA as the chart mounts it from its Secret (ca.crt, world-readable)."""
    ca_dir = directory / "broker-ca"
    ca_dir.mkdir()
    (ca_dir / "ca.crt").write_text(Path(ca_file).read_text())
    (ca_dir / "ca.crt").chmod(0o644)
    return ca_dir


def service_of(testbed: HasKubeconfig) -> tuple[str, int]:
    """KUBERNETES_SERVICE_HOST/PORT: the apiserver the kubeconfig points at."""
    server = yaml.safe_load(Path(testbed.kubeconfig).read_text())["clusters"][0]["cluster"][
        "server"
    ]
    url = urlparse(server)
    return str(url.hostname), int(url.port or 443)
