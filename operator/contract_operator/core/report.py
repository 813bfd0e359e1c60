"""Everything wrong on the bus as one value built from a plan, and its text/JSON/markdown forms.

Pure: the caller has already loaded the contracts, read the broker and planned. The report only
regroups what the planner decided (so it can never disagree with `plan` or the operator's status)
and adds the topics no contract owns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .naming import NamingRules
from .planner import PUBLISH, SUBSCRIBE, Plan, TopicState, TopicStatus
from .problems import Problem, Severity
from .recreated import Recreated
from .snapshot import BrokerSnapshot
from .unowned import Unowned, liveness, unowned_topics

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
    wire_messages = {
        (p.contract, p.topic): p.message for p in plan.problems if p.code == "broken-wire"
    }
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
                wire = broken.get((key, t.name))
                suggestions = wire.suggestions if wire is not None else ()
                wires.append(
                    Wire(
                        key,
                        t.name,
                        wire_messages.get((key, t.name), t.message),
                        suggestions[0] if suggestions else None,
                        wire.shape.hint if wire is not None and wire.shape else None,
                        tuple(suggestions[1:]),
                        t.name in on_broker,
                    )
                )
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


# --- renderers -------------------------------------------------------------------------------


def _drift_lines(entry: Entry) -> list[str]:
    out = []
    for d in entry.drift:
        flag = "  (unsafe)" if getattr(d, "unsafe", False) else ""
        out.append(f"{d.field}: declared {d.declared}, actual {d.actual}{flag}")
    return out


def _problem(p: Problem) -> str:
    """A problem's message, with its file when the message does not start with its contract."""
    named = p.contract is not None and p.message.startswith(p.contract)
    return f"{p.source}: {p.message}" if p.source and not named else p.message


def _liveness(report: Report, name: str) -> str:
    return liveness(report.end_offsets[name]) if name in report.end_offsets else ""


def _where(report: Report) -> str:
    if report.broker:
        where = f"broker {report.broker}"
    else:
        where = "broker not read" if report.broker_error else "no broker (offline)"
    came = f" from {', '.join(report.sources)}" if report.sources else ""
    return f"{report.contracts} contracts{came}, {where}"


_SUMMARY_WORDS = {
    "unsafe_drift": "unsafe drift",
    "drift": "drift",
    "broken_wires": "broken wires",
    "conflicts": "conflicts",
    "errors": "other errors",
    "failed": "failed",
    "missing": "missing",
    "pending": "pending",
    "unowned": "unowned",
}


def _summary(report: Report) -> str:
    """The non-zero counts, most severe first, then how much is healthy."""
    c = report.counts()
    found = ", ".join(f"{c[k]} {word}" for k, word in _SUMMARY_WORDS.items() if c[k])
    if report.broker_error:
        found = ", ".join(filter(None, ["broker not read", found]))
    healthy = f"{c['healthy']} healthy publications and subscriptions"
    if report.broker is None and not report.broker_error:
        healthy = "the broker was not read (no drift, missing or unowned topics checked)"
    return f"{found or 'nothing wrong'}; {healthy}"


def render_text(report: Report) -> str:
    lines = [f"Report: {_where(report)}"]
    w = lines.append
    if report.broker_error:
        w(f"\n! The broker could not be read: {report.broker_error}")
    if report.unsafe_drift:
        w(
            f"\nUnsafe drift ({len(report.unsafe_drift)}) - "
            "the broker keeps less data than declared:"
        )
        for e in report.unsafe_drift:
            w(f"  ! {e.topic}  ({e.contract})")
            lines.extend(f"      {line}" for line in _drift_lines(e))
    if report.drift:
        w(f"\nDrift ({len(report.drift)}) - reported only, existing topics are never altered:")
        for e in report.drift:
            w(f"  ~ {e.topic}  ({e.contract})")
            lines.extend(f"      {line}" for line in _drift_lines(e))
    if report.broken_wires:
        w(
            f"\nBroken wires ({len(report.broken_wires)}) - "
            "subscriptions no valid contract publishes:"
        )
        for wire in report.broken_wires:
            left = "  [still on the broker]" if wire.on_broker else ""
            w(f"  x {wire.contract} subscribes to {wire.topic}{left}")
            if wire.suggestion:
                w(f"      did you mean {wire.suggestion}? (it {wire.hint})")
            if wire.others:
                w(f"      other candidates: {', '.join(wire.others)}")
            if not wire.suggestion:
                w(f"      {wire.message}")
    if report.conflicts:
        w(f"\nConflicts ({len(report.conflicts)}) - one topic declared with other settings:")
        for e in report.conflicts:
            w(f"  x {e.topic}  ({e.contract})")
            w(f"      {e.message}")
    if report.errors:
        w(f"\nOther errors ({len(report.errors)}):")
        for p in report.errors:
            w(f"  x {_problem(p)}")
            if p.fix:
                w(f"      fix: {p.fix}")
    if report.failed:
        w(f"\nFailed ({len(report.failed)}) - the broker refused to create:")
        for e in report.failed:
            w(f"  x {e.topic}  ({e.contract}): {e.message}")
    if report.unowned:
        w(
            f"\nUnowned ({len(report.unowned)}) - on the broker, matching the naming rules, "
            "published by no contract:"
        )
        for producer, topics in report.unowned.by_producer.items():
            w(f"  {producer or '(no producer segment)'}:")
            for t in topics:
                hint = _liveness(report, t.name)
                w(f"    ? {t.name}{'  ' + hint if hint else ''}")
                if t.subscribers:
                    w(f"        still subscribed by {', '.join(t.subscribers)}")
    if report.missing:
        w(f"\nMissing ({len(report.missing)}) - declared, not on the broker yet (will be created):")
        lines.extend(f"  + {e.topic}  ({e.contract})" for e in report.missing)
    if report.pending:
        w(f"\nPending ({len(report.pending)}) - subscribed, waiting for the publisher's topic:")
        lines.extend(f"  . {e.contract} waits for {e.topic}" for e in report.pending)
    if report.recreated:
        w(
            f"\nRe-created ({len(report.recreated)}) - deleted and created again under the "
            "same name; consumers restart from their auto.offset.reset position:"
        )
        lines.extend(f"  ! {r.topic}  ({r.contract}): {r.message}" for r in report.recreated)
    if report.paused:
        w(
            f"\nPaused ({len(report.paused)}) - nothing is created for these until the "
            "annotation eventbus.dev/paused is removed (drift and wiring still reported):"
        )
        lines.extend(f"  ~ {key}" for key in report.paused)
    if report.warnings:
        w(f"\nWarnings ({len(report.warnings)}):")
        lines.extend(f"  - {_problem(p)}" for p in report.warnings)
    if report.unverifiable:
        w(
            f"\nUnverifiable ({len(report.unverifiable)}) - declared config keys the broker "
            "does not report, so they cannot be compared:"
        )
        lines.extend(f"  - {e.topic}  ({e.contract}): {e.message}" for e in report.unverifiable)
    w(f"\nSummary: {_summary(report)}.")
    return "\n".join(lines) + "\n"


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "contracts": report.contracts,
        "sources": list(report.sources),
        "broker": report.broker,
        "broker_error": report.broker_error,
        "summary": report.counts(),
        "unsafe_drift": [e.to_dict() for e in report.unsafe_drift],
        "drift": [e.to_dict() for e in report.drift],
        "broken_wires": [w.to_dict() for w in report.broken_wires],
        "conflicts": [e.to_dict() for e in report.conflicts],
        "errors": [p.to_dict() for p in report.errors],
        "warnings": [p.to_dict() for p in report.warnings],
        "paused": list(report.paused),
        "recreated": [
            {"contract": r.contract, "topic": r.topic, "old_id": r.old_id, "new_id": r.new_id}
            for r in report.recreated
        ],
        "failed": [e.to_dict() for e in report.failed],
        "missing": [e.to_dict() for e in report.missing],
        "pending": [e.to_dict() for e in report.pending],
        "unverifiable": [
            {"contract": e.contract, "topic": e.topic, "keys": e.message.split(", ")}
            for e in report.unverifiable
        ],
        "unowned": [
            {
                "producer": producer or None,
                "topics": [
                    {
                        "name": t.name,
                        "kind": t.kind,
                        "subscribers": list(t.subscribers),
                        "end_offset": report.end_offsets.get(t.name),
                    }
                    for t in topics
                ],
            }
            for producer, topics in report.unowned.by_producer.items()
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2) + "\n"


def _cell(text: str) -> str:
    """Markdown table cell: no pipes or newlines to break the row."""
    # Backslashes first, so a message shows as written (markdown would eat a backslash before
    # punctuation). Every kind of line break (\r, \u2028, ...) becomes a space.
    escaped = text.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(escaped.splitlines())


def render_markdown(report: Report) -> str:
    """For a pull-request comment: a verdict, a count table, then one table per finding kind."""
    c = report.counts()
    verdict = "nothing wrong" if report.clean else ("errors" if report.has_errors else "findings")
    lines = [
        f"### contract-operator report: {verdict}",
        "",
        f"{_where(report)}.",
        "",
    ]
    w = lines.append
    if report.broker_error:
        w(f"> **The broker could not be read:** {_cell(report.broker_error)}")
        w("")
    w(
        "| unsafe drift | drift | broken wires | conflicts | errors | failed | missing | pending "
        "| unowned | healthy |"
    )
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    w(
        "| "
        + " | ".join(
            str(c[k])
            for k in (
                "unsafe_drift",
                "drift",
                "broken_wires",
                "conflicts",
                "errors",
                "failed",
                "missing",
                "pending",
                "unowned",
                "healthy",
            )
        )
        + " |"
    )

    def drift_table(title: str, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        w("")
        w(f"#### {title}")
        w("")
        w("| topic | contract | field | declared | actual |")
        w("|---|---|---|---|---|")
        for e in entries:
            for d in e.drift:
                flag = " **(unsafe)**" if getattr(d, "unsafe", False) else ""
                w(
                    f"| `{e.topic}` | {_cell(e.contract)} | {_cell(d.field)}{flag} | "
                    f"{_cell(d.declared)} | {_cell(d.actual)} |"
                )

    drift_table("Unsafe drift (the broker keeps less data than declared)", report.unsafe_drift)
    drift_table("Drift (reported only; existing topics are never altered)", report.drift)
    if report.broken_wires:
        w("")
        w("#### Broken wires")
        w("")
        w("| subscriber | subscribes to | did you mean | |")
        w("|---|---|---|---|")
        for wire in report.broken_wires:
            suggestion = f"`{wire.suggestion}`" if wire.suggestion else ""
            note = f"it {wire.hint}" if wire.hint else _cell(wire.message)
            if wire.on_broker:
                note += " (still on the broker)"
            w(f"| {_cell(wire.contract)} | `{wire.topic}` | {suggestion} | {note} |")
    for title, entries in (
        ("Conflicts", report.conflicts),
        ("Failed creates", report.failed),
    ):
        if entries:
            w("")
            w(f"#### {title}")
            w("")
            w("| topic | contract | |")
            w("|---|---|---|")
            for e in entries:
                w(f"| `{e.topic}` | {_cell(e.contract)} | {_cell(e.message)} |")
    if report.errors:
        w("")
        w("#### Other errors")
        w("")
        for p in report.errors:
            fix = f" Fix: {_cell(p.fix)}" if p.fix else ""
            w(f"- {_cell(_problem(p))}{fix}")
    if report.unowned:
        w("")
        w("#### Unowned topics (on the broker, published by no contract)")
        w("")
        w("| producer | topic | still subscribed by | data |")
        w("|---|---|---|---|")
        for producer, topics in report.unowned.by_producer.items():
            for t in topics:
                w(
                    f"| {producer or '-'} | `{t.name}` | {', '.join(t.subscribers)} | "
                    f"{_liveness(report, t.name)} |"
                )
    if report.recreated:
        w("")
        w("#### Re-created topics (data and consumer offsets lost)")
        w("")
        lines.extend(f"- `{r.topic}` ({_cell(r.contract)}): {r.message}" for r in report.recreated)
    waiting = [("missing: will be created", e) for e in report.missing] + [
        ("pending: waiting for its publisher", e) for e in report.pending
    ]
    if waiting:
        w("")
        w(f"<details><summary>Not on the broker yet ({len(waiting)})</summary>")
        w("")
        w("| topic | contract | |")
        w("|---|---|---|")
        for label, e in waiting:
            w(f"| `{e.topic}` | {_cell(e.contract)} | {label} |")
        w("")
        w("</details>")
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)
