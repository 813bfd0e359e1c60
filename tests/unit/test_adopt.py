"""core.adopt: contracts decided from an observed broker, with nothing guessed."""

from __future__ import annotations

import re

import pytest

from contract_operator.core.adopt import GroupReading, adopt, group_rule
from contract_operator.core.naming import NamingRules
from contract_operator.core.planner import TopicState, plan
from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic
from contract_operator.model.contract import Contract
from contract_operator.model.documents import contract_document
from contract_operator.model.limits import MAX_PUBLISH_TOPICS

from .factories import contract

RULES = NamingRules()
COMPLETE = "onex.evt.router.routing-complete.v1"
TYPO = "onex.evt.router.routing_complete.v1"
INVOICE = "onex.evt.billing.invoice-issued.v1"


def topic(name: str, partitions: int = 3, rf: int = 3, **dynamic: str) -> ObservedTopic:
    # A broker reports every config; only those set on the topic are "dynamic".
    config = {"retention.ms": "604800000", "segment.bytes": "1073741824", **dynamic}
    return ObservedTopic(name, partitions, rf, config, frozenset(dynamic))


def snapshot(*topics: ObservedTopic, extra: tuple[str, ...] = ()) -> BrokerSnapshot:
    return BrokerSnapshot(
        {t.name: t for t in topics}, frozenset(t.name for t in topics) | set(extra)
    )


def groups(**reads: list[str]) -> GroupReading:
    return GroupReading({g.replace("_", "-"): frozenset(t) for g, t in reads.items()})


RULE = [group_rule("{node}-consumer")]


def test_each_topic_declares_what_the_broker_has_and_only_configs_set_on_it() -> None:
    result = adopt(snapshot(topic(COMPLETE, 6, 2, **{"retention.ms": "3600000"})), groups(), RULES)
    (adopted,) = result.contracts
    (declared,) = adopted.spec.event_bus.publish_topics
    assert (adopted.name, adopted.spec.node) == ("router", "router")
    assert (declared.partitions, declared.replication_factor) == (6, 2)
    assert declared.config == {"retention.ms": "3600000"}  # segment.bytes is the default


def test_adopted_contracts_plan_with_no_drift_and_nothing_to_create() -> None:
    broker = snapshot(
        topic(COMPLETE, 6, 2, **{"retention.ms": "3600000", "cleanup.policy": "compact"}),
        topic(INVOICE, 1, 1, **{"min.insync.replicas": "1"}),
    )
    result = adopt(broker, groups(billing_consumer=[COMPLETE]), RULES, RULE)
    contracts = [
        Contract.from_manifest(contract_document(c.spec, "manifest", c.name, "agents"), "adopt")
        for c in result.contracts
    ]
    planned = plan(contracts, broker)
    assert planned.to_create == () and planned.drifted == ()
    states = {t.state for cp in planned.contracts for t in cp.topics if t.role == "publish"}
    assert states == {TopicState.PRESENT}
    assert not [p for cp in planned.contracts for p in cp.problems if p.is_error]


def test_subscriptions_come_from_mapped_groups_and_unmapped_groups_are_listed() -> None:
    broker = snapshot(topic(COMPLETE), topic(INVOICE))
    reading = groups(notifier_consumer=[COMPLETE, "__consumer_offsets"], spark_job=[INVOICE])
    result = adopt(broker, reading, RULES, RULE)
    by_node = {c.spec.node: c.spec.event_bus for c in result.contracts}
    assert by_node["notifier"].subscribe_topics == [COMPLETE]
    assert by_node["notifier"].publish_topics == []
    assert dict(result.unmapped_groups) == {"spark-job": frozenset({INVOICE})}


def test_a_rule_breaking_name_is_listed_with_validates_rename_and_its_reader_withheld() -> None:
    result = adopt(
        snapshot(topic(COMPLETE), topic(TYPO)), groups(notifier_consumer=[TYPO]), RULES, RULE
    )
    (breaker,) = result.rule_breakers
    assert breaker.topic == TYPO and breaker.fix.startswith(f"{COMPLETE} exists: point its readers")
    assert breaker.readers == ("notifier-consumer",)
    (withheld,) = result.withheld
    assert (withheld.node, withheld.topic) == ("notifier", TYPO)
    assert f"Subscribe to {COMPLETE} instead" in withheld.reason
    assert TYPO not in {t.name for c in result.contracts for t in c.spec.event_bus.publish_topics}
    assert "notifier" not in {c.spec.node for c in result.contracts}  # nothing left to write


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("onex.bad.router.x.v1", "Use one of the kinds"),
        ("onex.evnt.router.x.v1", "Rename it to onex.evt.router.x.v1."),
        ("LegacyOrders", "Rename it to onex.<kind>.<producer>.<event>.v<N>"),
        (TYPO, f"Rename it to {COMPLETE}."),  # no such topic yet: a rename, as validate says
    ],
)
def test_every_rule_breaker_gets_the_fix_validate_gives(name: str, expected: str) -> None:
    (breaker,) = adopt(snapshot(topic(name)), groups(), RULES).rule_breakers
    assert expected in breaker.fix


def test_topics_a_nodecontract_already_publishes_are_skipped_but_still_subscribed() -> None:
    owner = contract("router-nc", node="router", publish=[COMPLETE])
    result = adopt(
        snapshot(topic(COMPLETE), topic(INVOICE)),
        groups(billing_consumer=[COMPLETE]),
        RULES,
        RULE,
        existing=[owner],
    )
    assert dict(result.owned) == {COMPLETE: "agents/router-nc"}
    (billing,) = result.contracts
    assert [t.name for t in billing.spec.event_bus.publish_topics] == [INVOICE]
    assert billing.spec.event_bus.subscribe_topics == [COMPLETE]


def test_a_taken_name_gets_another_and_a_big_segment_is_split() -> None:
    many = [topic(f"onex.evt.router.e{i}.v1", 1, 1) for i in range(MAX_PUBLISH_TOPICS + 1)]
    result = adopt(snapshot(*many), groups(), RULES, taken_names={"router"})
    assert [c.name for c in result.contracts] == ["router-adopted", "router-2"]
    assert [len(c.spec.event_bus.publish_topics) for c in result.contracts] == [1000, 1]


def test_internal_topics_and_out_of_scope_topics_are_not_adopted() -> None:
    broker = snapshot(topic(COMPLETE), topic(INVOICE), topic("__consumer_offsets"))
    result = adopt(broker, groups(), RULES, scope=re.compile(r"\.billing\."))
    assert [c.spec.node for c in result.contracts] == ["billing"]
    assert adopt(broker, groups(), RULES).internal == ("__consumer_offsets",)


def test_a_subscription_to_a_topic_that_is_gone_is_withheld() -> None:
    result = adopt(snapshot(), groups(router_consumer=["onex.evt.gone.x.v1"]), RULES, RULE)
    (withheld,) = result.withheld
    assert "no topic of that name is on the broker" in withheld.reason


@pytest.mark.parametrize(
    ("rule", "group", "node"),
    [
        ("{node}-consumer", "billing-consumer", "billing"),
        ("{node}-consumer", "billing-consumer-2", None),  # the whole id must match
        ("svc.{node}", "svc.billing", "billing"),
        ("svc.{node}", "svcXbilling", None),  # the rest is literal, not a regex
        (r"^(?P<node>[a-z-]+)-v[0-9]+$", "billing-v2", "billing"),
        (r"(?P<node>.*)", "Not_A_Node", None),  # never a node the model would refuse
    ],
)
def test_group_rules(rule: str, group: str, node: str | None) -> None:
    result = adopt(
        snapshot(topic(INVOICE)), groups(**{group: [INVOICE]}), RULES, [group_rule(rule)]
    )
    mapped = {c.spec.node for c in result.contracts if c.spec.event_bus.subscribe_topics}
    assert mapped == ({node} if node else set())


@pytest.mark.parametrize("rule", ["consumer-(.*)", "(?P<node>", "{node}-{node}"])
def test_bad_group_rules_say_what_to_write(rule: str) -> None:
    with pytest.raises(ValueError, match="group rule"):
        group_rule(rule)


def test_a_rogue_declaration_owns_nothing_so_the_topic_is_still_adopted() -> None:
    rogue = contract("rogue", publish=[INVOICE])  # billing's segment: the producer rule
    result = adopt(snapshot(topic(INVOICE)), groups(), RULES, existing=[rogue])
    assert not result.owned
    assert [c.spec.node for c in result.contracts] == ["billing"]


def test_the_summary_lists_everything_left_out_with_its_fix() -> None:
    from contract_operator.core.adopt_summary import render_summary

    owner = contract("gateway", publish=["onex.evt.gateway.request-received.v1"])
    broker = snapshot(
        topic(COMPLETE),
        topic(TYPO),
        topic("onex.evt.gateway.request-received.v1"),
        topic("__consumer_offsets"),
    )
    reading = GroupReading(
        {"notifier-consumer": frozenset({TYPO}), "spark-job": frozenset({COMPLETE})},
        {"secret-group": "GROUP_AUTHORIZATION_FAILED: denied"},
    )
    text = render_summary(adopt(broker, reading, RULES, RULE, [owner]), "kafka:9092", ["a.yaml"])
    assert text.startswith(
        "Adopted 1 topic and 0 subscriptions into 1 contract (router) from broker kafka:9092."
    )
    for line in (
        "Wrote 1 file: a.yaml",
        "  = onex.evt.gateway.request-received.v1  (agents/gateway)",
        f"  ! {TYPO} does not match the naming pattern",
        f"      fix: {COMPLETE} exists: point its readers at {COMPLETE}",
        "      read by: notifier-consumer",
        f"  x notifier (group notifier-consumer) reads {TYPO}",
        f"  ? spark-job  reads 1 topic: {COMPLETE}",
        "  ? secret-group: GROUP_AUTHORIZATION_FAILED: denied",
        "Internal topics ignored: __consumer_offsets",
    ):
        assert line in text, line
