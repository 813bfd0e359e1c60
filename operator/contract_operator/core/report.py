"""Everything wrong on the bus as one value built from a plan (its text, JSON and markdown forms:
report_text.py, report_markdown.py).

Pure: the caller has already loaded the contracts, read the broker and planned. The report only
regroups what the planner decided (so it can never disagree with `plan` or the operator's status)
and adds the topics no contract owns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .naming import NamingRules
from .planner import PUBLISH, SUBSCRIBE, Plan, TopicState, TopicStatus
from .problems import Problem, Severity
from .recreated import Recreated
from .snapshot import BrokerSnapshot
from .unowned import Unowned, unowned_topics
from .wiring import BrokenWire

# Problem codes the report shows in their own section; every other error is listed as is.
_OWN_SECTIONS = frozenset({"broken-wire", "conflict"})


def is_unsafe(topic: TopicStatus) -> bool:
    """Some drifted field keeps fewer copies or less data than declared (when the planner says)."""
    return any(getattr(d, "unsafe", False) for d in topic.drift)


@dataclass(frozen=True)
class Entry:
    """One finding about one topic of one contract."""

    contract: str
    topic: str
    message: str = ""
    drift: tuple[Any, ...] = ()  # DriftField values (with `unsafe` when the planner sets it)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"contract": self.contract, "topic": self.topic}
        if self.message:
            out["message"] = self.message
        if self.drift:
            out["drift"] = [
                {**d.to_dict(), "unsafe": bool(getattr(d, "unsafe", False))} for d in self.drift
            ]
        return out


@dataclass(frozen=True)
class Wire:
    """A subscription no valid contract publishes, with the name it was probably meant to be."""

    contract: str
    topic: str
    message: str
    suggestion: str | None = None
    hint: str | None = None  # how the suggestion differs, e.g. "differs only in '-' vs '_'"
    others: tuple[str, ...] = ()
    on_broker: bool = False  # the topic exists: left behind after a rename?

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "topic": self.topic,
            "suggestion": self.suggestion,
            "hint": self.hint,
            "other_candidates": list(self.others),
            "on_broker": self.on_broker,
            "message": self.message,
        }


@dataclass(frozen=True)
class Report:
    """What is wrong on the bus. Each list is sorted; empty lists mean nothing of that kind."""

    contracts: int
    broker: str | None  # where the topics were read, None when the broker was not asked
    broker_error: str | None
    unsafe_drift: tuple[Entry, ...] = ()
    drift: tuple[Entry, ...] = ()
    broken_wires: tuple[Wire, ...] = ()
    conflicts: tuple[Entry, ...] = ()
    errors: tuple[Problem, ...] = ()  # invalid contracts and names, unreadable files
    warnings: tuple[Problem, ...] = ()
    failed: tuple[Entry, ...] = ()
    missing: tuple[Entry, ...] = ()  # published, not on the broker yet: will be created
    pending: tuple[Entry, ...] = ()  # subscribed, waiting for the publisher's topic
    # Declared config keys the broker does not report: neither confirmed nor drift (a note).
    unverifiable: tuple[Entry, ...] = ()
    unowned: Unowned = field(default_factory=Unowned)
    end_offsets: Mapping[str, int | None] = field(default_factory=dict)
    healthy: int = 0  # topics (per contract and role) with nothing to say
    sources: tuple[str, ...] = ()  # namespaces or paths the contracts came from
    paused: tuple[str, ...] = ()  # contracts whose provisioning is paused (eventbus.dev/paused)
    recreated: tuple[Recreated, ...] = ()  # deleted and re-created: data and offsets lost

    @property
    def has_errors(self) -> bool:
        return bool(
            self.broker_error or self.broken_wires or self.conflicts or self.errors or self.failed
        )

    def counts(self) -> dict[str, int]:
        return {
            "unsafe_drift": len(self.unsafe_drift),
            "drift": len(self.drift),
            "broken_wires": len(self.broken_wires),
            "conflicts": len(self.conflicts),
            "errors": len(self.errors),
            "failed": len(self.failed),
            "missing": len(self.missing),
            "pending": len(self.pending),
            "unowned": len(self.unowned),
            "healthy": self.healthy,
        }

    @property
    def clean(self) -> bool:
        counts = self.counts()
        del counts["healthy"]
        return not self.broker_error and not any(counts.values())


def _sort_topics(
    plan: Plan, on_broker: frozenset[str], recorded_failures: Mapping[tuple[str, str], str]
) -> tuple[dict[str, list[Entry]], list[Wire], list[Entry], int]:
    """Each topic of each contract into its section; the broken wires with the plan's own
    suggestions; the unverifiable config keys; how many topics have nothing to say."""
    sections: dict[str, list[Entry]] = {
        k: [] for k in ("unsafe", "drift", "conflict", "failed", "missing", "pending")
    }
    wires: list[Wire] = []
    unverifiable: list[Entry] = []
    healthy = 0
    conflict_messages = {
        (p.contract, p.topic): p.message for p in plan.problems if p.code == "conflict"
    }
    broken = {(w.contract, w.topic): w for w in plan.broken_wires}
    messages = {(p.contract, p.topic): p.message for p in plan.problems if p.code == "broken-wire"}
    for cp in plan.contracts:
        key = cp.contract.key
        for t in cp.topics:
            keys = tuple(getattr(t, "unverifiable", ()))
            if keys:
                unverifiable.append(Entry(key, t.name, ", ".join(keys)))
            if t.state is TopicState.DRIFTED:
                sections["unsafe" if is_unsafe(t) else "drift"].append(
                    Entry(key, t.name, t.message, t.drift)
                )
            elif t.state is TopicState.CONFLICT:
                message = conflict_messages.get((key, t.name), t.message)
                sections["conflict"].append(Entry(key, t.name, message))
            elif t.state is TopicState.ORPHANED:
                where = (key, t.name)
                wires.append(_wire(key, t, broken.get(where), messages.get(where), on_broker))
            elif t.state is TopicState.FAILED:
                sections["failed"].append(Entry(key, t.name, t.message))
            elif t.state is TopicState.MISSING and (key, t.name) in recorded_failures:
                sections["failed"].append(Entry(key, t.name, recorded_failures[key, t.name]))
            elif t.state is TopicState.MISSING and t.role == PUBLISH:
                sections["missing"].append(Entry(key, t.name, t.message))
            elif t.state is TopicState.PENDING and t.role == SUBSCRIBE:
                sections["pending"].append(Entry(key, t.name, t.message))
            elif t.state in (TopicState.PRESENT, TopicState.CREATED):
                healthy += 1
    return sections, wires, unverifiable, healthy


def _wire(
    key: str,
    t: TopicStatus,
    wire: BrokenWire | None,
    message: str | None,
    on_broker: frozenset[str],
) -> Wire:
    """A broken wire as the plan found it: its message and ranked suggestions."""
    suggestions = wire.suggestions if wire is not None else ()
    return Wire(
        key,
        t.name,
        message or t.message,
        suggestions[0] if suggestions else None,
        wire.shape.hint if wire is not None and wire.shape else None,
        tuple(suggestions[1:]),
        t.name in on_broker,
    )


def build_report(
    plan: Plan,
    snapshot: BrokerSnapshot | None = None,
    *,
    rules: NamingRules | None = None,
    unowned: Unowned | None = None,
    end_offsets: Mapping[str, int | None] | None = None,
    broker: str | None = None,
    extra_problems: Sequence[Problem] = (),
    recorded_failures: Mapping[tuple[str, str], str] | None = None,
    sources: Sequence[str] = (),
    recreated: Sequence[Recreated] = (),
) -> Report:
    """Regroup `plan` into the report's sections.

    `snapshot` is the broker read the plan was made from (None when the broker was not asked);
    the unowned topics are found in it with `rules` unless `unowned` is given.

    `extra_problems` are findings from loading (unreadable files, invalid specs);
    `recorded_failures` maps (contract key, topic) to a create failure the operator stored in
    the contract's status, so a topic the broker refused shows as failed, not merely missing.
    """
    recorded_failures = recorded_failures or {}
    contracts = [cp.contract for cp in plan.contracts]
    if unowned is None:
        unowned = unowned_topics(contracts, snapshot.all_names, rules) if snapshot else Unowned()
    on_broker = snapshot.all_names if snapshot else frozenset()
    sections, wires, unverifiable, healthy = _sort_topics(plan, on_broker, recorded_failures)
    problems = [*extra_problems, *plan.problems]
    errors = [p for p in problems if p.is_error and p.code not in _OWN_SECTIONS]
    warnings = [p for p in problems if p.severity is Severity.WARNING]

    def ordered(entries: list[Entry]) -> tuple[Entry, ...]:
        return tuple(sorted(entries, key=lambda e: (e.topic, e.contract)))

    return Report(
        contracts=len(plan.contracts),
        broker=broker,
        broker_error=plan.broker_error,
        unsafe_drift=ordered(sections["unsafe"]),
        drift=ordered(sections["drift"]),
        broken_wires=tuple(sorted(wires, key=lambda w: (w.topic, w.contract))),
        conflicts=ordered(sections["conflict"]),
        errors=tuple(errors),
        warnings=tuple(warnings),
        failed=ordered(sections["failed"]),
        missing=ordered(sections["missing"]),
        pending=ordered(sections["pending"]),
        unverifiable=ordered(unverifiable),
        paused=tuple(sorted(cp.contract.key for cp in plan.contracts if cp.contract.paused)),
        recreated=tuple(recreated),
        unowned=unowned,
        end_offsets=dict(end_offsets or {}),
        healthy=healthy,
        sources=tuple(sources),
    )
