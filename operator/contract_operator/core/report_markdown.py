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
