"""The report as text (for a terminal or a CI log) and as JSON (for tools)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .problems import Problem
from .report import Entry, Report
from .unowned import liveness


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
    if report.broker_error:
        lines.append(f"\n! The broker could not be read: {report.broker_error}")
    lines += _drift_text(
        "Unsafe drift", "the broker keeps less data than declared", "!", report.unsafe_drift
    )
    lines += _drift_text(
        "Drift", "reported only, existing topics are never altered", "~", report.drift
    )
    lines += _wires_text(report)
    lines += _findings_text(report)
    lines += _unowned_text(report)
    lines += _waiting_text(report)
    lines.append(f"\nSummary: {_summary(report)}.")
    return "\n".join(lines) + "\n"


def _drift_text(title: str, what: str, mark: str, entries: Sequence[Entry]) -> list[str]:
    if not entries:
        return []
    lines = [f"\n{title} ({len(entries)}) - {what}:"]
    for e in entries:
        lines.append(f"  {mark} {e.topic}  ({e.contract})")
        lines.extend(f"      {line}" for line in _drift_lines(e))
    return lines


def _wires_text(report: Report) -> list[str]:
    if not report.broken_wires:
        return []
    lines = [
        f"\nBroken wires ({len(report.broken_wires)}) - subscriptions no valid contract publishes:"
    ]
    for wire in report.broken_wires:
        left = "  [still on the broker]" if wire.on_broker else ""
        lines.append(f"  x {wire.contract} subscribes to {wire.topic}{left}")
        if wire.suggestion:
            lines.append(f"      did you mean {wire.suggestion}? (it {wire.hint})")
        if wire.others:
            lines.append(f"      other candidates: {', '.join(wire.others)}")
        if not wire.suggestion:
            lines.append(f"      {wire.message}")
    return lines


def _findings_text(report: Report) -> list[str]:
    """Conflicts, other errors and failed creates."""
    lines = []
    if report.conflicts:
        lines.append(
            f"\nConflicts ({len(report.conflicts)}) - one topic declared with other settings:"
        )
        for e in report.conflicts:
            lines += [f"  x {e.topic}  ({e.contract})", f"      {e.message}"]
    if report.errors:
        lines.append(f"\nOther errors ({len(report.errors)}):")
        for p in report.errors:
            lines.append(f"  x {_problem(p)}")
            if p.fix:
                lines.append(f"      fix: {p.fix}")
    if report.failed:
        lines.append(f"\nFailed ({len(report.failed)}) - the broker refused to create:")
        lines += [f"  x {e.topic}  ({e.contract}): {e.message}" for e in report.failed]
    return lines


def _unowned_text(report: Report) -> list[str]:
    if not report.unowned:
        return []
    lines = [
        f"\nUnowned ({len(report.unowned)}) - on the broker, matching the naming rules, "
        "published by no contract:"
    ]
    for producer, topics in report.unowned.by_producer.items():
        lines.append(f"  {producer or '(no producer segment)'}:")
        for t in topics:
            hint = _liveness(report, t.name)
            lines.append(f"    ? {t.name}{'  ' + hint if hint else ''}")
            if t.subscribers:
                lines.append(f"        still subscribed by {', '.join(t.subscribers)}")
    return lines


def _waiting_text(report: Report) -> list[str]:
    """Missing, pending, re-created and paused; then warnings and unverifiable keys."""
    lines = []
    if report.missing:
        lines.append(
            f"\nMissing ({len(report.missing)}) - declared, not on the broker yet "
            "(will be created):"
        )
        lines += [f"  + {e.topic}  ({e.contract})" for e in report.missing]
    if report.pending:
        lines.append(
            f"\nPending ({len(report.pending)}) - subscribed, waiting for the publisher's topic:"
        )
        lines += [f"  . {e.contract} waits for {e.topic}" for e in report.pending]
    if report.recreated:
        lines.append(
            f"\nRe-created ({len(report.recreated)}) - deleted and created again under the "
            "same name; consumers restart from their auto.offset.reset position:"
        )
        lines += [f"  ! {r.topic}  ({r.contract}): {r.message}" for r in report.recreated]
    if report.paused:
        lines.append(
            f"\nPaused ({len(report.paused)}) - nothing is created for these until the "
            "annotation eventbus.dev/paused is removed (drift and wiring still reported):"
        )
        lines += [f"  ~ {key}" for key in report.paused]
    if report.warnings:
        lines.append(f"\nWarnings ({len(report.warnings)}):")
        lines += [f"  - {_problem(p)}" for p in report.warnings]
    if report.unverifiable:
        lines.append(
            f"\nUnverifiable ({len(report.unverifiable)}) - declared config keys the broker "
            "does not report, so they cannot be compared:"
        )
        lines += [f"  - {e.topic}  ({e.contract}): {e.message}" for e in report.unverifiable]
    return lines


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
