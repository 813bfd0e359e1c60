"""The operator end to end: real apiserver, real broker, `contract-operator run` as a process."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource
from kubernetes import client

from contract_operator.model.contract import GROUP, PLURAL, VERSION

from .conftest import CYCLES, create_topic, free_port, metric, wait_cycles, wait_for


def _nc(name: str, node: str, publish: list[dict] = (), subscribe: list[str] = ()) -> dict:  # type: ignore[assignment]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": name},
        "spec": {
            "node": node,
            "eventBus": {"publishTopics": list(publish), "subscribeTopics": list(subscribe)},
        },
    }


class NodeContracts:
    def __init__(self, kube: client.ApiClient, namespace: str) -> None:
        self.api = client.CustomObjectsApi(kube)
        self.core = client.CoreV1Api(kube)
        self.ns = namespace

    def apply(self, body: dict) -> dict:
        return self.api.create_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, body)

    def get(self, name: str) -> dict:
        return self.api.get_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name)

    def delete(self, name: str) -> None:
        self.api.delete_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name)

    def condition(self, name: str, kind: str) -> dict[str, Any]:
        for c in (self.get(name).get("status") or {}).get("conditions") or []:
            if c["type"] == kind:
                return c
        return {}

    def wait_condition(self, name: str, kind: str, status: str, timeout: float = 30) -> dict:
        return wait_for(
            lambda: (c := self.condition(name, kind)).get("status") == status and c,
            timeout,
            what=f"{name} {kind}={status}",
        )

    def events(self, name: str) -> list[tuple[str, str]]:
        items = self.core.list_namespaced_event(
            self.ns, field_selector=f"involvedObject.name={name}"
        ).items
        return [(e.reason, e.message) for e in items]


def _topics(admin: AdminClient) -> set[str]:
    return set(admin.list_topics(timeout=10).topics)


def _describe(admin: AdminClient, name: str) -> tuple:
    md = admin.list_topics(topic=name, timeout=10).topics[name]
    (future,) = admin.describe_configs([ConfigResource("topic", name)]).values()
    configs = {k: (e.value, e.source) for k, e in future.result(timeout=10).items()}
    return len(md.partitions), configs


def _topic_id(admin: AdminClient, topic: str) -> str | None:
    from confluent_kafka import TopicCollection

    from contract_operator.adapters.broker import kafka_topic_id

    (future,) = admin.describe_topics(TopicCollection([topic])).values()
    try:
        return kafka_topic_id(future.result(timeout=10).topic_id)
    except Exception:  # unknown topic (deleted): no id
        return None


def _names(prefix: str) -> tuple[str, str]:
    node = "n" + prefix
    return node, f"onex.evt.{node}.order-placed.v1"


def test_applied_contract_gets_its_topic_and_becomes_ready(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    node, topic = _names(topic_prefix)
    ncs.apply(
        _nc(
            "orders",
            node,
            [{"name": topic, "partitions": 3, "config": {"retention.ms": "604800000"}}],
        )
    )

    ready = ncs.wait_condition("orders", "Ready", "True")
    assert ready["observedGeneration"] == 1
    partitions, configs = _describe(admin, topic)
    assert partitions == 3 and configs["retention.ms"][0] == "604800000"
    status = ncs.get("orders")["status"]
    assert status["observedGeneration"] == 1
    assert status["topics"][0]["name"] == topic
    assert status["topics"][0]["state"] in ("Created", "Present")
    wait_for(
        lambda: ("TopicCreated", f"created topic {topic}") in ncs.events("orders"),
        what="TopicCreated event",
    )


def test_preexisting_drifted_topic_is_reported_and_left_unchanged(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    node, topic = _names(topic_prefix)
    create_topic(admin, topic, 2, **{"retention.ms": "3600000"})
    before = _describe(admin, topic)
    port = free_port()
    start_operator(namespace, "--metrics-port", str(port))
    ncs = NodeContracts(kube, namespace)
    ncs.apply(
        _nc(
            "orders",
            node,
            [{"name": topic, "partitions": 6, "config": {"retention.ms": "604800000"}}],
        )
    )

    drifted = ncs.wait_condition("orders", "Drifted", "True")
    assert drifted["reason"] == "UnsafeDrift"  # the retention cut loses data
    assert ncs.condition("orders", "Ready")["status"] == "False"
    (entry,) = ncs.get("orders")["status"]["topics"]
    assert entry["state"] == "Drifted"
    assert {(d["field"], d["declared"], d["actual"], d.get("unsafe")) for d in entry["drift"]} == {
        ("partitions", "6", "2", None),
        ("retention.ms", "604800000", "3600000", True),
    }
    wait_cycles(port, 3)  # a couple of resync cycles
    assert _describe(admin, topic) == before
    # Events follow the status they describe, posted in the background.
    wait_for(
        lambda: any(reason == "UnsafeDrift" for reason, _ in ncs.events("orders")),
        15,
        what="an UnsafeDrift Event",
    )


def test_topic_deleted_on_the_broker_is_recreated_by_the_timer(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    node, topic = _names(topic_prefix)
    ncs.apply(_nc("orders", node, [{"name": topic, "partitions": 2}]))
    ncs.wait_condition("orders", "Ready", "True")

    before = _topic_id(admin, topic)
    admin.delete_topics([topic])[topic].result(10)  # out of band: the operator never deletes
    # Deleted and created again (a new topic id), by the timer: no contract changed.
    wait_for(lambda: _topic_id(admin, topic) not in (None, before), 30, what="topic recreated")
    # From the metadata: a broker that has not heard of the new topic yet refuses DescribeConfigs.
    wait_for(
        lambda: len(admin.list_topics(topic=topic, timeout=10).topics[topic].partitions) == 2,
        10,
        what="the declared 2 partitions",
    )


def test_broken_wire_suggests_the_name_and_heals_when_the_publisher_appears(
    kube, namespace, start_operator, topic_prefix
) -> None:
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    router = "r" + topic_prefix
    published = f"onex.evt.{router}.routing-complete.v1"
    typo = f"onex.evt.{router}.routing_complete.v1"
    ncs.apply(_nc("notifier", "notifier", subscribe=[typo]))
    ncs.apply(_nc("router", router, [{"name": published}]))

    wired = ncs.wait_condition("notifier", "Wired", "False")
    assert wired["reason"] == "BrokenWire"
    assert f"did you mean {published}" in wired["message"]
    assert ncs.get("notifier")["status"]["brokenWires"] == 1

    # The consumer is fixed; the publisher of a second wire appears later, untouched consumer heals.
    later = f"onex.evt.{router}.route-failed.v1"
    listener = _nc("listener", "listener", subscribe=[later])
    ncs.apply(listener)
    ncs.wait_condition("listener", "Wired", "False")
    body = ncs.get("router")
    body["spec"]["eventBus"]["publishTopics"].append({"name": later})
    ncs.api.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "router", body)
    ncs.wait_condition("listener", "Wired", "True")
    ncs.wait_condition("listener", "Ready", "True")
    wait_for(
        lambda: any(reason == "WireFixed" for reason, _ in ncs.events("listener")),
        15,
        what="a WireFixed Event",
    )


def test_conflict_names_the_older_contract(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    node, topic = _names(topic_prefix)
    ncs.apply(_nc("orders", node, [{"name": topic, "partitions": 3}]))
    ncs.wait_condition("orders", "Ready", "True")
    time.sleep(1.1)  # creationTimestamp has one-second resolution
    ncs.apply(_nc("orders-v2", node, [{"name": topic, "partitions": 12}]))

    provisioned = ncs.wait_condition("orders-v2", "Provisioned", "False")
    assert provisioned["reason"] == "TopicConflict"
    assert f"{namespace}/orders" in provisioned["message"]
    assert ncs.condition("orders", "Ready")["status"] == "True"
    assert _describe(admin, topic)[0] == 3


def test_broker_outage_is_a_condition_and_the_operator_recovers(
    kube, namespace, start_operator, own_broker, topic_prefix
) -> None:
    # No grace: this test is about the outage being reported, not about riding out a flap.
    op = start_operator(namespace, "--broker-grace-seconds", "0", bootstrap=own_broker.bootstrap)
    ncs = NodeContracts(kube, namespace)
    node, topic = _names(topic_prefix)
    ncs.apply(_nc("orders", node, [{"name": topic}]))
    ncs.wait_condition("orders", "Ready", "True")

    own_broker.stop()
    unknown = ncs.wait_condition("orders", "Provisioned", "Unknown", timeout=30)
    assert unknown["reason"] == "BrokerUnavailable"
    assert own_broker.bootstrap in unknown["message"]
    assert op.proc.poll() is None  # still running

    own_broker.start()
    ncs.wait_condition("orders", "Ready", "True", timeout=40)
    wait_for(
        lambda: (
            {"BrokerUnavailable", "BrokerAvailable"}
            <= {reason for reason, _ in ncs.events("orders")}
        ),
        15,
        what="BrokerUnavailable and BrokerAvailable Events",
    )


def test_restarted_operator_does_no_duplicate_work_and_keeps_statuses(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    first = start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    node, topic = _names(topic_prefix)
    ncs.apply(_nc("orders", node, [{"name": topic}]))
    ncs.wait_condition("orders", "Ready", "True")
    settled = ncs.get("orders")
    first.stop()
    events_before = len(ncs.events("orders"))

    port = free_port()
    second = start_operator(namespace, "--metrics-port", str(port))
    wait_for(lambda: _up(port), 15, what="second operator serving metrics")
    wait_cycles(port, 4)  # several resync cycles of the new process
    after = ncs.get("orders")
    assert after["status"] == settled["status"]
    assert after["metadata"]["resourceVersion"] == settled["metadata"]["resourceVersion"]
    assert metric(port, "contract_operator_status_writes_total") == 0
    assert len(ncs.events("orders")) == events_before
    assert "created" not in second.log().lower().replace("created by", "")


def _up(port: int) -> bool:
    try:
        metric(port, CYCLES)
    except OSError:
        return False
    return True


@pytest.mark.parametrize("declared", [False, True], ids=["cluster-defaults", "declared"])
def test_first_ready_status_is_complete_and_written_once(
    kube, namespace, start_operator, admin, topic_prefix, declared
) -> None:
    """A new contract costs one status write, and the status that first says Ready=True
    already carries the actual partitions and replication factor, whether the contract
    declares them or leaves them to the cluster (num.partitions=3, default RF 3 here: a
    create that sent 1 instead of -1 shows as 1)."""
    port = free_port()
    start_operator(namespace, "--metrics-port", str(port))
    wait_for(lambda: _up(port), 15, what="operator serving metrics")
    ncs = NodeContracts(kube, namespace)
    node, topic = _names(topic_prefix)
    settings = {"partitions": 3, "replicationFactor": 3} if declared else {}
    ncs.apply(_nc("orders", node, [{"name": topic, **settings}]))
    ncs.wait_condition("orders", "Ready", "True")
    status = ncs.get("orders")["status"]
    assert (
        status["topics"][0].items()
        >= {"state": "Present", "partitions": 3, "replicationFactor": 3}.items()
    )
    md = admin.list_topics(topic=topic, timeout=10).topics[topic]
    assert (len(md.partitions), len(md.partitions[0].replicas)) == (3, 3)
    version = ncs.get("orders")["metadata"]["resourceVersion"]
    wait_cycles(port, 4)  # idle resyncs: nothing new to write
    assert metric(port, "contract_operator_status_writes_total") == 1
    assert ncs.get("orders")["metadata"]["resourceVersion"] == version


def test_deleting_a_contract_keeps_its_topics_and_says_so(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    port = free_port()
    start_operator(namespace, "--metrics-port", str(port))
    ncs = NodeContracts(kube, namespace)
    node, topic = _names(topic_prefix)
    ncs.apply(_nc("orders", node, [{"name": topic}]))
    ncs.wait_condition("orders", "Ready", "True")
    ncs.delete("orders")
    wait_for(
        lambda: any(r == "TopicsKept" for r, _ in ncs.events("orders")), 15, what="TopicsKept event"
    )
    wait_cycles(port, 2)  # the cycles after the deletion leave the topic alone
    assert topic in _topics(admin)


def test_invalid_names_are_reported_not_created(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    node, _ = _names(topic_prefix)
    foreign = f"onex.evt.someone-else{topic_prefix}.thing-done.v1"
    ncs.apply(_nc("rogue", node, [{"name": foreign}]))
    provisioned = ncs.wait_condition("rogue", "Provisioned", "False")
    assert provisioned["reason"] == "InvalidTopicName"
    assert ncs.condition("rogue", "Ready")["status"] == "False"
    assert foreign not in _topics(admin)


def test_unowned_topics_are_counted_and_logged_once(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    from .conftest import free_port
    from .test_faults import _metric

    node, topic = _names(topic_prefix)
    left_behind = f"onex.evt.{node}.order-created.v1"  # the old name after a rename
    create_topic(admin, left_behind)
    metrics = free_port()
    op = start_operator(namespace, "--metrics-port", str(metrics))
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("orders", node, [{"name": topic}]))
    ncs.wait_condition("orders", "Ready", "True")
    wait_for(
        lambda: _metric(metrics, "contract_operator_unowned_topics") == 1,
        15,
        what="one unowned topic in the gauge",
    )
    wait_cycles(metrics, 3)  # several resyncs: the unchanged set is not logged again
    assert op.log().count(left_behind) == 1
