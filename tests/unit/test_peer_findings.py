"""What the peers' test suites found, as pure rules: each test fails with the fix reverted."""

from __future__ import annotations

from contract_operator.core.planner import TopicState, plan
from contract_operator.core.snapshot import BrokerSnapshot
from contract_operator.core.status import desired_status

from .test_wiring import contract

GOOD = "onex.evt.router.routing-complete.v1"
BAD = "onex.evt.router.routing_complete.v1"


def _topic(result, key: str, name: str):  # type: ignore[no-untyped-def]
    (cp,) = [cp for cp in result.contracts if cp.contract.key == key]
    (t,) = [t for t in cp.topics if t.name == name]
    return cp, t


def test_the_status_carries_the_fix_validate_gives() -> None:
    router = contract("router", (BAD,))
    result = plan([router], BrokerSnapshot())
    cp, topic = _topic(result, router.key, BAD)
    assert topic.state is TopicState.INVALID
    assert f"Fix: Rename it to {GOOD}." in topic.message
    status = desired_status(cp, None, generation=1, now="2026-01-01T00:00:00Z")
    (provisioned,) = [c for c in status["conditions"] if c["type"] == "Provisioned"]
    assert f"Rename it to {GOOD}" in provisioned["message"]


def test_a_near_miss_beside_an_invalid_publisher_is_named() -> None:
    """routing-complete is validly published; routing_complete only by a rule breaker: the
    subscriber to routing_complete is pointed at routing-complete as well."""
    router = contract("router", (GOOD,))
    rogue = contract("rogue", (BAD,), node="router")  # breaks the pattern ('_')
    notifier = contract("notifier", (), (BAD,))
    result = plan([router, rogue, notifier], BrokerSnapshot())
    _, wire = _topic(result, notifier.key, BAD)
    assert wire.state is TopicState.ORPHANED
    assert "agents/rogue" in wire.message and "never created" in wire.message
    assert f"did you mean {GOOD}" in wire.message


def _misr(rf: int | None, misr: str) -> dict:  # type: ignore[type-arg]
    topic = {"name": "onex.evt.orders.placed.v1", "config": {"min.insync.replicas": misr}}
    return {**topic, "replicationFactor": rf} if rf else topic


def test_min_insync_above_the_declared_factor_is_warned_in_validate_and_status() -> None:
    from contract_operator.core.checks import check_contracts

    orders = contract("orders", (_misr(1, "3"),))
    (warning,) = [p for p in check_contracts([orders]) if p.code == "min-insync-above-replication"]
    assert "min.insync.replicas 3, above its replication factor 1" in warning.message
    assert "NOT_ENOUGH_REPLICAS" in warning.message and "at most 1" in warning.fix
    (cp,) = plan([orders], BrokerSnapshot()).contracts
    status = desired_status(cp, None, generation=1, now="2026-01-01T00:00:00Z")
    assert status["warnings"] and "NOT_ENOUGH_REPLICAS" in status["warnings"][0]
    fine = check_contracts([contract("orders", (_misr(3, "2"),))])
    assert not [p for p in fine if p.code == "min-insync-above-replication"]


def test_min_insync_above_the_cluster_default_factor_is_warned_when_rf_is_left_to_it() -> None:
    from contract_operator.core.snapshot import ClusterSettings

    orders = contract("orders", (_misr(None, "3"),))
    small = BrokerSnapshot(cluster=ClusterSettings(default_replication_factor=2))
    (cp,) = plan([orders], small).contracts
    (warning,) = [p for p in cp.problems if p.code == "min-insync-above-replication"]
    assert "the cluster's default replication factor 2" in warning.message
    big = BrokerSnapshot(cluster=ClusterSettings(default_replication_factor=3))
    assert not [p for p in plan([orders], big).problems if p.code.startswith("min-insync")]


def test_a_new_warning_posts_one_event() -> None:
    from contract_operator.core.status import transitions

    (cp,) = plan([contract("orders", (_misr(1, "3"),))], BrokerSnapshot()).contracts
    first = desired_status(cp, None, generation=1, now="2026-01-01T00:00:00Z")
    events = [t for t in transitions(None, first) if t.reason == "ContractWarning"]
    assert len(events) == 1 and events[0].type == "Warning"
    assert not [t for t in transitions(first, first) if t.reason == "ContractWarning"]


def test_an_auto_creating_broker_is_warned_and_explains_a_typo_on_the_broker() -> None:
    from contract_operator.core.snapshot import ClusterSettings

    notifier = contract("notifier", (), (BAD,))
    snapshot = BrokerSnapshot(
        all_names=frozenset({BAD}), cluster=ClusterSettings(auto_create_topics=True)
    )
    result = plan([notifier], snapshot)
    assert any(p.code == "broker-auto-creates-topics" for p in result.problems)
    _, wire = _topic(result, notifier.key, BAD)
    assert "probably auto-created by a consumer" in wire.message
    quiet = plan([notifier], BrokerSnapshot(all_names=frozenset({BAD})))
    assert not any(p.code == "broker-auto-creates-topics" for p in quiet.problems)


def test_dot_underscore_collisions_are_errors_under_any_pattern() -> None:
    from contract_operator.core.checks import check_contracts
    from contract_operator.core.naming import NamingRules

    rules = NamingRules(pattern=r"^(?P<producer>[a-z0-9]+)\.[a-z0-9._]+$", kinds=frozenset())
    first = contract("p1", ("p.a.b_c",), node="p")
    second = contract("p2", ("p.a_b.c",), node="p")
    found = [p for p in check_contracts([first, second], rules) if p.code == "topic-collision"]
    assert {p.topic for p in found} == {"p.a.b_c", "p.a_b.c"}
    # Against the broker: the topic already there is never the one at fault.
    (on_broker,) = [
        p
        for p in check_contracts([second], rules, known_topics={"p.a.b_c"})
        if p.code == "topic-collision"
    ]
    assert "collides with p.a.b_c (on the broker)" in on_broker.message
    result = plan(
        [second],
        BrokerSnapshot(all_names=frozenset({"p.a.b_c"})),
        __import__("contract_operator.core.planner", fromlist=["PlanOptions"]).PlanOptions(rules),
    )
    assert not result.to_create
    _, topic = _topic(result, second.key, "p.a_b.c")
    assert topic.state is TopicState.INVALID and "collides with p.a.b_c" in topic.message


def test_the_admission_webhook_warns_about_a_collision() -> None:
    from contract_operator.core.admission import FleetView, decide
    from contract_operator.core.naming import NamingRules

    rules = NamingRules(pattern=r"^(?P<producer>[a-z0-9]+)\.[a-z0-9._]+$", kinds=frozenset())
    view = FleetView([contract("p1", ("p.a.b_c",), node="p")], rules)
    decision = decide(contract("p2", ("p.a_b.c",), node="p"), view, BrokerSnapshot())
    assert any("collides with p.a.b_c" in line for line in decision.warning_lines())


def _paused(c):  # type: ignore[no-untyped-def]
    return c.model_copy(update={"paused": True})


def test_a_paused_contract_creates_nothing_and_says_how_to_resume() -> None:
    orders = _paused(contract("orders", ("onex.evt.orders.placed.v1",)))
    result = plan([orders], BrokerSnapshot())
    assert result.to_create == ()
    (cp,) = result.contracts
    assert cp.topics[0].state is TopicState.MISSING and "paused" in cp.topics[0].message
    status = desired_status(cp, None, generation=1, now="2026-01-01T00:00:00Z")
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Provisioned"]["reason"] == "ProvisioningPaused"
    assert "would be created" in conditions["Provisioned"]["message"]
    assert "remove it to resume" in conditions["Provisioned"]["message"]
    resumed = plan([contract("orders", ("onex.evt.orders.placed.v1",))], BrokerSnapshot())
    assert [r.name for r in resumed.to_create] == ["onex.evt.orders.placed.v1"]


def test_the_pause_annotation_is_read_from_the_manifest() -> None:
    from contract_operator.model.contract import Contract

    body = {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {"name": "o", "namespace": "n", "annotations": {"eventbus.dev/paused": "true"}},
        "spec": {"node": "o", "eventBus": {}},
    }
    assert Contract.from_manifest(body, "x").paused
    body["metadata"]["annotations"] = {"eventbus.dev/paused": "false"}
    assert not Contract.from_manifest(body, "x").paused
    body["metadata"]["annotations"] = {"eventbus.dev/paused": " TRUE "}
    assert Contract.from_manifest(body, "x").paused


def test_a_pause_value_other_than_true_or_false_pauses_and_says_so() -> None:
    from contract_operator.model.contract import Contract

    body = {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {"name": "o", "namespace": "n", "annotations": {"eventbus.dev/paused": "yes"}},
        "spec": {"node": "o", "eventBus": {"publishTopics": [{"name": "onex.evt.o.placed.v1"}]}},
    }
    unclear = Contract.from_manifest(body, "x")
    assert unclear.paused and unclear.pause_unclear == "yes"
    result = plan([unclear], BrokerSnapshot())
    assert result.to_create == ()
    (cp,) = result.contracts
    status = desired_status(cp, None, generation=1, now="2026-01-01T00:00:00Z")
    (warning,) = status["warnings"]
    assert '"yes", which is neither "true" nor "false"' in warning
    assert "remove the annotation" in warning


def test_admission_warns_when_a_paused_contract_declares_missing_topics() -> None:
    from contract_operator.core.admission import FleetView, decide

    orders = _paused(contract("orders", ("onex.evt.orders.placed.v1",)))
    decision = decide(orders, FleetView([]), BrokerSnapshot())
    assert any("not created while it stays paused" in line for line in decision.warning_lines())
    there = BrokerSnapshot(all_names=frozenset({"onex.evt.orders.placed.v1"}))
    assert not [w for w in decide(orders, FleetView([]), there).warning_lines() if "paused" in w]


def test_report_and_graph_show_paused_contracts() -> None:
    from contract_operator.core.graph import build_graph
    from contract_operator.core.report import build_report
    from contract_operator.core.report_text import render_text

    orders = _paused(contract("orders", ("onex.evt.orders.placed.v1",)))
    result = plan([orders], BrokerSnapshot())
    report = build_report(result)
    assert report.paused == ("agents/orders",)
    assert "Paused (1)" in render_text(report)
    (node,) = build_graph(result).contracts
    assert node.label.endswith("(paused)")


def test_creates_are_cut_to_what_the_kafka_controller_takes() -> None:
    """Kafka refuses a CreateTopics of more than 10,000 metadata records (one per topic,
    partition and config entry) as POLICY_VIOLATION; the adapter never sends one."""
    from confluent_kafka.admin import NewTopic

    from contract_operator.adapters.create_requests import (
        CREATE_RECORDS_PER_REQUEST,
        create_batches,
    )

    requests = [NewTopic(f"t{i}", 1, 1, config={"retention.ms": "1"}) for i in range(10_000)]
    batches = create_batches(requests)
    assert [r for b in batches for r in b] == requests
    assert all(sum(3 for _ in b) <= CREATE_RECORDS_PER_REQUEST for b in batches)
    assert CREATE_RECORDS_PER_REQUEST < 10_000 and len(batches) == 4
    assert len(create_batches(requests[:100])) == 1
