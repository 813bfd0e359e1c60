"""The naming rules as the admission policy's CEL parameters (core/naming_policy.py): whole-name
patterns with the kind group narrowed to the allowed kinds and the producer group replaced by
the placeholder the policy fills with spec.node."""

from __future__ import annotations

import re

import pytest

from contract_operator.core.naming import NamingRules
from contract_operator.core.naming_policy import NODE_PLACEHOLDER, policy_params

DEFAULT = NamingRules()
# Groups whose bodies hold what a naive scan trips on: ')' and ']' inside a class, a class
# opening with ']', an escaped '(' and a nested group.
TRICKY = r"^(?P<kind>[a-z)\]]+(x|y))\.(?P<producer>[]a-z(]+)\.\(.+$"


def test_the_default_rules() -> None:
    params = policy_params(DEFAULT)
    assert params == {
        "pattern": DEFAULT.pattern,
        "kindPattern": DEFAULT.pattern.replace(
            "(?P<kind>[a-z]+)", "(?P<kind>cmd|dlq|evt|intent|snapshot)"
        ),
        "producerTemplate": DEFAULT.pattern.replace(
            "(?P<producer>[a-z0-9]+(?:-[a-z0-9]+)*)", f"(?P<producer>{NODE_PLACEHOLDER})"
        ),
        "kinds": "cmd, dlq, evt, intent, snapshot",
        "describe": DEFAULT.describe(),
        "enforceProducer": "true",
    }
    assert params["kindPattern"] != DEFAULT.pattern
    assert params["producerTemplate"] != DEFAULT.pattern


@pytest.mark.parametrize(
    ("name", "kind_ok"),
    [
        ("onex.evt.router.done.v1", True),
        ("onex.snapshot.router.done.v1", True),
        ("onex.event.router.done.v1", False),
        ("onex.ev.router.done.v1", False),
        ("onex.evtx.router.done.v1", False),
    ],
)
def test_the_kind_pattern_admits_exactly_the_allowed_kinds(name: str, kind_ok: bool) -> None:
    assert bool(re.fullmatch(policy_params(DEFAULT)["kindPattern"], name)) is kind_ok


@pytest.mark.parametrize(
    ("node", "name", "own"),
    [
        ("router", "onex.evt.router.done.v1", True),
        ("order-service", "onex.cmd.order-service.place.v2", True),
        ("router", "onex.evt.routers.done.v1", False),
        ("router", "onex.evt.billing.done.v1", False),
    ],
)
def test_the_producer_template_filled_with_the_node(node: str, name: str, own: bool) -> None:
    template = policy_params(DEFAULT)["producerTemplate"]
    assert bool(re.fullmatch(template.replace(NODE_PLACEHOLDER, node), name)) is own


def test_groups_are_found_past_classes_escapes_and_nested_groups() -> None:
    params = policy_params(NamingRules(pattern=TRICKY, kinds=frozenset({"evt", "a.b"})))
    assert params["kindPattern"] == r"^(?P<kind>a\.b|evt)\.(?P<producer>[]a-z(]+)\.\(.+$"
    assert params["producerTemplate"] == (
        rf"^(?P<kind>[a-z)\]]+(x|y))\.(?P<producer>{NODE_PLACEHOLDER})\.\(.+$"
    )
    assert params["kinds"] == "a.b, evt"


def test_kinds_are_written_as_literals() -> None:
    rules = NamingRules(pattern=r"^(?P<kind>.+)\.(?P<producer>[a-z]+)$", kinds=frozenset({"a+b"}))
    kind_pattern = policy_params(rules)["kindPattern"]
    assert kind_pattern == r"^(?P<kind>a\+b)\.(?P<producer>[a-z]+)$"
    assert re.fullmatch(kind_pattern, "a+b.x") and not re.fullmatch(kind_pattern, "aab.x")


def test_without_kinds_or_producer_rule_the_patterns_are_the_pattern() -> None:
    rules = NamingRules(
        pattern=r"^(?P<producer>[a-z]+)\..+$", kinds=frozenset(), enforce_producer=False
    )
    params = policy_params(rules)
    assert params["kindPattern"] == params["producerTemplate"] == rules.pattern
    assert (params["kinds"], params["enforceProducer"]) == ("", "false")


def test_a_pattern_without_the_group_is_left_as_it_is() -> None:
    rules = NamingRules(
        pattern=r"^(?P<kind>[a-z]+)\..+$", kinds=frozenset({"evt"}), enforce_producer=False
    )
    assert policy_params(rules)["kindPattern"] == r"^(?P<kind>evt)\..+$"
    assert policy_params(rules)["producerTemplate"] == rules.pattern
