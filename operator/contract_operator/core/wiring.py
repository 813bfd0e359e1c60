"""Wiring over the whole set of contracts: subscriptions nobody publishes, topics nobody consumes,
and two publishers declaring one topic differently."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract_operator.core.drift import normalize

# The near-miss search lives in its own module; its names stay importable from here.
from contract_operator.core.nearmiss import NearMiss as NearMiss
from contract_operator.core.nearmiss import NearMissIndex
from contract_operator.core.nearmiss import Shape as Shape
from contract_operator.core.nearmiss import shape_of as shape_of
from contract_operator.model.problems import Problem, Severity

if TYPE_CHECKING:
    from contract_operator.model.contract import Contract, PublishTopic

UNSET = "(unset)"
_ON_BROKER_ONLY = "it exists on the broker, but no contract publishes it"


def near_misses(topic: str, candidates: Iterable[str]) -> tuple[NearMiss, ...]:
    """Candidates `topic` was probably meant to be, the most specific shape first."""
    return NearMissIndex(candidates).near_misses(topic)


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
                # The reason already says the topic is never created.
                f"{wire.contract} subscribes to {wire.topic}, but {wire.reason}.",
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
            hint = f" (it {wire.shape.hint})" if wire.shape else ""
            if by:
                message += f" Did you mean {best} (published by {by})?"
                fix = f"Subscribe to {best} instead{hint}."
            else:
                # A suggestion only the broker knows: following it alone leaves a broken wire.
                message += f" Did you mean {best} ({_ON_BROKER_ONLY})?"
                fix = (
                    f"Subscribe to {best} instead{hint}, and add it to its producer's publish list."
                )
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
    topic: str, declarations: list[tuple[Contract, int, PublishTopic]], owner: str | None = None
) -> Conflict | None:
    # The contract that owned the topic before keeps it: ownership never moves to a later
    # declaration, not even one whose creationTimestamp ties (second precision) and whose
    # name sorts first. Without an owner, the oldest declaration wins.
    ordered = sorted(declarations, key=lambda d: (d[0].key != owner, *_age(d[0])))
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


def _hint(best: Any, declarations: Mapping[str, object]) -> str:
    hint = f"it {best.shape.hint}"
    return hint if best.name in declarations else f"{hint}; {_ON_BROKER_ONLY}"


def _invalid_reason(invalid: dict[str, str]) -> str:
    """Why nobody may own `topic`, from each invalid publisher's own reason."""
    if len(invalid) == 1:
        ((key, why),) = invalid.items()
        return f"its only publisher, {key}, {why}"
    listed = "; ".join(f"{key} {why}" for key, why in invalid.items())
    return f"none of its publishers may own it ({listed})"


def _broken_wires(
    contracts: Sequence[Contract],
    declarations: Mapping[str, list[tuple[Contract, int, PublishTopic]]],
    invalid: Mapping[str, dict[str, str]],
    known: set[str],
    auto_create: bool,
) -> list[BrokenWire]:
    """Every subscription no valid declaration publishes, with its near misses ranked."""
    # Built once for every broken wire below (and only if there is one): published names first,
    # then names only the broker knows, which can still be what the subscriber meant.
    candidates = NearMissIndex(declarations, known)

    broken = []
    for contract in contracts:
        for index, name in enumerate(contract.subscribed):
            if name in declarations:
                continue
            misses = candidates.near_misses(name)
            if name in invalid:
                # The exact name is declared, but only by publishers that may not own it; a
                # valid near miss is most likely what the subscriber meant: name both.
                reason = f"{_invalid_reason(invalid[name])}: the topic is never created"
                if misses:
                    best = misses[0]
                    reason += f"; did you mean {best.name} ({_hint(best, declarations)})?"
                broken.append(
                    BrokenWire(
                        contract=contract.key,
                        topic=name,
                        suggestions=tuple(m.name for m in misses),
                        reason=reason,
                        shape=misses[0].shape if misses else None,
                        source=contract.source,
                        field=contract.field_path("subscribe", index),
                        invalid_publishers=tuple(invalid[name]),
                    )
                )
                continue
            stale = name in known
            reason = "no contract publishes it"
            if stale and auto_create:
                reason += (
                    " (it exists on the broker, probably auto-created by a consumer: the broker "
                    "has auto.create.topics.enable=true, so the typo looks healthy there)"
                )
            elif stale:
                reason += " (it still exists on the broker: left behind after a rename?)"
            if misses:
                best = misses[0]
                reason += f"; did you mean {best.name} ({_hint(best, declarations)})?"
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
    return broken


def check_wiring(
    contracts: Sequence[Contract],
    known_topics: Collection[str] = (),
    disqualified: Mapping[tuple[str, str], str] | None = None,
    owners: Mapping[str, str] | None = None,
    auto_create: bool = False,
) -> WiringReport:
    """Wire every subscription to a publisher. `known_topics` are topics on the broker that no
    contract publishes: subscribing to one is still broken, and the message says it used to
    exist; they are offered as near misses too, after published names of the same shape.

    `disqualified` maps (contract key, topic) to why that declaration breaks the naming rules
    (e.g. "declares it under another node's producer segment"): such a declaration never owns
    the topic, never wins a conflict, and a subscription it alone publishes is a broken wire.

    With `auto_create` (the broker's auto.create.topics.enable), a subscribed topic that is on
    the broker but published by nobody was most likely made by the subscriber's own consumer.

    `owners` maps a topic to the contract key that owned it so far (whose declaration created
    it, or won it last time): that contract wins any conflict over the topic.
    """
    disqualified = disqualified or {}
    owners = owners or {}
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
    broken = _broken_wires(contracts, declarations, invalid, set(known_topics), auto_create)
    unconsumed = [
        Unconsumed(topic, publishers[topic], decls[0][0].source)
        for topic, decls in declarations.items()
        if topic not in subscribed
    ]
    conflicts = [
        c
        for topic, decls in declarations.items()
        if len(decls) > 1 and (c := _conflict(topic, decls, owners.get(topic))) is not None
    ]
    return WiringReport(broken, unconsumed, conflicts, publishers)
