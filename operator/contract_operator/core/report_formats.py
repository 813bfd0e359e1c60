"""The report's forms, by the name `--format` takes."""

from __future__ import annotations

from collections.abc import Callable

from .report import Report
from .report_markdown import render_markdown
from .report_text import render_json, render_text

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)
