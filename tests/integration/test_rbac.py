"""The chart's RBAC, proved on the real RBAC-enabled kube-apiserver.

The rendered ServiceAccount, Role(s)/ClusterRole and bindings are applied as they are; a token
for that ServiceAccount (TokenRequest API) is then used to try what the operator does, which
must be allowed, and what it must never do, which must be refused with 403.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import helm_python as helm
import pytest
import yaml
from confluent_kafka.admin import AdminClient
from kubernetes import client, config, utils, watch

from contract_operator.model.contract import GROUP, PLURAL, VERSION

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "contract-operator"
RELEASE = "contract-operator"
IDENTITY_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
MERGE_PATCH = "application/merge-patch+json"


pytestmark = pytest.mark.usefixtures("nodecontract_crd")


class RunningTestbed(Protocol):
    """The `testbed` fixture of tests/integration/conftest.py."""

    kubeconfig: str
    bootstrap_servers: str


# --- the operator's identity, as the chart defines it ------------------------------------------


def install_identity(kube: client.ApiClient, release_ns: str, values: dict[str, Any]) -> None:
    """Render the chart and create exactly its ServiceAccount and RBAC objects."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=release_ns)
    for path, text in manifests.items():
        for doc in yaml.safe_load_all(text) if path.endswith(".yaml") else ():
            if doc and doc["kind"] in IDENTITY_KINDS:
                utils.create_from_dict(kube, doc, namespace=release_ns)


def login_as_operator(
    testbed: RunningTestbed, kube: client.ApiClient, release_ns: str, directory: Path
) -> Path:
    """A kubeconfig for the chart's ServiceAccount: same server and CA, a requested token."""
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    token = (
        client.CoreV1Api(kube)
        .create_namespaced_service_account_token(RELEASE, release_ns, request)
        .status.token
    )
    admin = yaml.safe_load(Path(testbed.kubeconfig).read_text())
    (context,) = [c for c in admin["contexts"] if c["name"] == admin["current-context"]]
    (cluster,) = [c for c in admin["clusters"] if c["name"] == context["context"]["cluster"]]
    path = directory / "operator.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [
                    {
                        "name": "operator",
                        "context": {"cluster": cluster["name"], "user": "operator"},
                    }
                ],
                "current-context": "operator",
            }
        )
    )
    return path


def allowed(call: Callable[[], object]) -> bool:
    """True when the apiserver lets the call through, False on 403; anything else is a bug."""
    try:
        call()
    except client.ApiException as exc:
        if exc.status == 403:
            return False
        raise
    return True


def eventually_allowed(call: Callable[[], object], seconds: float = 10) -> None:
    """New bindings reach the RBAC authorizer through an informer: allow it a moment."""
    deadline = time.monotonic() + seconds
    while not allowed(call):
        assert time.monotonic() < deadline, "the chart's RBAC never took effect"
        time.sleep(0.2)


def make_namespace(kube: client.ApiClient) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata={"name": name}))
    return name


def nodecontract(name: str, node: str, topics: list[str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": name},
        "spec": {
            "node": node,
            "eventBus": {
                "publishTopics": [
                    {"name": t, "partitions": 1, "replicationFactor": 1} for t in topics or []
                ]
            },
        },
    }


def attempts(operator: client.ApiClient, ns: str, other_ns: str) -> dict[str, Callable[[], object]]:
    """Everything worth trying as the operator, by name; "probe" exists in both namespaces."""
    custom = client.CustomObjectsApi(operator)
    core = client.CoreV1Api(operator)

    def watch_once() -> None:
        stream = watch.Watch().stream(
            custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, timeout_seconds=1
        )
        for _ in stream:
            break

    def post_and_patch_event() -> None:
        event = core.create_namespaced_event(
            ns,
            {
                "metadata": {"generateName": "probe-"},
                "involvedObject": {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "NodeContract",
                    "name": "probe",
                    "namespace": ns,
                },
                "reason": "Probe",
                "message": "RBAC probe",
                "type": "Normal",
            },
        )
        core.patch_namespaced_event(
            event.metadata.name, ns, {"message": "RBAC probe again"}, _content_type=MERGE_PATCH
        )

    annotate = {"metadata": {"annotations": {"eventbus.dev/probe": "1"}}}
    return {
        "get nodecontract": lambda: custom.get_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, "probe"
        ),
        "list nodecontracts": lambda: custom.list_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL
        ),
        "watch nodecontracts": watch_once,
        "patch nodecontract": lambda: custom.patch_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, "probe", annotate
        ),
        "patch nodecontract status": lambda: custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, PLURAL, "probe", {"status": {"observedGeneration": 1}}
        ),
        "post events": post_and_patch_event,
        "create nodecontract": lambda: custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, nodecontract("intruder", "intruder")
        ),
        "delete nodecontract": lambda: custom.delete_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, "probe"
        ),
        "read secrets": lambda: core.list_namespaced_secret(ns),
        "patch namespace": lambda: core.patch_namespace(
            ns, {"metadata": {"labels": {"probe": "1"}}}, _content_type=MERGE_PATCH
        ),
        "list nodecontracts in another namespace": lambda: custom.list_namespaced_custom_object(
            GROUP, VERSION, other_ns, PLURAL
        ),
        "list nodecontracts cluster-wide": lambda: custom.list_cluster_custom_object(
            GROUP, VERSION, PLURAL
        ),
    }


OPERATOR_NEEDS = {
    "get nodecontract",
    "list nodecontracts",
    "watch nodecontracts",
    "patch nodecontract",
    "patch nodecontract status",
    "post events",
}


@pytest.fixture
def other_namespace(kube: client.ApiClient, namespace: str) -> str:
    """A second namespace holding a NodeContract the namespaced operator must not see."""
    name = make_namespace(kube)
    custom = client.CustomObjectsApi(kube)
    for ns in (namespace, name):
        custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, nodecontract("probe", "probe")
        )
    return name


def test_namespaced_release_allows_only_what_the_operator_does_in_its_namespaces(
    testbed: RunningTestbed,
    kube: client.ApiClient,
    namespace: str,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    install_identity(kube, namespace, {"namespaces": [namespace]})
    operator = config.new_client_from_config(
        str(login_as_operator(testbed, kube, namespace, tmp_path))
    )
    tries = attempts(operator, namespace, other_namespace)
    eventually_allowed(tries["list nodecontracts"])

    granted = {name for name, call in tries.items() if allowed(call)}

    assert granted == OPERATOR_NEEDS


def test_all_namespaces_release_allows_the_same_verbs_everywhere_and_nothing_more(
    testbed: RunningTestbed,
    kube: client.ApiClient,
    namespace: str,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    install_identity(kube, namespace, {"namespaces": []})
    operator = config.new_client_from_config(
        str(login_as_operator(testbed, kube, namespace, tmp_path))
    )
    tries = attempts(operator, other_namespace, namespace)
    eventually_allowed(tries["list nodecontracts"])

    granted = {name for name, call in tries.items() if allowed(call)}

    assert granted == OPERATOR_NEEDS | {
        "list nodecontracts in another namespace",
        "list nodecontracts cluster-wide",
    }


# --- the real operator under the chart's identity ---------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def operator_process(
    testbed: RunningTestbed, kube: client.ApiClient, namespace: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    install_identity(kube, namespace, {"namespaces": [namespace]})
    kubeconfig = login_as_operator(testbed, kube, namespace, tmp_path)
    probe = client.CustomObjectsApi(config.new_client_from_config(str(kubeconfig)))
    eventually_allowed(
        lambda: probe.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    )
    log = tmp_path / "operator.log"
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "BOOTSTRAP_SERVERS": testbed.bootstrap_servers,
        "CONTRACT_OPERATOR_RESYNC_SECONDS": "2",
        "CONTRACT_OPERATOR_HEALTH_PORT": str(free_port()),
        "CONTRACT_OPERATOR_METRICS_PORT": str(free_port()),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "contract_operator", "run", "--namespace", namespace],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_operator_provisions_and_reports_with_only_the_charts_rbac(
    kube: client.ApiClient,
    namespace: str,
    admin: AdminClient,
    topic_prefix: str,
    operator_process: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, log = operator_process
    node = f"n{topic_prefix}"
    topic = f"onex.evt.{node}.thing-happened.v1"
    custom = client.CustomObjectsApi(kube)
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, nodecontract(node, node, [topic])
    )

    deadline = time.monotonic() + 60
    created = ready = False
    while not (created and ready):
        assert proc.poll() is None, f"operator exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, (
            f"after 60 s: topic created={created}, Ready condition={ready}\n{log.read_text()}"
        )
        created = topic in admin.list_topics(timeout=5).topics
        status = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, node)
        conditions = (status.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" for c in conditions)
        time.sleep(0.5)

    # Millisecond timestamps (",403") are not refusals; HTTP 403s and "forbidden" are.
    output = log.read_text()
    refusals = re.findall(r".*(?:forbidden|(?<![\d,.:])403(?!\d)).*", output, re.IGNORECASE)
    assert refusals == [], "\n".join(refusals)
