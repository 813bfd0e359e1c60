"""`report` and `graph` without PATH, on the real apiserver and broker: NodeContracts in two
namespaces, a drifted topic, a broken wire and a topic no contract owns."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from kubernetes import client

from contract_operator.adapters.broker import Broker, BrokerSettings
from contract_operator.core.exit_status import EXIT_ERROR, EXIT_OK, EXIT_UNOWNED
from tests.integration.conftest import Testbed, create_topic


def _namespace(kube: client.ApiClient) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata={"name": name}))
    return name


def _apply(
    kube: client.ApiClient,
    namespace: str,
    name: str,
    node: str,
    publish: list[dict[str, Any]] = (),  # type: ignore[assignment]
    subscribe: list[str] = (),  # type: ignore[assignment]
) -> None:
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        "eventbus.dev",
        "v1alpha1",
        namespace,
        "nodecontracts",
        {
            "apiVersion": "eventbus.dev/v1alpha1",
            "kind": "NodeContract",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "node": node,
                "eventBus": {"publishTopics": list(publish), "subscribeTopics": list(subscribe)},
            },
        },
    )


@pytest.fixture
def fleet(
    testbed: Testbed, kube: client.ApiClient, nodecontract_crd: dict, admin: AdminClient
) -> dict[str, str]:
    """router (namespace A) publishes a topic the broker has with 2 partitions instead of 6;
    notifier (namespace B) subscribes to routing_complete; route-decided is left behind."""
    p = f"r{uuid.uuid4().hex[:8]}"
    names = {
        "a": _namespace(kube),
        "b": _namespace(kube),
        "router": p,
        "routing": f"onex.evt.{p}.routing-complete.v1",
        "typo": f"onex.evt.{p}.routing_complete.v1",
        "left": f"onex.evt.{p}.route-decided.v1",
        "requests": f"onex.cmd.{p}-gw.route-request.v1",
    }
    create_topic(admin, names["routing"], 2)  # made by hand before the contract existed
    create_topic(admin, names["left"], 1)  # the router's old topic
    create_topic(admin, names["requests"], 1)
    _apply(
        kube,
        names["a"],
        "router",
        p,
        publish=[{"name": names["routing"], "partitions": 6, "replicationFactor": 1}],
        subscribe=[names["requests"]],
    )
    _apply(
        kube,
        names["a"],
        "gateway",
        f"{p}-gw",
        publish=[{"name": names["requests"], "partitions": 1, "replicationFactor": 1}],
    )
    _apply(kube, names["b"], "notifier", f"{p}-nt", subscribe=[names["typo"]])
    return names


def test_report_without_path_lists_drift_broken_wire_and_unowned_topic_across_namespaces(
    testbed: Testbed, fleet: dict[str, str]
) -> None:
    result = testbed.cli("report", "-n", fleet["a"], "-n", fleet["b"], "--format", "json")
    assert result.returncode == EXIT_ERROR, result.stderr  # the broken wire is an error
    data = json.loads(result.stdout)
    assert data["contracts"] == 3
    assert [(d["contract"], d["topic"]) for d in data["drift"]] == [
        (f"{fleet['a']}/router", fleet["routing"])
    ]
    assert {d["field"]: d["actual"] for d in data["drift"][0]["drift"]} == {"partitions": "2"}
    assert [(w["contract"], w["topic"], w["suggestion"]) for w in data["broken_wires"]] == [
        (f"{fleet['b']}/notifier", fleet["typo"], fleet["routing"])
    ]
    assert data["unowned"] == [
        {
            "producer": fleet["router"],
            "topics": [{"name": fleet["left"], "kind": "evt", "subscribers": [], "end_offset": 0}],
        }
    ]

    # Every namespace (the default): our findings are there among whatever else the cluster has.
    text = testbed.cli("report")
    assert text.returncode == EXIT_ERROR, text.stderr
    assert "Report: " in text.stdout and "all namespaces" in text.stdout
    assert f"~ {fleet['routing']}  ({fleet['a']}/router)" in text.stdout
    assert f"x {fleet['b']}/notifier subscribes to {fleet['typo']}" in text.stdout
    assert f"did you mean {fleet['routing']}?" in text.stdout
    assert f"? {fleet['left']}  empty (never written)" in text.stdout

    markdown = testbed.cli("report", "-n", fleet["b"], "--format", "markdown")
    assert markdown.returncode == EXIT_ERROR
    assert "#### Broken wires" in markdown.stdout and f"`{fleet['typo']}`" in markdown.stdout


def test_report_exit_status_for_a_clean_namespace_and_one_with_a_topic_left_behind(
    testbed: Testbed, kube: client.ApiClient, nodecontract_crd: dict, admin: AdminClient
) -> None:
    ns, node = _namespace(kube), f"c{uuid.uuid4().hex[:8]}"
    topic = f"onex.evt.{node}.done.v1"
    create_topic(admin, topic, 3)
    _apply(kube, ns, "clean", node, publish=[{"name": topic, "partitions": 3}])
    clean = testbed.cli("report", "-n", ns)
    assert clean.returncode == EXIT_OK, clean.stdout + clean.stderr
    assert "Summary: nothing wrong; 1 healthy" in clean.stdout

    left = f"onex.evt.{node}.old.v1"
    create_topic(admin, left, 2)
    producer = Producer({"bootstrap.servers": testbed.bootstrap_servers})
    for i in range(3):
        producer.produce(left, value=b"x", partition=i % 2)
    assert producer.flush(15) == 0
    leftover = testbed.cli("report", "-n", ns)
    assert leftover.returncode == EXIT_UNOWNED, leftover.stdout + leftover.stderr
    assert f"? {left}  written to (end offset 3)" in leftover.stdout


def test_report_with_an_unreachable_broker_exits_1_and_still_shows_the_wiring(
    testbed: Testbed, fleet: dict[str, str]
) -> None:
    result = testbed.cli(
        "report",
        "-n",
        fleet["b"],
        "--bootstrap-server",
        "127.0.0.1:1",
        "--broker-timeout",
        "2",
    )
    assert result.returncode == EXIT_ERROR
    assert "The broker could not be read" in result.stdout
    assert f"subscribes to {fleet['typo']}" in result.stdout


def test_graph_without_path_includes_both_namespaces_nodes(
    testbed: Testbed, fleet: dict[str, str]
) -> None:
    dot = testbed.cli("graph", "-n", fleet["a"], "-n", fleet["b"], "--format", "dot")
    assert dot.returncode == 0, dot.stderr
    for contract in ("a/router", "a/gateway", "b/notifier"):
        ns, name = contract.split("/")
        assert f'"{fleet[ns]}/{name}' in dot.stdout, contract
    assert "[broken wire]" in dot.stdout and "did you mean?" in dot.stdout
    assert "[unowned]" in dot.stdout and "[drift]" in dot.stdout

    everywhere = testbed.cli("graph")  # every namespace, Mermaid
    assert everywhere.returncode == 0, everywhere.stderr
    assert everywhere.stdout.startswith("flowchart LR")
    assert f"{fleet['a']}/router" in everywhere.stdout
    assert f"{fleet['b']}/notifier" in everywhere.stdout


def test_end_offsets_is_one_read_request_after_metadata(
    testbed: Testbed, admin: AdminClient
) -> None:
    class Recording:
        def __init__(self, inner: AdminClient) -> None:
            self.inner, self.calls = inner, []

        def __getattr__(self, attr: str) -> Any:
            self.calls.append(attr)
            return getattr(self.inner, attr)

    names = [f"onex.evt.o{uuid.uuid4().hex[:8]}.e{i}.v1" for i in range(3)]
    for name in names:
        create_topic(admin, name, 4)
    settings = BrokerSettings(testbed.bootstrap_servers)
    recording = Recording(AdminClient(settings.client_config()))
    broker = Broker(settings, admin=recording)
    offsets = broker.end_offsets([*names, "onex.evt.nobody.gone.v1"])
    assert offsets == {**dict.fromkeys(names, 0), "onex.evt.nobody.gone.v1": None}
    assert recording.calls == ["list_topics", "list_offsets"]
    assert broker.end_offsets([]) == {}
