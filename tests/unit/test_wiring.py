"""Wiring across contracts: broken wires and their bug shapes, unconsumed topics, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from contract_operator.core.checks import check_contracts
from contract_operator.core.planner import TopicState, plan
from contract_operator.core.problems import Severity
from contract_operator.core.snapshot import BrokerSnapshot
from contract_operator.core.wiring import Shape, check_wiring, near_misses, shape_of, suggest
from contract_operator.model.contract import Contract


def contract(
    name: str,
    publish: tuple[str | dict[str, Any], ...] = (),
    subscribe: tuple[str, ...] = (),
    *,
    node: str | None = None,
    created: str | None = None,
) -> Contract:
    metadata: dict[str, Any] = {"name": name, "namespace": "agents"}
    if created:
        metadata["creationTimestamp"] = created
    topics = [{"name": t} if isinstance(t, str) else t for t in publish]
    obj = {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": metadata,
        "spec": {
            "node": node or name,
            "eventBus": {"publishTopics": topics, "subscribeTopics": list(subscribe)},
        },
    }
    return Contract.from_manifest(obj, f"{name}.yaml")


def test_hyphen_vs_underscore_subscription_suggests_the_published_name() -> None:
    assert suggest(
        "onex.evt.router.routing_complete.v1", ["onex.evt.router.routing-complete.v1"]
    ) == ("onex.evt.router.routing-complete.v1",)
    assert shape_of(
        "onex.evt.router.routing_complete.v1", "onex.evt.router.routing-complete.v1"
    ) == (Shape.SEPARATOR)


def test_case_difference_is_the_separator_shape() -> None:
    assert shape_of(
        "onex.evt.router.Routing-Complete.v1", "onex.evt.router.routing-complete.v1"
    ) == (Shape.SEPARATOR)


@pytest.mark.parametrize(
    ("subscribed", "published"),
    [
        ("onex.cmd.gateway.route-request.v1", "onex.cmd.gateway.routes-request.v1"),
        ("onex.evt.policy-engine.policy-updated.v1", "onex.evt.policy-engine.policies-updated.v1"),
        ("onex.evt.deploy.statuses-changed.v1", "onex.evt.deploy.status-changed.v1"),
    ],
)
def test_singular_vs_plural_segment_is_named_as_such(subscribed: str, published: str) -> None:
    assert shape_of(subscribed, published) is Shape.PLURAL
    assert suggest(subscribed, [published, "onex.evt.router.routing-complete.v1"]) == (published,)


def test_other_version_suffix_is_suggested() -> None:
    misses = near_misses(
        "onex.evt.inventory.stock-reserved.v1", ["onex.evt.inventory.stock-reserved.v2"]
    )
    assert [(m.name, m.shape) for m in misses] == [
        ("onex.evt.inventory.stock-reserved.v2", Shape.VERSION)
    ]


def test_one_renamed_segment_is_suggested() -> None:
    misses = near_misses(
        "onex.evt.payments.payment-completed.v1", ["onex.evt.payments.payment-settled.v1"]
    )
    assert [m.shape for m in misses] == [Shape.RENAMED_SEGMENT]


def test_renamed_producer_segment_is_a_renamed_segment_too() -> None:
    assert shape_of(
        "onex.evt.router.routing-complete.v1", "onex.evt.router-v2.routing-complete.v1"
    ) is (Shape.RENAMED_SEGMENT)


def test_two_differing_segments_fall_back_to_a_close_spelling() -> None:
    # "a version and a typo" is no single shape, but still close enough to name.
    assert shape_of(
        "onex.evt.router.routng-complete.v2", "onex.evt.router.routing-complete.v1"
    ) is (Shape.SIMILAR)


def test_unrelated_topic_gets_no_suggestion() -> None:
    assert suggest("onex.evt.billing.invoice-paid.v1", ["onex.cmd.gateway.route-request.v1"]) == ()


def test_the_most_specific_shape_is_suggested_first() -> None:
    candidates = [
        "onex.evt.router.routing-failed.v1",  # renamed segment
        "onex.evt.router.routing-complete.v2",  # version
        "onex.evt.router.routing-complete.v1",  # separator
    ]
    assert suggest("onex.evt.router.routing_complete.v1", candidates) == (
        "onex.evt.router.routing-complete.v1",
        "onex.evt.router.routing-complete.v2",
        "onex.evt.router.routing-failed.v1",
    )


def test_broken_wire_message_names_the_subscriber_the_suggestion_and_its_publisher() -> None:
    router = contract("router", publish=("onex.evt.router.routing-complete.v1",))
    consumer = contract("router-consumer", subscribe=("onex.evt.router.routing_complete.v1",))
    (problem,) = [p for p in check_wiring([router, consumer]).problems() if p.is_error]
    assert problem.message == (
        "agents/router-consumer subscribes to onex.evt.router.routing_complete.v1, which no "
        "contract publishes. Did you mean onex.evt.router.routing-complete.v1 (published by "
        "agents/router)?"
    )
    assert problem.fix.startswith("Subscribe to onex.evt.router.routing-complete.v1 instead")
    assert (problem.source, problem.field) == (
        "router-consumer.yaml",
        "spec.eventBus.subscribeTopics[0]",
    )


def test_subscription_without_any_near_miss_is_still_broken() -> None:
    consumer = contract("ledger", subscribe=("onex.evt.payments.payment-settled.v1",))
    (wire,) = check_wiring([consumer]).broken_wires
    assert (wire.contract, wire.suggestions, wire.reason) == (
        "agents/ledger",
        (),
        "no contract publishes it",
    )


def test_subscription_to_a_topic_left_on_the_broker_says_it_used_to_exist() -> None:
    payments = contract("payments", publish=("onex.evt.payments.payment-settled.v1",))
    ledger = contract("ledger", subscribe=("onex.evt.payments.payment-completed.v1",))
    report = check_wiring(
        [payments, ledger], known_topics={"onex.evt.payments.payment-completed.v1"}
    )
    (wire,) = report.broken_wires
    assert wire.stale
    assert wire.suggestions == ("onex.evt.payments.payment-settled.v1",)
    assert "still exists on the broker" in report.problems()[0].message


def test_wired_subscription_is_not_broken() -> None:
    router = contract("router", publish=("onex.evt.router.routing-complete.v1",))
    notifier = contract("notifier", subscribe=("onex.evt.router.routing-complete.v1",))
    report = check_wiring([router, notifier])
    assert report.broken_wires == [] and report.unconsumed == [] and report.problems() == []


def test_topic_nobody_subscribes_to_is_info_not_error() -> None:
    router = contract("router", publish=("onex.evt.router.routing-complete.v1",))
    (problem,) = check_wiring([router]).problems()
    assert (problem.severity, problem.code) == (Severity.INFO, "unconsumed")


def test_two_publishers_with_other_partitions_conflict_and_the_oldest_wins() -> None:
    topic = "onex.evt.search.document-indexed.v1"
    newer = contract(
        "search-a",
        ({"name": topic, "partitions": 6},),
        node="search",
        created="2024-06-01T00:00:00Z",
    )
    older = contract(
        "search-b",
        ({"name": topic, "partitions": 12},),
        node="search",
        created="2024-01-01T00:00:00Z",
    )
    (conflict,) = check_wiring([newer, older]).conflicts
    assert (conflict.winner, conflict.losers) == ("agents/search-b", ("agents/search-a",))
    (difference,) = conflict.differences
    assert difference.field == "partitions"
    assert difference.values == (("agents/search-b", "12"), ("agents/search-a", "6"))


def test_declarations_without_timestamps_fall_back_to_key_order() -> None:
    topic = "onex.evt.search.document-indexed.v1"
    b = contract("search-b", ({"name": topic, "partitions": 6},), node="search")
    a = contract("search-a", ({"name": topic, "partitions": 12},), node="search")
    (conflict,) = check_wiring([b, a]).conflicts
    assert conflict.winner == "agents/search-a"


def test_declaration_in_the_cluster_is_older_than_one_in_a_file() -> None:
    topic = "onex.evt.search.document-indexed.v1"
    in_file = contract("search-a", ({"name": topic, "partitions": 12},), node="search")
    in_cluster = contract(
        "search-z",
        ({"name": topic, "partitions": 6},),
        node="search",
        created="2024-01-01T00:00:00Z",
    )
    assert check_wiring([in_file, in_cluster]).conflicts[0].winner == "agents/search-z"


def test_config_declared_by_only_one_publisher_is_a_conflict() -> None:
    topic = "onex.evt.search.document-indexed.v1"
    a = contract("search-a", ({"name": topic, "config": {"retention.ms": 1000}},), node="search")
    b = contract("search-b", ({"name": topic},), node="search")
    (conflict,) = check_wiring([a, b]).conflicts
    assert [(d.field, d.values) for d in conflict.differences] == [
        ("config.retention.ms", (("agents/search-a", "1000"), ("agents/search-b", "(unset)")))
    ]
    (problem,) = [p for p in check_wiring([a, b]).problems() if p.code == "conflict"]
    assert problem.contract == "agents/search-b"
    assert "config.retention.ms=(unset)" in problem.message


def test_identical_declarations_by_two_contracts_are_not_a_conflict() -> None:
    topic = {"name": "onex.evt.search.document-indexed.v1", "partitions": 6}
    a = contract("search-a", (topic,), node="search")
    b = contract("search-b", (dict(topic),), node="search")
    assert check_wiring([a, b]).conflicts == []


def test_malformed_subscription_with_a_suggestion_is_reported_once_as_a_broken_wire() -> None:
    router = contract("router", publish=("onex.evt.router.routing-complete.v1",))
    consumer = contract("router-consumer", subscribe=("onex.evt.router.routing_complete.v1",))
    assert [p.code for p in check_contracts([router, consumer]) if p.is_error] == ["broken-wire"]


def test_malformed_subscription_without_a_suggestion_keeps_its_naming_error() -> None:
    consumer = contract("router-consumer", subscribe=("Routing_Complete",))
    codes = sorted(p.code for p in check_contracts([consumer]) if p.is_error)
    assert codes == ["broken-wire", "name-pattern"]


def test_declarations_that_differ_only_in_spelling_of_a_value_do_not_conflict() -> None:
    topic = "onex.evt.router.routing-complete.v1"
    first = contract(
        "router",
        ({"name": topic, "config": {"retention.ms": "604800000"}},),
        created="2026-01-01T00:00:00Z",
    )
    second = contract(
        "router-b",
        ({"name": topic, "config": {"retention.ms": 604800000, "cleanup.policy": "delete"}},),
        node="router",
        created="2026-02-01T00:00:00Z",
    )
    third = contract(
        "router-c",
        ({"name": topic, "config": {"retention.ms": " 604800000"}},),
        node="router",
        created="2026-03-01T00:00:00Z",
    )
    report = check_wiring([first, second, third])
    (conflict,) = report.conflicts
    assert conflict.losers == ("agents/router-b",)  # cleanup.policy, not retention.ms
    assert [d.field for d in conflict.differences] == ["config.cleanup.policy"]


def test_a_disqualified_declaration_never_wins_a_conflict() -> None:
    topic = "onex.evt.billing.paid.v1"
    rogue = contract("rogue", ({"name": topic, "partitions": 1},), created="2020-01-01T00:00:00Z")
    billing = contract(
        "billing", ({"name": topic, "partitions": 6},), created="2026-01-01T00:00:00Z"
    )
    ledger = contract("ledger", subscribe=(topic,))
    why = "declares it under another node's producer segment"
    report = check_wiring([rogue, billing, ledger], disqualified={("agents/rogue", topic): why})
    assert report.conflicts == [] and report.broken_wires == []
    assert report.publishers[topic] == ("agents/billing",)


def test_every_publisher_disqualified_is_a_broken_wire_that_says_why() -> None:
    problems = check_contracts(
        [
            contract("storefront", ("onex.cmd.checkout.place-order.v1",)),
            contract("checkout", subscribe=("onex.cmd.checkout.place-order.v1",)),
        ]
    )
    (wire,) = [p for p in problems if p.code == "broken-wire"]
    assert wire.contract == "agents/checkout"
    assert (
        "its only publisher, agents/storefront, declares it under another node's producer "
        "segment" in wire.message
    )


def test_two_disqualified_publishers_are_both_named() -> None:
    topic = "onex.evt.billing.paid.v1"
    problems = check_contracts(
        [contract("a", (topic,)), contract("b", (topic,)), contract("c", subscribe=(topic,))]
    )
    (wire,) = [p for p in problems if p.code == "broken-wire"]
    assert "none of its publishers may own it (agents/a declares" in wire.message
    assert "agents/b declares" in wire.message


def test_topic_only_on_the_broker_is_suggested_and_said_to_have_no_publisher() -> None:
    consumer = contract("router-consumer", subscribe=("onex.evt.router.routing_complete.v1",))
    report = check_wiring([consumer], known_topics={"onex.evt.router.routing-complete.v1"})
    (wire,) = report.broken_wires
    assert wire.suggestions == ("onex.evt.router.routing-complete.v1",)
    assert wire.reason == (
        "no contract publishes it; did you mean onex.evt.router.routing-complete.v1 (it differs "
        "only in '-' vs '_' or case; it exists on the broker, but no contract publishes it)?"
    )
    (problem,) = [p for p in report.problems() if p.is_error]
    assert problem.message == (
        "agents/router-consumer subscribes to onex.evt.router.routing_complete.v1, which no "
        "contract publishes. Did you mean onex.evt.router.routing-complete.v1 (it exists on the "
        "broker, but no contract publishes it)?"
    )
    assert problem.fix == (
        "Subscribe to onex.evt.router.routing-complete.v1 instead (it differs only in '-' vs '_' "
        "or case), and add it to its producer's publish list."
    )


def test_published_topic_is_suggested_before_a_broker_only_one_of_the_same_shape() -> None:
    payments = contract("payments", publish=("onex.evt.payments.payment-settled.v1",))
    ledger = contract("ledger", subscribe=("onex.evt.payments.payment-completed.v1",))
    # Closer in spelling, but nobody publishes it: the published one comes first.
    on_broker = {"onex.evt.payments.payment-complete.v1"}
    report = check_wiring([payments, ledger], known_topics=on_broker)
    (wire,) = report.broken_wires
    assert wire.suggestions == (
        "onex.evt.payments.payment-settled.v1",
        "onex.evt.payments.payment-complete.v1",
    )
    assert "(published by agents/payments)" in report.problems()[0].message


def test_broker_only_topic_of_a_more_specific_shape_is_suggested_first() -> None:
    router = contract("router", publish=("onex.evt.router.routing-failed.v1",))
    consumer = contract("router-consumer", subscribe=("onex.evt.router.routing_complete.v1",))
    report = check_wiring([router, consumer], known_topics={"onex.evt.router.routing-complete.v1"})
    (wire,) = report.broken_wires
    assert wire.suggestions == (
        "onex.evt.router.routing-complete.v1",
        "onex.evt.router.routing-failed.v1",
    )
    assert wire.shape is Shape.SEPARATOR


def test_plan_offers_a_topic_only_on_the_broker_in_the_subscription_status() -> None:
    consumer = contract("router-consumer", subscribe=("onex.evt.router.routing_complete.v1",))
    snapshot = BrokerSnapshot({}, frozenset({"onex.evt.router.routing-complete.v1"}))
    (status,) = plan([consumer], snapshot).contracts[0].topics
    assert status.state is TopicState.ORPHANED
    assert "did you mean onex.evt.router.routing-complete.v1" in status.message
    assert "no contract publishes it)?" in status.message


@pytest.mark.parametrize("first", ["zz-first", "aa-first"])
def test_the_owner_keeps_its_topic_on_a_same_second_tie(first: str) -> None:
    """The contract whose declaration created the topic keeps it, whatever the names sort."""
    topic = "onex.evt.search.document-indexed.v1"
    second = "aa-second" if first == "zz-first" else "zz-second"
    same = "2024-06-01T00:00:00Z"
    owner = contract(first, ({"name": topic, "partitions": 4},), node="search", created=same)
    later = contract(second, ({"name": topic, "partitions": 2},), node="search", created=same)
    (conflict,) = check_wiring([later, owner], owners={topic: owner.key}).conflicts
    assert (conflict.winner, conflict.losers) == (owner.key, (later.key,))
    # Even an older declaration does not take over a topic someone else owns.
    older = contract(
        second, ({"name": topic, "partitions": 2},), node="search", created="2020-01-01T00:00:00Z"
    )
    (conflict,) = check_wiring([older, owner], owners={topic: owner.key}).conflicts
    assert conflict.winner == owner.key
    # The plan says which contract the loser lost to.
    result = plan([later, owner], BrokerSnapshot(), owners={topic: owner.key})
    (lost,) = [t for cp in result.contracts if cp.contract.key == later.key for t in cp.topics]
    assert lost.state is TopicState.CONFLICT and owner.key in lost.message
