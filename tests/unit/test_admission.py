"""The admission decision for one incoming contract: pure, from a view and a snapshot."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from contract_operator.core.admission import FULL_SEARCH_NAMES, AdmissionMode, FleetView, decide
from contract_operator.core.checks import check_contracts
from contract_operator.core.naming import NamingRules
from contract_operator.core.problems import Severity
from tests.unit.factories import broker, contract, observed

ROUTING = "onex.evt.router.routing-complete.v1"


def codes(problems) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.code for p in problems]


def test_a_subscription_nobody_publishes_is_admitted_with_the_suggestion() -> None:
    view = FleetView([contract("router", publish=[ROUTING])])
    incoming = contract("notifier", subscribe=["onex.evt.router.routing_complete.v1"])

    decision = decide(incoming, view, broker())

    assert decision.allowed
    assert codes(decision.warnings) == ["broken-wire"]
    line = decision.warning_lines()[0]
    assert f"Did you mean {ROUTING} (published by agents/router)?" in line
    assert "Fix: Subscribe to" in line


def test_a_wired_contract_gets_no_warning() -> None:
    view = FleetView([contract("router", publish=[ROUTING])])
    decision = decide(contract("notifier", subscribe=[ROUTING]), view, broker(observed(ROUTING)))
    assert decision.allowed and not decision.warnings


def test_publishing_under_another_producer_is_refused_with_the_rule_and_the_fix() -> None:
    incoming = contract("storefront", publish=["onex.cmd.checkout.place-order.v1"])

    decision = decide(incoming, FleetView(), broker())

    assert not decision.allowed
    assert codes(decision.denials) == ["foreign-producer"]
    message = decision.denial_message()
    assert message.startswith("[foreign-producer]")
    assert "Fix: Publish onex.cmd.storefront.place-order.v1 instead" in message


def test_warn_mode_admits_the_same_contract_with_the_refusal_as_a_warning() -> None:
    incoming = contract("storefront", publish=["onex.cmd.checkout.place-order.v1"])

    decision = decide(incoming, FleetView(), broker(), mode=AdmissionMode.WARN)

    assert decision.allowed
    assert codes(decision.warnings) == ["foreign-producer"]


def test_bad_names_and_kinds_are_refused() -> None:
    incoming = contract(
        "router", publish=["onex.evt.router.RoutingComplete.v1", "onex.event.router.done.v1"]
    )
    decision = decide(incoming, FleetView(), broker())
    assert codes(decision.denials) == ["name-pattern", "unknown-kind"]


def test_a_conflict_with_an_older_declaration_names_the_owner() -> None:
    older = contract("search", publish=[{"name": "onex.evt.search.done.v1", "partitions": 6}])
    incoming = contract(
        "search-canary",
        node="search",
        publish=[{"name": "onex.evt.search.done.v1", "partitions": 12}],
        created="2026-02-01T00:00:00Z",
    )

    decision = decide(incoming, FleetView([older]), broker())

    assert decision.allowed
    assert codes(decision.warnings) == ["conflict"]
    assert "agents/search declared it first" in decision.warning_lines()[0]


def test_drift_is_warned_and_unsafe_drift_called_out() -> None:
    topic = {
        "name": "onex.evt.billing.invoice-issued.v1",
        "partitions": 6,
        "config": {"retention.ms": "604800000"},
    }
    on_broker = observed(topic["name"], partitions=2, **{"retention.ms": "3600000"})
    incoming = contract("billing", publish=[topic])

    decision = decide(incoming, FleetView(), broker(on_broker))

    assert decision.allowed
    assert codes(decision.warnings) == ["unsafe-drift"]  # an hour kept where 7 days are declared
    line = decision.warning_lines()[0]
    assert "partitions declared 6, actual 2" in line
    assert "never altered" in line
    assert "Unsafe: the broker keeps fewer copies or less data than declared (retention.ms)" in line


def test_drift_that_keeps_more_is_plain_drift() -> None:
    topic = {"name": "onex.evt.billing.invoice-issued.v1", "partitions": 6}
    decision = decide(
        contract("billing", publish=[topic]), FleetView(), broker(observed(topic["name"], 2))
    )
    assert codes(decision.warnings) == ["drift"]


def test_a_subscription_to_a_topic_left_behind_says_so() -> None:
    stale = "onex.evt.payments.payment-completed.v1"
    view = FleetView([contract("payments", publish=["onex.evt.payments.payment-settled.v1"])])

    decision = decide(contract("ledger", subscribe=[stale]), view, broker(extra=(stale,)))

    assert "still exists on the broker" in decision.warning_lines()[0]


def test_the_incoming_object_replaces_its_older_version_in_the_view() -> None:
    old = contract("router", publish=[ROUTING])
    view = FleetView([old])
    renamed = contract("router", publish=["onex.evt.router.routed.v1"], subscribe=[ROUTING])

    decision = decide(renamed, view, broker())

    # Its own old declaration does not count as a publisher of what it now subscribes to.
    assert codes(decision.warnings) == ["broken-wire"]


def test_until_the_view_is_complete_only_naming_is_checked() -> None:
    incoming = contract("notifier", subscribe=["onex.evt.router.done.v1"])
    decision = decide(incoming, FleetView(), broker(), view_ready=False)
    assert decision.allowed and not decision.warnings


def test_the_view_follows_updates_and_removals() -> None:
    view = FleetView([contract("router", publish=[ROUTING])])
    view.remove("agents/router")
    assert not view.publishers and not view.candidates(ROUTING)
    view.put(contract("router", publish=[ROUTING]))
    assert ROUTING in view.candidates("onex.evt.router.routing_complete.v1")


# --- one rule source: the decision equals validate's findings for the incoming contract ----

EVENTS = ["route-request", "routing-complete", "routes", "route", "invoice-issued", "done"]
NODES = ["router", "gateway", "billing", "notifier"]


NAMES = st.builds(
    lambda kind, node, event, version: f"onex.{kind}.{node}.{event}.v{version}",
    st.sampled_from(["evt", "cmd", "evnt"]),
    st.sampled_from(NODES),
    st.sampled_from([*EVENTS, "routing_complete"]),
    st.integers(1, 2),
)


@st.composite
def fleets(draw: st.DrawFn) -> list:  # type: ignore[type-arg]
    out = []
    for i, node in enumerate(draw(st.lists(st.sampled_from(NODES), min_size=1, max_size=5))):
        publish = draw(st.lists(NAMES, max_size=3, unique=True))
        out.append(
            contract(
                f"{node}-{i}",
                node=node,
                publish=[{"name": n, "partitions": draw(st.integers(1, 3))} for n in publish],
                subscribe=draw(st.lists(NAMES, max_size=3, unique=True)),
                created=f"2026-01-0{i + 1}T00:00:00Z",
            )
        )
    return out


@settings(max_examples=200, deadline=None)
@given(fleets())
def test_each_contract_gets_exactly_validates_findings(fleet: list) -> None:  # type: ignore[type-arg]
    rules = NamingRules()
    expected = [p for p in check_contracts(fleet, rules) if p.severity is not Severity.INFO]
    for incoming in fleet:
        others = FleetView((c for c in fleet if c.key != incoming.key), rules)
        decision = decide(incoming, others, None, AdmissionMode.WARN)
        mine = [p for p in expected if p.contract == incoming.key]
        assert sorted(decision.warnings, key=repr) == sorted(mine, key=repr)


def test_in_a_large_fleet_similar_spellings_are_searched_under_the_same_producer() -> None:
    fleet = [contract(f"n{i}", publish=[f"onex.evt.n{i}.thing-{i}.v1"]) for i in range(600)]
    fleet.append(contract("router", publish=["onex.evt.router.route-request.v1"]))
    view = FleetView(fleet)
    assert len(view.publishers) > FULL_SEARCH_NAMES

    same_producer = decide(
        contract("a", subscribe=["onex.evt.router.route-requests.v2"]), view, None
    )
    other_producer = decide(
        contract("b", subscribe=["onex.evt.gateway.route-request.v2"]), view, None
    )

    assert "Did you mean onex.evt.router.route-request.v1" in same_producer.warning_lines()[0]
    # Still a broken wire, without the suggestion; the loop's status names it.
    assert codes(other_producer.warnings) == ["broken-wire"]
    assert "Did you mean" not in other_producer.warning_lines()[0]


def test_refusals_and_warnings_partition_the_findings() -> None:
    rng = random.Random(7)
    fleet = [
        contract(f"n{i}", publish=[f"onex.evt.n{i}.e{rng.randrange(5)}.v1"]) for i in range(50)
    ]
    incoming = contract(
        "x",
        publish=["onex.evt.n1.e1.v1", "onex.evt.x.bad_name.v1"],
        subscribe=["onex.evt.n2.e9.v1"],
    )
    deny = decide(incoming, FleetView(fleet), broker())
    warn = decide(incoming, FleetView(fleet), broker(), mode=AdmissionMode.WARN)
    assert sorted(deny.denials + deny.warnings, key=repr) == sorted(warn.warnings, key=repr)
    assert {p.code for p in deny.denials} == {"foreign-producer", "name-pattern"}
