"""Topic naming rules: the pattern, the allowed kinds, and who may publish under which producer."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from contract_operator.model.problems import Problem, Severity

if TYPE_CHECKING:
    from contract_operator.model.contract import Contract

# onex.{kind}.{producer}.{event}.v{N}: lowercase words joined by single hyphens, so that
# `routing_complete`, `RoutingComplete` and `routing--complete` never become a second spelling.
_WORD = r"[a-z0-9]+(?:-[a-z0-9]+)*"
DEFAULT_PATTERN = (
    r"^onex\.(?P<kind>[a-z]+)"
    rf"\.(?P<producer>{_WORD})\.(?P<event>{_WORD})\.v(?P<version>[1-9][0-9]*)$"
)

# evt      a fact that happened (routing-complete); any number of consumers
# cmd      a request for the producer's consumers to act (route-request)
# intent   a request any capable node may pick up
# snapshot compacted current state (cleanup.policy=compact)
# dlq      dead letters: messages the producer could not handle
DEFAULT_KINDS = frozenset({"evt", "cmd", "intent", "snapshot", "dlq"})

Role = Literal["publish", "subscribe"]


@lru_cache(maxsize=32)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class NamingRules:
    """What a well-formed topic name is. `pattern` needs the named groups `kind` (when `kinds`
    is non-empty) and `producer` (when `enforce_producer`); `event` and `version` are optional."""

    pattern: str = DEFAULT_PATTERN
    kinds: frozenset[str] = field(default=DEFAULT_KINDS)
    enforce_producer: bool = True

    def __post_init__(self) -> None:
        try:
            groups = _compile(self.pattern).groupindex
        except re.error as exc:
            raise ValueError(f"invalid naming pattern {self.pattern!r}: {exc}") from None
        if self.kinds and "kind" not in groups:
            raise ValueError("the naming pattern needs a (?P<kind>...) group to check kinds")
        if self.enforce_producer and "producer" not in groups:
            raise ValueError("the naming pattern needs a (?P<producer>...) group")

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)

    def describe(self) -> str:
        """The pattern as a reader would say it."""
        if self.pattern == DEFAULT_PATTERN:
            return "onex.<kind>.<producer>.<event>.v<N> (lowercase words joined by '-')"
        return self.pattern


@dataclass(frozen=True)
class TopicParts:
    """A well-formed name taken apart; groups the pattern lacks are None."""

    name: str
    kind: str | None
    producer: str | None
    event: str | None
    version: int | None


def parse_topic(name: str, rules: NamingRules | None = None) -> TopicParts | None:
    """The parts of `name`, or None when it does not match the pattern."""
    match = (rules or NamingRules()).regex.match(name)
    if match is None:
        return None
    groups = match.groupdict()
    version = groups.get("version")
    return TopicParts(
        name=name,
        kind=groups.get("kind"),
        producer=groups.get("producer"),
        event=groups.get("event"),
        version=int(version) if version and version.isdigit() else None,
    )


def check_contract(contract: Contract, rules: NamingRules | None = None) -> list[Problem]:
    """Every published and subscribed name must match the pattern and use an allowed kind; a
    contract may publish only under its own producer segment (spec.node)."""
    rules = rules or NamingRules()
    problems: list[Problem] = []
    for index, topic in enumerate(contract.published):
        problems.extend(_check_name(contract, topic.name, "publish", index, rules))
    for index, name in enumerate(contract.subscribed):
        problems.extend(_check_name(contract, name, "subscribe", index, rules))
    return problems


def _check_name(
    contract: Contract, name: str, role: Role, index: int, rules: NamingRules
) -> list[Problem]:
    def problem(code: str, message: str, fix: str) -> Problem:
        return Problem(
            Severity.ERROR,
            code,
            message,
            fix,
            source=contract.source,
            contract=contract.key,
            topic=name,
            field=contract.field_path(role, index),
        )

    verb = "publishes" if role == "publish" else "subscribes to"
    parts = parse_topic(name, rules)
    if parts is None:
        corrected = corrected_name(name, rules)
        if corrected:
            fix = f"Rename it to {corrected}."
        elif rules.pattern == DEFAULT_PATTERN:
            fix = (
                f"Rename it to onex.<kind>.{contract.node}.<event>.v<N>, "
                "in lowercase words joined by '-'."
            )
        else:
            fix = f"Rename it to match {rules.pattern}."
        return [
            problem(
                "name-pattern",
                f"{contract.key} {verb} {name}, which does not match the naming pattern "
                f"{rules.describe()}",
                fix,
            )
        ]
    problems: list[Problem] = []
    if rules.kinds and parts.kind not in rules.kinds:
        allowed = ", ".join(sorted(rules.kinds))
        close = difflib.get_close_matches(parts.kind or "", sorted(rules.kinds), n=1)
        fix = (
            f"Rename it to {_replace_group(name, 'kind', close[0], rules)}."
            if close
            else f"Use one of the kinds: {allowed}."
        )
        problems.append(
            problem(
                "unknown-kind",
                f"{contract.key} {verb} {name}, whose kind {parts.kind!r} is not one of: {allowed}",
                fix,
            )
        )
    if role == "publish" and rules.enforce_producer and parts.producer != contract.node:
        own = _replace_group(name, "producer", contract.node, rules)
        problems.append(
            problem(
                "foreign-producer",
                f"{contract.key} publishes {name}, but its producer segment is "
                f"{parts.producer!r} and this contract's node is {contract.node!r}: only "
                f"the {parts.producer} contract may publish it",
                f"Publish {own} instead (and point its subscribers at it), or move the topic "
                f"to the {parts.producer} contract.",
            )
        )
    return problems


def corrected_name(name: str, rules: NamingRules | None = None) -> str | None:
    """The well-formed spelling of a name that is only wrong in case or '_' vs '-', if any."""
    rules = rules or NamingRules()
    candidate = re.sub(r"-{2,}", "-", name.strip().lower().replace("_", "-"))
    if candidate != name and parse_topic(candidate, rules) is not None:
        return candidate
    return None


def _replace_group(name: str, group: str, value: str, rules: NamingRules) -> str:
    match = rules.regex.match(name)
    if match is None or match.group(group) is None:
        return name
    start, end = match.span(group)
    return name[:start] + value + name[end:]
