"""The create-only broker adapter and `plan`/`provision` against the real broker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from contract_operator.adapters.broker import Broker, BrokerError, BrokerSettings
from contract_operator.core.planner import TopicState, plan
from contract_operator.model.contract import Contract

from .conftest import Testbed, create_topic, wait_for


def _contract(node: str, topics: list[dict], subscribe: list[str] = ()) -> Contract:  # type: ignore[assignment]
    return Contract.from_manifest(
        {
            "node": node,
            "event_bus": {"publish_topics": topics, "subscribe_topics": list(subscribe)},
        },
        source=f"{node}.yaml",
    )


def _describe(admin: AdminClient, name: str) -> tuple[int, list[int], dict[str, tuple]]:
    """Everything observable about a topic: partition count, replica lists, every config entry."""
    md = admin.list_topics(topic=name, timeout=10).topics[name]
    (future,) = admin.describe_configs([ConfigResource("topic", name)]).values()
    entries = future.result(timeout=10)
    configs = {k: (e.value, e.source, e.is_default) for k, e in entries.items()}
    return len(md.partitions), [len(p.replicas) for p in md.partitions.values()], configs


def _node(prefix: str) -> str:
    return "n" + prefix.lower()


def _topic(prefix: str, event: str) -> str:
    return f"onex.evt.{_node(prefix)}.{event}.v1"


@pytest.fixture
def broker(testbed: Testbed) -> Broker:
    return Broker(BrokerSettings(testbed.bootstrap_servers, timeout_s=10))


def test_missing_topics_are_created_with_declared_settings(
    broker: Broker, admin: AdminClient, topic_prefix: str
) -> None:
    name = _topic(topic_prefix, "order-placed")
    contract = _contract(
        _node(topic_prefix),
        [
            {
                "name": name,
                "partitions": 4,
                "replication_factor": 1,
                "config": {"retention.ms": 604800000, "cleanup.policy": "compact"},
            }
        ],
    )
    result = plan([contract], broker.describe([name]))
    outcome = broker.create_missing(result.to_create)
    assert outcome.created == {name} and not outcome.failed

    partitions, replicas, configs = _describe(admin, name)
    assert partitions == 4 and replicas == [1] * 4
    assert configs["retention.ms"][0] == "604800000"
    assert configs["cleanup.policy"][0] == "compact"
    after = plan([contract], broker.describe([name]))
    assert after.to_create == ()
    assert after.contracts[0].topics[0].state is TopicState.PRESENT


def test_existing_topic_with_other_partitions_and_retention_is_reported_and_unchanged(
    broker: Broker, admin: AdminClient, topic_prefix: str
) -> None:
    name = _topic(topic_prefix, "invoice-issued")
    create_topic(admin, name, 2, **{"retention.ms": "3600000"})
    before = _describe(admin, name)
    contract = _contract(
        _node(topic_prefix),
        [{"name": name, "partitions": 6, "config": {"retention.ms": "604800000"}}],
    )

    result = plan([contract], broker.describe([name]))
    outcome = broker.create_missing(result.to_create)

    assert result.to_create == () and outcome.created == frozenset()
    (topic,) = result.contracts[0].topics
    assert topic.state is TopicState.DRIFTED
    assert {(d.field, d.declared, d.actual) for d in topic.drift} == {
        ("partitions", "6", "2"),
        ("retention.ms", "604800000", "3600000"),
    }
    assert _describe(admin, name) == before


def test_create_race_is_not_an_error(broker: Broker, admin: AdminClient, topic_prefix: str) -> None:
    name = _topic(topic_prefix, "raced")
    contract = _contract(_node(topic_prefix), [{"name": name, "partitions": 3}])
    result = plan([contract], broker.describe([name]))  # taken before anyone created it
    create_topic(admin, name)
    outcome = broker.create_missing(result.to_create)
    assert outcome.already_existed == {name} and not outcome.failed
    raced = plan([contract], broker.describe([name]), outcome=outcome)
    assert raced.contracts[0].topics[0].state is TopicState.DRIFTED


def test_broker_refusal_is_reported_per_topic(broker: Broker, topic_prefix: str) -> None:
    good, bad = _topic(topic_prefix, "good-one"), _topic(topic_prefix, "bad-config")
    contract = _contract(
        _node(topic_prefix),
        [{"name": good}, {"name": bad, "config": {"no.such.config": "1"}}],
    )
    outcome = broker.create_missing(plan([contract], broker.describe([good, bad])).to_create)
    assert outcome.created == {good}
    assert set(outcome.failed) == {bad} and "INVALID_CONFIG" in outcome.failed[bad]


def test_five_hundred_topics_cost_a_handful_of_admin_round_trips(
    testbed: Testbed, topic_prefix: str
) -> None:
    """Counted by librdkafka itself (protocol requests sent), not by our own bookkeeping."""
    stats: list[dict] = []
    admin = AdminClient(
        {
            **BrokerSettings(testbed.bootstrap_servers).client_config(),
            "statistics.interval.ms": 100,
            "stats_cb": lambda s: stats.append(json.loads(s)),
        }
    )
    broker = Broker(BrokerSettings(testbed.bootstrap_servers), admin=admin)
    node = _node(topic_prefix)
    topics = [{"name": f"onex.evt.{node}.e{i}.v1", "partitions": 1} for i in range(500)]
    contract = _contract(node, topics)
    names = [t["name"] for t in topics]

    outcome = broker.create_missing(plan([contract], broker.describe(names)).to_create)
    assert len(outcome.created) == 500
    # Every broker's metadata trails a create a moment; wait with a client of its own, so the
    # counted requests stay the adapter's.
    watcher = AdminClient({"bootstrap.servers": testbed.bootstrap_servers})
    wait_for(lambda: set(names) <= set(watcher.list_topics(timeout=10).topics), what="500 listed")
    again = plan([contract], broker.describe(names))
    assert {t.state for t in again.contracts[0].topics} == {TopicState.PRESENT}

    # librdkafka queues a report every 100 ms, served by poll(): wait for one made after the
    # last request ("ts" is librdkafka's monotonic clock in microseconds, CLOCK_MONOTONIC).
    after = time.monotonic() * 1e6
    wait_for(
        lambda: admin.poll(0.1) >= 0 and stats and stats[-1]["ts"] > after,
        10,
        what="a statistics report made after the last request",
    )
    sent: dict[str, int] = {}
    for b in stats[-1]["brokers"].values():
        for kind, count in b.get("req", {}).items():
            sent[kind] = sent.get(kind, 0) + count
    print("admin requests for 500 topics:", {k: v for k, v in sent.items() if v})
    assert sent.get("CreateTopics") == 1
    assert sent.get("DescribeConfigs", 0) <= 2
    # Metadata: the two listings and the topic ids (DescribeTopics is a Metadata request).
    assert sent.get("Metadata", 0) <= 8
    assert dict(broker.requests) == {
        "metadata": 2,
        "describe_topics": 1,
        "describe_configs": 1,
        "create_topics": 1,
    }


def test_unreachable_broker_fails_fast_with_a_clear_error() -> None:
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broker = Broker(BrokerSettings(f"127.0.0.1:{port}", timeout_s=2))
    started = time.monotonic()
    with pytest.raises(BrokerError) as error:
        broker.describe(["onex.evt.router.routing-complete.v1"])
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port}" in str(error.value)
    assert "check the address" in str(error.value)


def test_adapter_touches_only_read_calls_and_create_topics(
    testbed: Testbed, topic_prefix: str
) -> None:
    class Recording:
        def __init__(self, inner: AdminClient) -> None:
            self.inner, self.calls = inner, set()

        def __getattr__(self, attr: str):
            self.calls.add(attr)
            return getattr(self.inner, attr)

    recording = Recording(AdminClient(BrokerSettings(testbed.bootstrap_servers).client_config()))
    broker = Broker(BrokerSettings(testbed.bootstrap_servers), admin=recording)
    name = _topic(topic_prefix, "recorded")
    contract = _contract(_node(topic_prefix), [{"name": name}])
    outcome = broker.create_missing(plan([contract], broker.describe([name])).to_create)
    assert broker.after_create(outcome).topics[name].replication_factor == 3
    wait_for(lambda: broker.describe([name]).topics, what="the topic described")
    broker.consumer_groups()  # what `adopt` reads: groups, their members and offsets
    assert recording.calls == {
        "list_topics",
        "describe_configs",
        "create_topics",
        "describe_topics",
        "list_consumer_groups",
        "describe_consumer_groups",
        "list_consumer_group_offsets",
    }
    mutators = ("alter", "delete", "create_partitions", "incremental", "reset")
    assert not [m for m in dir(Broker) if any(word in m for word in mutators)]


# --- the CLI call sites -------------------------------------------------------------------


def _write_contract(tmp_path: Path, node: str, topic: str, partitions: int) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(
        f"node: {node}\nevent_bus:\n  publish_topics:\n"
        f"    - name: {topic}\n      partitions: {partitions}\n"
        f"      config: {{retention.ms: 604800000}}\n"
    )
    return path


def test_plan_then_provision_then_plan_again(
    testbed: Testbed, admin: AdminClient, tmp_path: Path, topic_prefix: str
) -> None:
    topic = _topic(topic_prefix, "shipment-sent")
    path = _write_contract(tmp_path, _node(topic_prefix), topic, 3)

    planned = testbed.cli("plan", str(path))
    assert planned.returncode == 2, planned.stderr
    assert f"+ {topic}" in planned.stdout
    assert topic not in admin.list_topics(timeout=10).topics  # plan is read-only

    provisioned = testbed.cli("provision", str(path))
    assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
    assert "Created (1)" in provisioned.stdout
    state = _describe(admin, topic)

    again = testbed.cli("provision", str(path), "--format", "json")
    assert again.returncode == 0
    report = json.loads(again.stdout)
    assert report["created"] == [] and report["in_sync"] == [topic]
    assert _describe(admin, topic) == state
    assert testbed.cli("plan", str(path)).returncode == 0


def test_plan_reports_drift_with_exit_code_3(
    testbed: Testbed, admin: AdminClient, tmp_path: Path, topic_prefix: str
) -> None:
    topic = _topic(topic_prefix, "stock-changed")
    create_topic(admin, topic)
    path = _write_contract(tmp_path, _node(topic_prefix), topic, 3)
    planned = testbed.cli("plan", str(path))
    assert planned.returncode == 3, planned.stdout + planned.stderr
    assert "partitions: declared 3, actual 1" in planned.stdout


def test_plan_with_unreachable_broker_exits_1_with_message(
    testbed: Testbed, tmp_path: Path
) -> None:
    path = _write_contract(tmp_path, "router", "onex.evt.router.routing-complete.v1", 1)
    result = testbed.cli(
        "plan", str(path), "--bootstrap-server", "127.0.0.1:1", "--broker-timeout", "2"
    )
    assert result.returncode == 1
    assert "cannot reach broker 127.0.0.1:1" in result.stderr
