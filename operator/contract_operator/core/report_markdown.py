"""The report as markdown, for a pull-request comment."""

from __future__ import annotations

from collections.abc import Sequence

from .report import Entry, Report
from .report_text import _liveness, _problem, _where


def _cell(text: str) -> str:
    """Markdown table cell: no pipes or newlines to break the row."""
    # Backslashes first, so a message shows as written (markdown would eat a backslash before
    # punctuation). Every kind of line break (\r, \u2028, ...) becomes a space.
    escaped = text.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(escaped.splitlines())


COUNTED = (
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


def render_markdown(report: Report) -> str:
    """For a pull-request comment: a verdict, a count table, then one table per finding kind."""
    lines = _header(report)
    lines += _drift_table(
        "Unsafe drift (the broker keeps less data than declared)", report.unsafe_drift
    )
    lines += _drift_table("Drift (reported only; existing topics are never altered)", report.drift)
    lines += _wires(report)
    lines += _entries("Conflicts", report.conflicts)
    lines += _entries("Failed creates", report.failed)
    lines += _errors(report)
    lines += _unowned(report)
    lines += _recreated(report)
    lines += _waiting(report)
    return "\n".join(lines) + "\n"


def _section(title: str, *head: str) -> list[str]:
    return ["", f"#### {title}", "", *head]


def _header(report: Report) -> list[str]:
    c = report.counts()
    verdict = "nothing wrong" if report.clean else ("errors" if report.has_errors else "findings")
    lines = [f"### contract-operator report: {verdict}", "", f"{_where(report)}.", ""]
    if report.broker_error:
        lines += [f"> **The broker could not be read:** {_cell(report.broker_error)}", ""]
    lines.append(
        "| unsafe drift | drift | broken wires | conflicts | errors | failed | missing | pending "
        "| unowned | healthy |"
    )
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines.append("| " + " | ".join(str(c[k]) for k in COUNTED) + " |")
    return lines


def _drift_table(title: str, entries: Sequence[Entry]) -> list[str]:
    if not entries:
        return []
    lines = _section(
        title, "| topic | contract | field | declared | actual |", "|---|---|---|---|---|"
    )
    for e in entries:
        for d in e.drift:
            flag = " **(unsafe)**" if getattr(d, "unsafe", False) else ""
            lines.append(
                f"| `{e.topic}` | {_cell(e.contract)} | {_cell(d.field)}{flag} | "
                f"{_cell(d.declared)} | {_cell(d.actual)} |"
            )
    return lines


def _wires(report: Report) -> list[str]:
    if not report.broken_wires:
        return []
    lines = _section(
        "Broken wires", "| subscriber | subscribes to | did you mean | |", "|---|---|---|---|"
    )
    for wire in report.broken_wires:
        suggestion = f"`{wire.suggestion}`" if wire.suggestion else ""
        note = f"it {wire.hint}" if wire.hint else _cell(wire.message)
        if wire.on_broker:
            note += " (still on the broker)"
        lines.append(f"| {_cell(wire.contract)} | `{wire.topic}` | {suggestion} | {note} |")
    return lines


def _entries(title: str, entries: Sequence[Entry]) -> list[str]:
    if not entries:
        return []
    lines = _section(title, "| topic | contract | |", "|---|---|---|")
    lines += [f"| `{e.topic}` | {_cell(e.contract)} | {_cell(e.message)} |" for e in entries]
    return lines


def _errors(report: Report) -> list[str]:
    if not report.errors:
        return []
    lines = _section("Other errors")
    for p in report.errors:
        fix = f" Fix: {_cell(p.fix)}" if p.fix else ""
        lines.append(f"- {_cell(_problem(p))}{fix}")
    return lines


def _unowned(report: Report) -> list[str]:
    if not report.unowned:
        return []
    lines = _section(
        "Unowned topics (on the broker, published by no contract)",
        "| producer | topic | still subscribed by | data |",
        "|---|---|---|---|",
    )
    for producer, topics in report.unowned.by_producer.items():
        lines += [
            f"| {producer or '-'} | `{t.name}` | {', '.join(t.subscribers)} | "
            f"{_liveness(report, t.name)} |"
            for t in topics
        ]
    return lines


def _recreated(report: Report) -> list[str]:
    if not report.recreated:
        return []
    lines = _section("Re-created topics (data and consumer offsets lost)")
    lines += [f"- `{r.topic}` ({_cell(r.contract)}): {r.message}" for r in report.recreated]
    return lines


def _waiting(report: Report) -> list[str]:
    waiting = [("missing: will be created", e) for e in report.missing] + [
        ("pending: waiting for its publisher", e) for e in report.pending
    ]
    if not waiting:
        return []
    lines = ["", f"<details><summary>Not on the broker yet ({len(waiting)})</summary>", ""]
    lines += ["| topic | contract | |", "|---|---|---|"]
    lines += [f"| `{e.topic}` | {_cell(e.contract)} | {label} |" for label, e in waiting]
    return [*lines, "", "</details>"]
