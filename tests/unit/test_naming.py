"""Naming rules: the pattern, the allowed kinds, and the producer-segment rule."""

from __future__ import annotations

from typing import Any

import pytest

from contract_operator.core.naming import NamingRules, check_contract, corrected_name, parse_topic
from contract_operator.model.contract import Contract


def contract(node: str, publish: tuple[str, ...] = (), subscribe: tuple[str, ...] = ()) -> Contract:
    doc: dict[str, Any] = {
        "node": node,
        "event_bus": {
            "publish_topics": [{"name": n} for n in publish],
            "subscribe_topics": list(subscribe),
        },
    }
    return Contract.from_manifest(doc, f"{node}/contract.yaml")


def codes(c: Contract, rules: NamingRules | None = None) -> list[tuple[str, str | None]]:
    return [(p.code, p.topic) for p in check_contract(c, rules or NamingRules())]


def test_well_formed_name_is_taken_apart() -> None:
    parts = parse_topic("onex.evt.router.routing-complete.v1")
    assert parts is not None
    assert (parts.kind, parts.producer, parts.event, parts.version) == (
        "evt",
        "router",
        "routing-complete",
        1,
    )


def test_well_formed_contract_has_no_problems() -> None:
    router = contract(
        "router",
        publish=("onex.evt.router.routing-complete.v1",),
        subscribe=("onex.cmd.gateway.route-request.v1",),
    )
    assert check_contract(router, NamingRules()) == []


@pytest.mark.parametrize(
    ("name", "fixed"),
    [
        ("onex.evt.router.routing_complete.v1", "onex.evt.router.routing-complete.v1"),
        ("onex.evt.router.RoutingComplete.v1", "onex.evt.router.routingcomplete.v1"),
        ("onex.evt.router.routing__complete.v1", "onex.evt.router.routing-complete.v1"),
    ],
)
def test_published_name_off_the_pattern_is_an_error_whose_fix_is_the_corrected_name(
    name: str, fixed: str
) -> None:
    (problem,) = check_contract(contract("router", publish=(name,)), NamingRules())
    assert (problem.code, problem.topic) == ("name-pattern", name)
    assert problem.fix == f"Rename it to {fixed}."
    assert problem.field == "event_bus.publish_topics[0].name"


def test_name_that_cannot_be_corrected_gets_the_template_as_fix() -> None:
    (problem,) = check_contract(contract("billing", publish=("invoices",)), NamingRules())
    assert problem.code == "name-pattern"
    assert "onex.<kind>.billing.<event>.v<N>" in problem.fix


def test_subscription_to_a_malformed_name_is_an_error() -> None:
    consumer = contract("router-consumer", subscribe=("onex.evt.router.routing_complete.v1",))
    assert codes(consumer) == [("name-pattern", "onex.evt.router.routing_complete.v1")]


def test_version_zero_is_off_the_pattern() -> None:
    assert parse_topic("onex.evt.router.routing-complete.v0") is None


def test_unknown_kind_is_an_error_that_suggests_the_nearest_kind() -> None:
    (problem,) = check_contract(
        contract("router", publish=("onex.event.router.routing-complete.v1",)), NamingRules()
    )
    assert problem.code == "unknown-kind"
    assert problem.fix == "Rename it to onex.evt.router.routing-complete.v1."


def test_empty_kinds_allow_any_kind() -> None:
    c = contract("router", publish=("onex.event.router.routing-complete.v1",))
    assert codes(c, NamingRules(kinds=frozenset())) == []


def test_publishing_under_another_nodes_producer_segment_is_an_error() -> None:
    storefront = contract("storefront", publish=("onex.cmd.checkout.place-order.v1",))
    (problem,) = check_contract(storefront, NamingRules())
    assert (problem.code, problem.contract) == ("foreign-producer", "storefront")
    assert problem.fix.startswith("Publish onex.cmd.storefront.place-order.v1 instead")


def test_subscribing_to_another_nodes_topic_is_fine() -> None:
    router = contract("router", subscribe=("onex.cmd.gateway.route-request.v1",))
    assert check_contract(router, NamingRules()) == []


def test_producer_rule_can_be_switched_off() -> None:
    storefront = contract("storefront", publish=("onex.cmd.checkout.place-order.v1",))
    assert check_contract(storefront, NamingRules(enforce_producer=False)) == []


def test_custom_pattern_is_used_for_every_check() -> None:
    rules = NamingRules(
        pattern=r"^(?P<producer>[a-z]+)_(?P<kind>[a-z]+)_[a-z]+$", kinds=frozenset({"events"})
    )
    good = contract("orders", publish=("orders_events_created",))
    foreign = contract("billing", publish=("orders_events_created",))
    assert codes(good, rules) == []
    assert codes(foreign, rules) == [("foreign-producer", "orders_events_created")]
    assert codes(contract("orders", publish=("onex.evt.orders.created.v1",)), rules) == [
        ("name-pattern", "onex.evt.orders.created.v1")
    ]


def test_pattern_without_a_producer_group_is_refused_while_the_rule_is_on() -> None:
    with pytest.raises(ValueError, match="producer"):
        NamingRules(pattern=r"^(?P<kind>[a-z]+)\..*$")


def test_invalid_regex_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid naming pattern"):
        NamingRules(pattern="(")


def test_corrected_name_is_none_when_the_name_is_already_right_or_beyond_repair() -> None:
    assert corrected_name("onex.evt.router.routing-complete.v1") is None
    assert corrected_name("routing complete") is None
