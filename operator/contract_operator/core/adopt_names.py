"""Which topic names `adopt` cannot take as they are, and the fix `validate` would give."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from contract_operator.core.naming import NamingRules, check_contract, corrected_name, parse_topic
from contract_operator.model.contract import NODE_PATTERN, Contract

_NODE_RE = re.compile(NODE_PATTERN)
# The node a name is checked under when it has no producer segment to take one from.
PLACEHOLDER_NODE = "adopted"


@dataclass(frozen=True)
class RuleBreaker:
    """A topic on the broker whose name breaks the naming rules: listed, never adopted."""

    topic: str
    message: str
    fix: str
    readers: tuple[str, ...] = ()  # consumer groups reading it


def rule_breaker(topic: str, rules: NamingRules, readers: tuple[str, ...]) -> RuleBreaker | None:
    """The problem `validate` would report for publishing `topic` under its own producer
    segment, with the same rename it suggests; None when the name is fine."""
    parts = parse_topic(topic, rules)
    producer = parts.producer if parts else None
    if parts is not None and producer is not None and not _NODE_RE.match(producer):
        return RuleBreaker(
            topic,
            f"{topic}: its producer segment {producer!r} is not a valid node name",
            "Rename it under a producer segment of 1-63 characters from a-z 0-9 and '-'.",
            readers,
        )
    node = producer or PLACEHOLDER_NODE
    probe = Contract.from_manifest(
        {"node": node, "event_bus": {"publish_topics": [{"name": topic}]}}, "adopt"
    )
    problems = check_contract(probe, rules)
    if not problems:
        return None
    problem = problems[0]
    if problem.code == "name-pattern":
        message = f"{topic} does not match the naming pattern {rules.describe()}"
    else:
        message = problem.message.removeprefix(f"{node} publishes ")
    # Without a producer segment the fix cannot name the node: say where it goes.
    fix = problem.fix.replace(f".{PLACEHOLDER_NODE}.", ".<producer>.")
    return RuleBreaker(topic, message, fix, readers)


def twin_of_existing(
    breaker: RuleBreaker, names: Collection[str], rules: NamingRules
) -> RuleBreaker:
    """A rule-breaking spelling of a topic that exists: the fix is to leave it, not rename it
    (typically auto-created by a consumer's typo)."""
    twin = corrected_name(breaker.topic, rules)
    if twin is None or twin not in names:
        return breaker
    fix = (
        f"{twin} exists: point its readers at {twin}, then remove this topic on the broker "
        "(adopt never deletes anything)."
    )
    return replace(breaker, fix=fix)
