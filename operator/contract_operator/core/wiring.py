"""Wiring over the whole set of contracts: subscriptions nobody publishes, topics nobody consumes,
and two publishers declaring one topic differently."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from contract_operator.core.drift import normalize
from contract_operator.model.problems import Problem, Severity

if TYPE_CHECKING:
    from contract_operator.model.contract import Contract, PublishTopic

MAX_SUGGESTIONS = 3
SIMILAR_CUTOFF = 0.8
UNSET = "(unset)"


class Shape(StrEnum):
    """How a subscribed name misses a published one, most specific first."""

    SEPARATOR = "separator"  # routing_complete vs routing-complete (or case)
    PLURAL = "plural"  # routes vs route
    VERSION = "version"  # .v1 vs .v2
    RENAMED_SEGMENT = "renamed-segment"  # all segments equal but one
    SIMILAR = "similar"  # difflib says so

    @property
    def hint(self) -> str:
        return _HINTS[self]


_HINTS = {
    Shape.SEPARATOR: "differs only in '-' vs '_' or case",
    Shape.PLURAL: "differs only in singular vs plural",
    Shape.VERSION: "is another version of the same event",
    Shape.RENAMED_SEGMENT: "differs in one segment",
    Shape.SIMILAR: "is spelled similarly",
}
_RANK = {shape: rank for rank, shape in enumerate(Shape)}
_VERSION = re.compile(r"^v[0-9]+$")


@dataclass(frozen=True)
class NearMiss:
    name: str
    shape: Shape


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _singulars(word: str) -> set[str]:
    """Every singular `word` could be the plural of (routes, statuses, policies), and itself."""
    out = {word}
    if word.endswith("ies"):
        out.add(word[:-3] + "y")
    if word.endswith("es"):
        out.add(word[:-2])
    if word.endswith("s"):
        out.add(word[:-1])
    return out


def _is_plural_pair(a: str, b: str) -> bool:
    words_a, words_b = re.split(r"[-_]", a), re.split(r"[-_]", b)
    if len(words_a) != len(words_b):
        return False
    differing = [(x, y) for x, y in zip(words_a, words_b, strict=True) if x != y]
    if len(differing) != 1:
        return False
    x, y = differing[0]
    return bool(_singulars(x) & _singulars(y))


def shape_of(topic: str, candidate: str) -> Shape | None:
    """The bug shape that turns `candidate` into `topic`, or None when they are unrelated."""
    if topic == candidate:
        return None
    a, b = _normal(topic), _normal(candidate)
    if a == b:
        return Shape.SEPARATOR
    segments_a, segments_b = a.split("."), b.split(".")
    if len(segments_a) == len(segments_b):
        differing = [(x, y) for x, y in zip(segments_a, segments_b, strict=True) if x != y]
        if len(differing) == 1:
            x, y = differing[0]
            if _VERSION.match(x) and _VERSION.match(y):
                return Shape.VERSION
            if _is_plural_pair(x, y):
                return Shape.PLURAL
            return Shape.RENAMED_SEGMENT
    if difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR_CUTOFF:
        return Shape.SIMILAR
    return None


def near_misses(topic: str, candidates: Iterable[str]) -> tuple[NearMiss, ...]:
    """Candidates `topic` was probably meant to be, the most specific shape first."""
    found = []
    for candidate in set(candidates):
        shape = shape_of(topic, candidate)
        if shape is not None:
            ratio = difflib.SequenceMatcher(None, topic, candidate).ratio()
            found.append((_RANK[shape], -ratio, candidate, shape))
    found.sort()
    return tuple(NearMiss(name, shape) for _, _, name, shape in found[:MAX_SUGGESTIONS])


def suggest(topic: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """The names in near_misses(), best first."""
    return tuple(miss.name for miss in near_misses(topic, candidates))


@dataclass(frozen=True)
class BrokenWire:
    """A subscription no contract publishes: the consumer will wait forever, silently."""

    contract: str
    topic: str
    suggestions: tuple[str, ...]
    reason: str  # one sentence, fit for a status message
    stale: bool = False  # the topic is on the broker: left behind by a rename?
    shape: Shape | None = None  # of the first suggestion
    source: str | None = None
    field: str | None = None
    # Contracts that publish the topic but may not own it (they break the naming rules): the
    # topic is never created, so the wire is broken although a publisher exists.
    invalid_publishers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unconsumed:
    """A published topic no contract subscribes to (an external consumer may still read it)."""

    topic: str
    publishers: tuple[str, ...]
    source: str | None = None


@dataclass(frozen=True)
class FieldDifference:
    field: str  # partitions, replication_factor or config.<key>
    values: tuple[tuple[str, str], ...]  # (contract key, declared value), winner first


@dataclass(frozen=True)
class Conflict:
    """Two or more contracts publish one topic with different settings; the oldest wins."""

    topic: str
    winner: str
    losers: tuple[str, ...]
    differences: tuple[FieldDifference, ...]
    sources: tuple[tuple[str, str, str], ...] = ()  # (loser key, source, field path)


@dataclass(frozen=True)
class WiringReport:
    broken_wires: list[BrokenWire] = field(default_factory=list)
    unconsumed: list[Unconsumed] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    publishers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # topic -> keys

    def problems(self) -> list[Problem]:
        """Broken wires and conflicts are errors; unconsumed topics are info."""
        out = [self._broken_problem(wire) for wire in self.broken_wires]
        for conflict in self.conflicts:
            out.extend(_conflict_problems(conflict))
        out.extend(
            Problem(
                Severity.INFO,
                "unconsumed",
                f"{u.topic} is published by {', '.join(u.publishers)} but no contract "
                "subscribes to it",
                source=u.source,
                contract=u.publishers[0],
                topic=u.topic,
            )
            for u in self.unconsumed
        )
        return out

    def _broken_problem(self, wire: BrokenWire) -> Problem:
        if wire.invalid_publishers:
            return Problem(
                Severity.ERROR,
                "broken-wire",
                f"{wire.contract} subscribes to {wire.topic}, but {wire.reason}: the topic "
                "is never created.",
                "Fix the publisher's declaration (see its own error), or subscribe to a topic "
                "a valid contract publishes.",
                source=wire.source,
                contract=wire.contract,
                topic=wire.topic,
                field=wire.field,
            )
        message = f"{wire.contract} subscribes to {wire.topic}, which no contract publishes."
        if wire.stale:
            message += " It still exists on the broker: a topic left behind after a rename?"
        if wire.suggestions:
            best = wire.suggestions[0]
            by = ", ".join(self.publishers.get(best, ()))
            message += f" Did you mean {best} (published by {by})?"
            hint = f" (it {wire.shape.hint})" if wire.shape else ""
            fix = f"Subscribe to {best} instead{hint}."
            if len(wire.suggestions) > 1:
                fix += f" Other candidates: {', '.join(wire.suggestions[1:])}."
        else:
            fix = "Add the topic to its producer's publish list, or drop the subscription."
        return Problem(
            Severity.ERROR,
            "broken-wire",
            message,
            fix,
            source=wire.source,
            contract=wire.contract,
            topic=wire.topic,
            field=wire.field,
        )


def _conflict_problems(conflict: Conflict) -> list[Problem]:
    out = []
    for loser, source, path in conflict.sources:
        mine = {f.field: dict(f.values).get(loser) for f in conflict.differences}
        theirs = {f.field: dict(f.values).get(conflict.winner) for f in conflict.differences}
        differing = [k for k in mine if mine[k] != theirs[k]]
        if not differing:
            continue
        declared = ", ".join(f"{k}={mine[k]}" for k in differing)
        first = ", ".join(f"{k}={theirs[k]}" for k in differing)
        out.append(
            Problem(
                Severity.ERROR,
                "conflict",
                f"{loser} publishes {conflict.topic} with {declared}, but {conflict.winner} "
                f"declared it first with {first}; the first declaration wins",
                f"Declare {first} in {loser}, or stop publishing {conflict.topic} there.",
                source=source,
                contract=loser,
                topic=conflict.topic,
                field=path,
            )
        )
    return out


def _settings(topic: PublishTopic) -> dict[str, str]:
    """The declaration in normalized form (the same normalizer as drift), undeclared omitted."""
    out = {}
    if topic.partitions is not None:
        out["partitions"] = str(topic.partitions)
    if topic.replication_factor is not None:
        out["replication_factor"] = str(topic.replication_factor)
    out.update({f"config.{k}": normalize(k, v) for k, v in topic.config.items()})
    return out


def _age(contract: Contract) -> tuple[bool, str, str]:
    # Declarations not yet in the cluster (files) have no timestamp and count as newest.
    return (contract.created is None, contract.created or "", contract.key)


def _conflict(
    topic: str, declarations: list[tuple[Contract, int, PublishTopic]]
) -> Conflict | None:
    ordered = sorted(declarations, key=lambda d: _age(d[0]))
    winner, _, winner_topic = ordered[0]
    wanted = _settings(winner_topic)
    losers = [(c, i, _settings(t)) for c, i, t in ordered[1:] if _settings(t) != wanted]
    if not losers:
        return None
    fields = sorted({k for _, _, s in losers for k in s} | set(wanted))
    differences = []
    for name in fields:
        values = [(winner.key, wanted.get(name, UNSET))]
        values += [(c.key, s.get(name, UNSET)) for c, _, s in losers]
        if len({v for _, v in values}) > 1:
            differences.append(FieldDifference(name, tuple(values)))
    return Conflict(
        topic=topic,
        winner=winner.key,
        losers=tuple(c.key for c, _, _ in losers),
        differences=tuple(differences),
        sources=tuple((c.key, c.source, c.field_path("publish", i)) for c, i, _ in losers),
    )


def _invalid_reason(invalid: dict[str, str]) -> str:
    """Why nobody may own `topic`, from each invalid publisher's own reason."""
    if len(invalid) == 1:
        ((key, why),) = invalid.items()
        return f"its only publisher, {key}, {why}"
    listed = "; ".join(f"{key} {why}" for key, why in invalid.items())
    return f"none of its publishers may own it ({listed})"


def check_wiring(
    contracts: Sequence[Contract],
    known_topics: Collection[str] = (),
    disqualified: Mapping[tuple[str, str], str] | None = None,
) -> WiringReport:
    """Wire every subscription to a publisher. `known_topics` are topics on the broker that no
    contract publishes: subscribing to one is still broken, and the message says it used to
    exist.

    `disqualified` maps (contract key, topic) to why that declaration breaks the naming rules
    (e.g. "declares it under another node's producer segment"): such a declaration never owns
    the topic, never wins a conflict, and a subscription it alone publishes is a broken wire.
    """
    disqualified = disqualified or {}
    declarations: dict[str, list[tuple[Contract, int, PublishTopic]]] = {}
    invalid: dict[str, dict[str, str]] = {}  # topic -> {contract key: why}
    subscribed: set[str] = set()
    for contract in contracts:
        for index, topic in enumerate(contract.published):
            why = disqualified.get((contract.key, topic.name))
            if why is not None:
                invalid.setdefault(topic.name, {})[contract.key] = why
                continue
            declarations.setdefault(topic.name, []).append((contract, index, topic))
        subscribed.update(contract.subscribed)
    publishers = {
        topic: tuple(dict.fromkeys(c.key for c, _, _ in decls))
        for topic, decls in declarations.items()
    }
    known = set(known_topics)

    broken = []
    for contract in contracts:
        for index, name in enumerate(contract.subscribed):
            if name in declarations:
                continue
            if name in invalid:
                broken.append(
                    BrokenWire(
                        contract=contract.key,
                        topic=name,
                        suggestions=(),
                        reason=_invalid_reason(invalid[name]),
                        source=contract.source,
                        field=contract.field_path("subscribe", index),
                        invalid_publishers=tuple(invalid[name]),
                    )
                )
                continue
            misses = near_misses(name, declarations)
            stale = name in known
            reason = "no contract publishes it"
            if stale:
                reason += " (it still exists on the broker: left behind after a rename?)"
            if misses:
                reason += f"; did you mean {misses[0].name} (it {misses[0].shape.hint})?"
            broken.append(
                BrokenWire(
                    contract=contract.key,
                    topic=name,
                    suggestions=tuple(m.name for m in misses),
                    reason=reason,
                    stale=stale,
                    shape=misses[0].shape if misses else None,
                    source=contract.source,
                    field=contract.field_path("subscribe", index),
                )
            )

    unconsumed = [
        Unconsumed(topic, publishers[topic], decls[0][0].source)
        for topic, decls in declarations.items()
        if topic not in subscribed
    ]
    conflicts = [
        c
        for topic, decls in declarations.items()
        if len(decls) > 1 and (c := _conflict(topic, decls)) is not None
    ]
    return WiringReport(broken, unconsumed, conflicts, publishers)
