"""Controls a platform team expects, on the real testbed: pause a contract."""

from __future__ import annotations

import json
import time

from kubernetes import client

from contract_operator.model.contract import GROUP, PLURAL, VERSION

from .conftest import create_topic, free_port, metric, wait_cycles, wait_for
from .test_operator import NodeContracts, _nc


def _annotate(kube: client.ApiClient, ns: str, name: str, value: str | None) -> None:
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        PLURAL,
        name,
        {"metadata": {"annotations": {"eventbus.dev/paused": value}}},
    )


def test_pause_stops_creating_keeps_reporting_and_resume_creates_within_a_cycle(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    port = free_port()
    start_operator(namespace, "--metrics-port", str(port))
    wait_for(lambda: _up(port), 15, what="operator serving metrics")
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    first, second = f"onex.evt.{node}.placed.v1", f"onex.evt.{node}.shipped.v1"
    body = _nc("orders", node, [{"name": first}])
    body["metadata"]["annotations"] = {"eventbus.dev/paused": "true"}
    ncs.apply(body)
    paused = ncs.wait_condition("orders", "Provisioned", "False")
    assert paused["reason"] == "ProvisioningPaused"
    assert "would be created" in paused["message"] and "remove it to resume" in paused["message"]
    # A change made while paused creates nothing either.
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "orders",
        {"spec": {"eventBus": {"publishTopics": [{"name": first}, {"name": second}]}}},
    )
    wait_for(lambda: len(ncs.get("orders")["status"].get("topics", [])) == 2, 15, what="2 topics")
    wait_cycles(port, 3)
    listed = admin.list_topics(timeout=10).topics
    assert first not in listed and second not in listed
    assert (
        metric(port, "contract_operator_admin_requests_total", '{operation="create_topics"}') == 0
    )

    started = time.monotonic()
    _annotate(kube, namespace, "orders", None)
    ncs.wait_condition("orders", "Ready", "True")
    took = time.monotonic() - started
    print(f"\nannotation removed -> Ready in {took:.2f} s")
    listed = admin.list_topics(timeout=10).topics
    assert first in listed and second in listed


def _up(port: int) -> bool:
    try:
        metric(port, "contract_operator_reconcile_duration_seconds_count")
    except OSError:
        return False
    return True


def _topic_id(admin, topic: str) -> str | None:  # type: ignore[no-untyped-def]
    from .test_operator import _topic_id as read

    return read(admin, topic)


def test_a_topic_recreated_out_of_band_is_noticed_by_its_id(
    kube, namespace, start_operator, admin, topic_prefix, testbed
) -> None:

    port = free_port()
    start_operator(namespace, "--metrics-port", str(port), "--resync-seconds", "3")
    wait_for(lambda: _up(port), 15, what="operator serving metrics")
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    topic = f"onex.evt.{node}.placed.v1"
    ncs.apply(_nc("orders", node, [{"name": topic, "partitions": 1, "replicationFactor": 1}]))
    ncs.wait_condition("orders", "Ready", "True")
    first_id = ncs.get("orders")["status"]["topics"][0]["topicId"]
    assert first_id == _topic_id(admin, topic)

    wait_cycles(port, 1)  # right after a cycle: the next one is a resync (3 s) away
    admin.delete_topics([topic])[topic].result(10)
    wait_for(lambda: _topic_id(admin, topic) is None, 10, interval=0.05, what="deleted")
    create_topic(admin, topic)
    second_id = wait_for(lambda: _topic_id(admin, topic), 10, interval=0.05, what="re-created")
    wait_for(
        lambda: ncs.get("orders")["status"]["topics"][0].get("topicId") == second_id,
        15,
        what="the new topic id in the status",
    )
    ready = ncs.condition("orders", "Ready")
    assert "re-created outside the operator" in ready["message"]
    assert "consumer group's offsets" in ready["message"]
    wait_for(
        lambda: any(r == "TopicRecreated" for r, _ in ncs.events("orders")),
        15,
        what="a TopicRecreated Event",
    )
    assert metric(port, "contract_operator_topics_recreated_total") == 1
    assert ncs.get("orders")["status"]["topics"][0]["previousTopicId"] == first_id
    reported = testbed.cli("report", "-n", namespace, "--format", "json")
    (entry,) = json.loads(reported.stdout)["recreated"]
    assert (entry["topic"], entry["old_id"], entry["new_id"]) == (topic, first_id, second_id)

    # Deleted again: this time the operator re-creates it, and says so.
    admin.delete_topics([topic])[topic].result(10)
    wait_for(
        lambda: any(
            "re-created by it from the contract" in m
            for r, m in ncs.events("orders")
            if r == "TopicRecreated"
        ),
        30,
        what="a TopicRecreated Event naming the operator",
    )


def test_a_topic_recreated_while_no_operator_ran_is_noticed_at_start(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    """The status records the id, so the first cycle after a restart compares with it."""
    op = start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    topic = f"onex.evt.n{topic_prefix}.placed.v1"
    ncs.apply(_nc("orders", f"n{topic_prefix}", [{"name": topic, "partitions": 1}]))
    ncs.wait_condition("orders", "Ready", "True")
    first_id = ncs.get("orders")["status"]["topics"][0]["topicId"]
    op.stop()
    admin.delete_topics([topic])[topic].result(10)
    wait_for(lambda: _topic_id(admin, topic) is None, 10, interval=0.05, what="deleted")
    create_topic(admin, topic)
    second_id = wait_for(lambda: _topic_id(admin, topic), 10, interval=0.05, what="re-created")

    start_operator(namespace)
    wait_for(
        lambda: ncs.get("orders")["status"]["topics"][0].get("previousTopicId") == first_id,
        30,
        what="previousTopicId after the restart",
    )
    assert ncs.get("orders")["status"]["topics"][0]["topicId"] == second_id
    wait_for(
        lambda: any(r == "TopicRecreated" for r, _ in ncs.events("orders")),
        15,
        what="a TopicRecreated Event",
    )


def _label(kube: client.ApiClient, ns: str, name: str, cluster: str) -> None:
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, name, {"metadata": {"labels": {"kafka-cluster": cluster}}}
    )


def test_selector_splits_the_fleet_and_wiring_stays_on_one_cluster(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    port = free_port()
    start_operator(namespace, "--selector", "kafka-cluster=a", "--metrics-port", str(port))
    wait_for(lambda: _up(port), 15, what="operator serving metrics")
    ncs = NodeContracts(kube, namespace)
    mine, theirs = f"m{topic_prefix}", f"o{topic_prefix}"
    own, other = f"onex.evt.{mine}.placed.v1", f"onex.evt.{theirs}.placed.v1"
    body = _nc("mine", mine, [{"name": own}], subscribe=[other])
    body["metadata"]["labels"] = {"kafka-cluster": "a"}
    ncs.apply(body)
    body = _nc("theirs", theirs, [{"name": other}])
    body["metadata"]["labels"] = {"kafka-cluster": "b"}
    ncs.apply(body)
    # Only another cluster's contract publishes `other`: a broken wire on this cluster.
    wired = ncs.wait_condition("mine", "Wired", "False")
    assert wired["reason"] == "BrokenWire"
    assert own in admin.list_topics(timeout=10).topics
    assert "status" not in ncs.get("theirs")
    assert other not in admin.list_topics(timeout=10).topics

    started = time.monotonic()
    _label(kube, namespace, "theirs", "a")  # starts matching: picked up
    ncs.wait_condition("theirs", "Ready", "True")
    ncs.wait_condition("mine", "Wired", "True")
    print(f"\nlabel changed -> managed and Ready in {time.monotonic() - started:.2f} s")

    _label(kube, namespace, "theirs", "b")  # stops matching: let go
    wait_for(lambda: ncs.condition("mine", "Wired").get("status") == "False", 15, what="let go")
    later = f"onex.evt.{theirs}.shipped.v1"
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "theirs",
        {"spec": {"eventBus": {"publishTopics": [{"name": other}, {"name": later}]}}},
    )
    wait_for(lambda: "NotSelected" in {r for r, _ in ncs.events("theirs")}, 15, what="NotSelected")
    wait_cycles(port, 3)
    assert later not in admin.list_topics(timeout=10).topics
    # Let go is not deleted: no "NodeContract deleted; its topics stay" Event.
    assert "TopicsKept" not in {r for r, _ in ncs.events("theirs")}
