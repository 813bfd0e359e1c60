"""The chart's pod, run as a kubelet would: the real image under podman, against the testbed.

The Deployment is rendered from the chart (default values plus the testbed's SASL_SSL broker),
and its one container is started with what a kubelet would give it: the image, args and env
(Secret-backed SASL credentials resolved from the Secret the test creates), the user, a
read-only root filesystem, no capabilities, no privilege escalation, the memory limit and CPU
quota, the broker CA mounted where the chart mounts it, and the in-cluster identity: a
TokenRequest token for the chart's ServiceAccount, the apiserver CA and the namespace at the
standard path, and KUBERNETES_SERVICE_HOST/PORT. No kubeconfig. The pod pieces are in pod.py,
which hack/bench_pod.py uses too.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from .conftest import Testbed, free_port, wait_for
from .pod import (
    Pod,
    broker_ca,
    build_image,
    chart_values,
    identity_files,
    memory_bytes,
    render,
    service_of,
)
from .test_operator import NodeContracts, _nc
from .test_rbac import install_identity

pytestmark = [pytest.mark.image, pytest.mark.usefixtures("nodecontract_crd")]


@pytest.fixture(scope="session")
def image() -> str:
    """The image `make image` builds (built once; `make test` builds it before pytest)."""
    return build_image()


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
        **chart_values(testbed.secure_bootstrap_servers, image, health, metrics),
    }
    docs = render(values, release_ns)
    install_identity(kube, release_ns, values)
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    secrets = {
        "kafka-user": {"username": testbed.secure_username, "password": testbed.secure_password}
    }
    files = {
        "broker-ca": broker_ca(testbed.ca_file, tmp_path),
        "serviceaccount": identity_files(
            kube, testbed, release_ns, spec["serviceAccountName"], tmp_path
        ),
    }
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    ncs.apply(_nc("orders", node, [{"name": f"onex.evt.{node}.placed.v1"}]))
    started = time.monotonic()
    pod = Pod(spec, image, secrets, files, service_of(testbed))
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
        assert state["HostConfig"]["Memory"] == memory_bytes(limit)

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
