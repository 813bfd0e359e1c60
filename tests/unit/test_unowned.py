"""Unowned topics: on the broker, matching the naming rules and kinds, published by no contract."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from contract_operator.core.naming import DEFAULT_KINDS, NamingRules, parse_topic
from contract_operator.core.unowned import NO_PRODUCER, liveness, unowned_topics
from tests.unit.factories import contract

ROUTER = contract(
    "router",
    publish=["onex.evt.router.routing-complete.v1"],
    subscribe=["onex.cmd.gateway.route-request.v1"],
)
NOTIFIER = contract(
    "notifier",
    subscribe=["onex.evt.router.route-decided.v1", "onex.evt.router.routing-complete.v1"],
)


def test_a_topic_no_contract_publishes_any_more_is_unowned() -> None:
    found = unowned_topics(
        [ROUTER], ["onex.evt.router.routing-complete.v1", "onex.evt.router.route-decided.v1"]
    )
    assert [t.name for t in found.topics] == ["onex.evt.router.route-decided.v1"]
    assert found.topics[0].producer == "router" and found.topics[0].kind == "evt"


def test_published_topics_are_owned_even_by_a_declaration_that_breaks_a_rule() -> None:
    # storefront may not publish under checkout's segment: that is its own error, not a leftover.
    storefront = contract("storefront", publish=["onex.cmd.checkout.place-order.v1"])
    assert not unowned_topics([storefront], ["onex.cmd.checkout.place-order.v1"])


def test_names_outside_the_pattern_are_never_ours() -> None:
    names = [
        "__consumer_offsets",
        "_schemas",
        "billing-events",  # another team's naming
        "onex.evt.router.routing_complete.v1",  # breaks the pattern ('_')
        "onex.evt.router.routing-complete.v0",  # versions start at 1
    ]
    assert not unowned_topics([ROUTER], names)


def test_a_kind_outside_the_allowed_kinds_is_not_ours_unless_kinds_are_open() -> None:
    name = "onex.metrics.router.latency.v1"
    assert not unowned_topics([], [name])
    open_kinds = NamingRules(kinds=frozenset())
    assert unowned_topics([], [name], open_kinds).names == {name}
    only_evt = NamingRules(kinds=frozenset({"evt"}))
    assert not unowned_topics([], ["onex.cmd.router.route.v1"], only_evt)


def test_contracts_that_still_subscribe_are_named() -> None:
    found = unowned_topics([ROUTER, NOTIFIER], ["onex.evt.router.route-decided.v1"])
    assert found.topics[0].subscribers == ("agents/notifier",)
    assert "1 still subscribed to" in found.summary()


def test_grouped_by_producer_segment_in_name_order() -> None:
    names = [
        "onex.evt.router.b.v1",
        "onex.cmd.billing.z.v1",
        "onex.evt.router.a.v1",
        "onex.evt.billing.a.v2",
    ]
    found = unowned_topics([], names)
    assert list(found.by_producer) == ["billing", "router"]
    assert [t.name for t in found.by_producer["router"]] == [
        "onex.evt.router.a.v1",
        "onex.evt.router.b.v1",
    ]
    assert found.summary().startswith("4 unowned topics (billing: 2, router: 2)")


def test_a_custom_pattern_decides_what_is_ours_and_how_it_groups() -> None:
    rules = NamingRules(
        pattern=r"^(?P<team>[a-z]+)\.(?P<kind>evt|cmd)\.(?P<producer>[a-z-]+)\.[a-z-]+$",
        kinds=frozenset({"evt", "cmd"}),
    )
    names = ["shop.evt.cart.item-added", "shop.evt.cart.item-removed", "onex.evt.router.x.v1"]
    found = unowned_topics([], names, rules)
    assert found.names == {"shop.evt.cart.item-added", "shop.evt.cart.item-removed"}
    assert list(found.by_producer) == ["cart"]


def test_a_pattern_without_producer_groups_everything_together() -> None:
    rules = NamingRules(
        pattern=r"^bus\.(?P<event>[a-z-]+)$", kinds=frozenset(), enforce_producer=False
    )
    found = unowned_topics([], ["bus.order-placed", "bus.paid"], rules)
    assert list(found.by_producer) == [NO_PRODUCER]
    assert "(no producer): 2" in found.summary()


def test_summary_is_one_short_line() -> None:
    names = [f"onex.evt.router.e{i}.v1" for i in range(20)]
    line = unowned_topics([], names).summary(limit=3)
    assert "\n" not in line and "and 17 more" in line
    assert unowned_topics([], []).summary() == "no unowned topics"


def test_liveness_hints() -> None:
    assert liveness(0) == "empty (never written)"
    assert liveness(12) == "written to (end offset 12)"
    assert liveness(None) == "unknown"


_segment = st.text(string.ascii_lowercase + string.digits + "-_.", min_size=1, max_size=8)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([*sorted(DEFAULT_KINDS), "metrics", "Evt"]),
            _segment,
            _segment,
            st.integers(0, 3),
        ),
        max_size=30,
    ),
    st.sets(st.integers(0, 29), max_size=10),
)
def test_unowned_is_exactly_the_well_formed_unpublished_names(
    parts: list[tuple[str, str, str, int]], published_at: set[int]
) -> None:
    names = [f"onex.{k}.{p}.{e}.v{v}" for k, p, e, v in parts]
    published = [n for i, n in enumerate(names) if i in published_at]
    owner = contract("owner", publish=[{"name": n} for n in dict.fromkeys(published)])
    found = unowned_topics([owner], names)
    expected = {
        n
        for n in names
        if n not in published
        and (parts_ := parse_topic(n)) is not None
        and parts_.kind in DEFAULT_KINDS
    }
    assert found.names == expected


def test_a_partial_view_looks_only_under_its_own_producers_and_subscriptions() -> None:
    names = [
        "onex.evt.router.old.v1",
        "onex.evt.billing.old.v1",
        "onex.evt.router.route-decided.v1",
    ]
    found = unowned_topics([ROUTER, NOTIFIER], names, producers={"router", "notifier"})
    assert found.names == {"onex.evt.router.old.v1", "onex.evt.router.route-decided.v1"}
    only_notifier = unowned_topics([NOTIFIER], names, producers={"notifier"})
    assert only_notifier.names == {"onex.evt.router.route-decided.v1"}  # it subscribes to it
