"""The broken-wire finding when the only publisher of a topic may not own it."""

from __future__ import annotations

from contract_operator.core.checks import check_contracts

from .factories import contract

TOPIC = "onex.cmd.checkout.place-order.v1"


def _finding() -> str:
    storefront = contract("storefront", publish=[TOPIC])  # under checkout's producer segment
    checkout = contract("checkout", subscribe=[TOPIC])
    (wire,) = [
        p
        for p in check_contracts([storefront, checkout])
        if p.code == "broken-wire" and p.contract == checkout.key
    ]
    return wire.message


def test_the_finding_names_the_publisher_and_why_it_may_not_own_the_topic() -> None:
    message = _finding()
    assert message.startswith(f"agents/checkout subscribes to {TOPIC}, but its only publisher")
    assert "agents/storefront" in message
    assert "declares it under another node's producer segment" in message


def test_the_finding_says_the_topic_is_never_created_once() -> None:
    assert _finding().count("the topic is never created") == 1
