"""Admission in a fleet above FULL_SEARCH_NAMES, where near misses come from FleetView's index
instead of a pass over every name: what the small-fleet search finds must still be found.

- a subscription spelled with '_' where the publisher wrote '-' (in more than one segment, so
  no "one segment differs" shape finds it) is still offered the published name;
- a subscription to a topic only the broker has (no contract publishes it) still says that it
  exists on the broker, although broker-only names are no longer all candidates.
"""

from __future__ import annotations

from contract_operator.core.admission import FULL_SEARCH_NAMES, FleetView, decide

from .factories import broker, contract

PUBLISHED = "onex.evt.order-service.order-placed.v1"
FOLDED = "onex.evt.order_service.order_placed.v1"


def _fleet(size: int = FULL_SEARCH_NAMES + 100) -> FleetView:
    fleet = [contract(f"n{i}", publish=[f"onex.evt.n{i}.thing-{i}.v1"]) for i in range(size)]
    fleet.append(contract("orders", node="order-service", publish=[PUBLISHED]))
    view = FleetView(fleet)
    assert view.owned_count() > FULL_SEARCH_NAMES
    return view


def test_an_underscore_spelling_finds_the_dashed_name_in_a_large_fleet() -> None:
    decision = decide(contract("shipping", subscribe=[FOLDED]), _fleet(), broker())

    assert decision.allowed
    assert [p.code for p in decision.warnings] == ["broken-wire"]
    assert (
        f"Did you mean {PUBLISHED} (published by agents/orders)?" in (decision.warning_lines()[0])
    )


def test_the_fold_is_what_finds_it_not_a_shared_segment() -> None:
    view = _fleet()
    # Differs from PUBLISHED in two segments, so only the '-'/'_' fold relates the two names.
    assert len(set(FOLDED.split(".")) - set(PUBLISHED.split("."))) == 2
    assert PUBLISHED in view.candidates(FOLDED)
    assert PUBLISHED in view.candidates(FOLDED.upper())


def test_a_subscription_to_a_broker_only_topic_in_a_large_fleet_says_it_exists() -> None:
    stale = "onex.evt.payments.payment-completed.v1"
    snapshot = broker(extra=(stale,))

    decision = decide(contract("ledger", subscribe=[stale]), _fleet(), snapshot)

    assert decision.allowed
    assert [p.code for p in decision.warnings] == ["broken-wire"]
    assert "still exists on the broker" in decision.warning_lines()[0]


def test_a_subscription_to_a_missing_topic_in_a_large_fleet_does_not_say_it_exists() -> None:
    missing = "onex.evt.payments.payment-completed.v1"
    decision = decide(contract("ledger", subscribe=[missing]), _fleet(), broker())
    assert [p.code for p in decision.warnings] == ["broken-wire"]
    assert "still exists on the broker" not in decision.warning_lines()[0]
