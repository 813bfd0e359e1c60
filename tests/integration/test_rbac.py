"""The chart's RBAC, proved on the real RBAC-enabled kube-apiserver.

The rendered ServiceAccount, Role(s)/ClusterRole and bindings are applied as they are; a token
for that ServiceAccount (TokenRequest API) is then used to try each verb: the apiserver must allow
exactly those adapters/permissions.py lists and refuse the rest with 403. Then the operator itself
runs on that token (standalone and with peering) and must work without a single 403.
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

from contract_operator.adapters import permissions
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


def install_from_chart(
    kube: client.ApiClient, release_ns: str, values: dict[str, Any], kinds: set[str]
) -> None:
    """Render the chart and create exactly its objects of these kinds (existing ones are kept)."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=release_ns)
    docs = [
        doc
        for path, text in manifests.items()
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc and doc["kind"] in kinds
    ]
    # CRDs first, and Established, before any object of their kind.
    for doc in sorted(docs, key=lambda d: d["kind"] != "CustomResourceDefinition"):
        if doc["kind"] == "CustomResourceDefinition":
            create_crd(kube, doc)
        elif doc["apiVersion"].startswith("kopf.dev/"):
            create_peering(kube, doc)
        else:
            utils.create_from_dict(kube, doc, namespace=release_ns)


def create_crd(kube: client.ApiClient, body: dict[str, Any]) -> None:
    api = client.ApiextensionsV1Api(kube)
    try:
        api.create_custom_resource_definition(body)
    except client.ApiException as exc:
        if exc.status != 409:  # kept from an earlier test, as the chart keeps it on uninstall
            raise
    deadline = time.monotonic() + 30
    while True:
        crd = api.read_custom_resource_definition(body["metadata"]["name"])
        if any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or []):
            return
        assert time.monotonic() < deadline, f"{body['metadata']['name']} never Established"
        time.sleep(0.1)


def create_peering(kube: client.ApiClient, body: dict[str, Any]) -> None:
    """A kopf peering object; retried while the apiserver starts serving a fresh CRD."""
    custom = client.CustomObjectsApi(kube)
    group, version = body["apiVersion"].split("/")
    namespace = body["metadata"].get("namespace")
    deadline = time.monotonic() + 30
    while True:
        try:
            if namespace:
                custom.create_namespaced_custom_object(
                    group, version, namespace, "kopfpeerings", body
                )
            else:
                custom.create_cluster_custom_object(group, version, "clusterkopfpeerings", body)
            return
        except client.ApiException as exc:
            if exc.status == 409:
                return
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def install_identity(kube: client.ApiClient, release_ns: str, values: dict[str, Any]) -> None:
    """The chart's ServiceAccount and RBAC objects, exactly as rendered."""
    install_from_chart(kube, release_ns, values, IDENTITY_KINDS)


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


Verb = tuple[str, str, str]  # (apiGroup, resource, verb), as in adapters/permissions.py
Attempt = tuple[Verb | None, Callable[[], object]]  # None: outside the operator's namespaces


def attempts(operator: client.ApiClient, ns: str, other_ns: str) -> dict[str, Attempt]:
    """Everything worth trying as the operator, by name and the verb it exercises; "probe" is a
    NodeContract and a KopfPeering in both namespaces."""
    custom = client.CustomObjectsApi(operator)
    core = client.CoreV1Api(operator)

    def watch_once(resource: str, group: str = GROUP, version: str = VERSION) -> None:
        stream = watch.Watch().stream(
            custom.list_namespaced_custom_object, group, version, ns, resource, timeout_seconds=1
        )
        for _ in stream:
            break

    probe_event = {
        "metadata": {"name": "probe-event"},
        "involvedObject": {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "NodeContract",
            "name": "probe",
            "namespace": ns,
        },
        "reason": "Probe",
        "message": "RBAC probe",
        "type": "Normal",
    }
    annotate = {"metadata": {"annotations": {"eventbus.dev/probe": "1"}}}
    peer = {"status": {"probe": {"priority": 0, "lifetime": 0, "lastseen": "2026-01-01T00:00:00"}}}
    status, peering = f"{PLURAL}/status", permissions.PEERING_GROUP
    return {
        "get nodecontract": (
            (GROUP, PLURAL, "get"),
            lambda: custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "probe"),
        ),
        "list nodecontracts": (
            (GROUP, PLURAL, "list"),
            lambda: custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL),
        ),
        "watch nodecontracts": ((GROUP, PLURAL, "watch"), lambda: watch_once(PLURAL)),
        "patch nodecontract": (
            (GROUP, PLURAL, "patch"),
            lambda: custom.patch_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, "probe", annotate
            ),
        ),
        "create nodecontract": (
            (GROUP, PLURAL, "create"),
            lambda: custom.create_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, nodecontract("intruder", "intruder")
            ),
        ),
        "delete nodecontract": (
            (GROUP, PLURAL, "delete"),
            lambda: custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "probe"),
        ),
        "get nodecontract status": (
            (GROUP, status, "get"),
            lambda: custom.get_namespaced_custom_object_status(GROUP, VERSION, ns, PLURAL, "probe"),
        ),
        "patch nodecontract status": (
            (GROUP, status, "patch"),
            lambda: custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, ns, PLURAL, "probe", {"status": {"observedGeneration": 1}}
            ),
        ),
        "create event": (
            ("", "events", "create"),
            lambda: core.create_namespaced_event(ns, probe_event),
        ),
        # Runs after "create event" (dicts keep their order): a repeat patches the same Event.
        "patch event": (
            ("", "events", "patch"),
            lambda: core.patch_namespaced_event(
                "probe-event", ns, {"count": 2}, _content_type=MERGE_PATCH
            ),
        ),
        "list events": (("", "events", "list"), lambda: core.list_namespaced_event(ns)),
        "get kopfpeering": (
            (peering, "kopfpeerings", "get"),
            lambda: custom.get_namespaced_custom_object(peering, "v1", ns, "kopfpeerings", "probe"),
        ),
        "list kopfpeerings": (
            (peering, "kopfpeerings", "list"),
            lambda: custom.list_namespaced_custom_object(peering, "v1", ns, "kopfpeerings"),
        ),
        "watch kopfpeerings": (
            (peering, "kopfpeerings", "watch"),
            lambda: watch_once("kopfpeerings", peering, "v1"),
        ),
        "patch kopfpeering": (
            (peering, "kopfpeerings", "patch"),
            lambda: custom.patch_namespaced_custom_object(
                peering, "v1", ns, "kopfpeerings", "probe", peer
            ),
        ),
        "delete kopfpeering": (
            (peering, "kopfpeerings", "delete"),
            lambda: custom.delete_namespaced_custom_object(
                peering, "v1", ns, "kopfpeerings", "probe"
            ),
        ),
        "read secrets": (("", "secrets", "list"), lambda: core.list_namespaced_secret(ns)),
        "patch namespace": (
            ("", "namespaces", "patch"),
            lambda: core.patch_namespace(
                ns, {"metadata": {"labels": {"probe": "1"}}}, _content_type=MERGE_PATCH
            ),
        ),
        "list nodecontracts in another namespace": (
            None,
            lambda: custom.list_namespaced_custom_object(GROUP, VERSION, other_ns, PLURAL),
        ),
        "list nodecontracts cluster-wide": (
            None,
            lambda: custom.list_cluster_custom_object(GROUP, VERSION, PLURAL),
        ),
    }


def expected(tries: dict[str, Attempt], needed: frozenset[Verb]) -> set[str]:
    return {name for name, (verb, _) in tries.items() if verb in needed}


def tried(tries: dict[str, Attempt]) -> set[str]:
    return {name for name, (_, call) in tries.items() if allowed(call)}


@pytest.fixture
def other_namespace(kube: client.ApiClient, namespace: str) -> str:
    """A second namespace; both hold a NodeContract and a KopfPeering named "probe"."""
    name = make_namespace(kube)
    install_from_chart(
        kube, namespace, {"namespaces": [namespace], "replicas": 2}, {"CustomResourceDefinition"}
    )
    custom = client.CustomObjectsApi(kube)
    for ns in (namespace, name):
        custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, nodecontract("probe", "probe")
        )
        create_peering(
            kube,
            {
                "apiVersion": "kopf.dev/v1",
                "kind": "KopfPeering",
                "metadata": {"name": "probe", "namespace": ns},
            },
        )
    return name


@pytest.mark.parametrize("replicas", [1, 2], ids=["standalone", "peering"])
def test_namespaced_release_allows_only_what_the_operator_does_in_its_namespaces(
    testbed: RunningTestbed,
    kube: client.ApiClient,
    namespace: str,
    other_namespace: str,
    tmp_path: Path,
    replicas: int,
) -> None:
    install_identity(kube, namespace, {"namespaces": [namespace], "replicas": replicas})
    operator = config.new_client_from_config(
        str(login_as_operator(testbed, kube, namespace, tmp_path))
    )
    tries = attempts(operator, namespace, other_namespace)
    eventually_allowed(tries["list nodecontracts"][1])

    needed = permissions.required(clusterwide=False, peering_on=replicas > 1)
    assert tried(tries) == expected(tries, needed)


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
    eventually_allowed(tries["list nodecontracts"][1])

    needed = permissions.required(clusterwide=True, peering_on=False)
    assert tried(tries) == expected(tries, needed) | {
        "list nodecontracts in another namespace",
        "list nodecontracts cluster-wide",
    }


# --- the real operator under the chart's identity ---------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["standalone", "peering"])
def operator_process(
    request: pytest.FixtureRequest,
    testbed: RunningTestbed,
    kube: client.ApiClient,
    namespace: str,
    tmp_path: Path,
) -> Iterator[tuple[subprocess.Popen[bytes], Path, bool]]:
    """The operator on the chart's token; with peering, also the chart's peering CRD and object."""
    peering = request.param == "peering"
    values = {"namespaces": [namespace], "replicas": 2 if peering else 1}
    install_from_chart(kube, namespace, values, {"CustomResourceDefinition", "KopfPeering"})
    install_identity(kube, namespace, values)
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
        # The chart's peering name is the release's full name.
        "CONTRACT_OPERATOR_PEERING": RELEASE if peering else "",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "contract_operator", "run", "--namespace", namespace],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, log, peering
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
    operator_process: tuple[subprocess.Popen[bytes], Path, bool],
) -> None:
    """Creates topics, writes status, posts an Event and then aggregates a repeat into it (a
    patch), and with peering keeps its peering entry alive: all on the chart's RBAC alone."""
    proc, log, peering = operator_process
    node = f"n{topic_prefix}"
    first, second = (f"onex.evt.{node}.{e}.v1" for e in ("thing-happened", "other-happened"))
    custom = client.CustomObjectsApi(kube)
    core = client.CoreV1Api(kube)

    def wait_until(what: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while not done():
            assert proc.poll() is None, f"operator exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"after 60 s: not {what}\n{log.read_text()}"
            time.sleep(0.5)

    def ready_with(topic: str) -> bool:
        body = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, node)
        conditions = (body.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return ready and topic in admin.list_topics(timeout=5).topics

    def topic_created_counts() -> list[int]:
        events = core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={node},reason=TopicCreated"
        ).items
        return [e.count for e in events]

    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, nodecontract(node, node, [first])
    )
    wait_until(f"Ready with {first}", lambda: ready_with(first))
    wait_until("a TopicCreated Event", lambda: topic_created_counts() == [1])

    # A second topic repeats the reason: the same Event is patched (count 2), none is created.
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, node, nodecontract(node, node, [first, second])
    )
    wait_until(f"Ready with {second}", lambda: ready_with(second))
    wait_until("the TopicCreated Event counted twice", lambda: topic_created_counts() == [2])

    if peering:  # kopf's keep-alive wrote this replica's entry into the chart's peering object
        body = custom.get_namespaced_custom_object(
            "kopf.dev", "v1", namespace, "kopfpeerings", RELEASE
        )
        assert len(body.get("status") or {}) == 1, body

    # Millisecond timestamps (",403") are not refusals; HTTP 403s and "forbidden" are.
    output = log.read_text()
    refusals = re.findall(r".*(?:forbidden|(?<![\d,.:])403(?!\d)).*", output, re.IGNORECASE)
    assert refusals == [], "\n".join(refusals)
