"""`contract-operator report` output, whole: the demo fleet against its broker and the broken
examples without one, in text, Markdown and JSON, compared with tests/unit/golden/.

test_report.py checks what each section must say; this pins everything else a reader or a
script sees (ordering, headings, counts, table layout). After a deliberate change to the
output, regenerate with `UPDATE_GOLDEN=1 pytest tests/unit/test_report_golden.py` and review
the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_operator.core.planner import plan
from contract_operator.core.report import Report, build_report, render
from contract_operator.model.loader import load_paths

from .test_report import BROKEN, LEFT_BEHIND, ROOT, demo_report

GOLDEN = Path(__file__).parent / "golden"
FORMATS = {"text": "txt", "markdown": "md", "json": "json"}


def _broken() -> Report:
    loaded = load_paths([BROKEN])
    return build_report(plan(loaded.contracts, None), extra_problems=loaded.problems)


REPORTS = {
    "demo": lambda: demo_report(end_offsets={LEFT_BEHIND: 0}),
    "broken": _broken,
}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("name", list(REPORTS))
def test_report_output_is_unchanged(name: str, fmt: str) -> None:
    text = render(REPORTS[name](), fmt).replace(f"{ROOT}{os.sep}", "")
    path = GOLDEN / f"report-{name}.{FORMATS[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs: review, then UPDATE_GOLDEN=1"
