"""`contract-operator report` output, whole: the demo fleet against an in-memory broker and the
broken examples without one, in text, Markdown and JSON, compared with tests/unit/golden/.

test_report.py checks what each section must say; this pins everything else a reader or a
script sees (ordering, headings, counts, table layout), through the command itself. After a
deliberate change to the output, regenerate with
`UPDATE_GOLDEN=1 pytest tests/unit/test_report_golden.py` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_operator.adapters import broker as broker_module
from contract_operator.cli.main import main

from .fakes import FakeAdmin, FakeTopic

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
FORMATS = {"text": "txt", "markdown": "md", "json": "json"}


def _demo_broker() -> FakeAdmin:
    """The demo fleet's broker: billing's topic made by hand, one topic left behind."""
    return FakeAdmin(
        {
            "onex.evt.billing.invoice-issued.v1": FakeTopic(
                2, 1, {"retention.ms": "3600000", "cleanup.policy": "delete"}
            ),
            "onex.cmd.gateway.route-request.v1": FakeTopic(6, 1, {"retention.ms": "86400000"}),
            "onex.evt.router.routing-complete.v1": FakeTopic(
                6, 1, {"retention.ms": "604800000", "cleanup.policy": "delete"}
            ),
            "onex.evt.router.route-decided.v1": FakeTopic(1, 1),
            "__consumer_offsets": FakeTopic(1, 1),
        }
    )


CASES = {
    "demo": (["examples/demo", "--bootstrap-server", "127.0.0.1:9"], 1),
    "broken": (["examples/broken", "--no-broker"], 1),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("name", list(CASES))
def test_report_output_is_unchanged(
    name: str, fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = _demo_broker()
    monkeypatch.setattr(broker_module, "AdminClient", lambda conf: admin)
    args, code = CASES[name]
    assert main(["report", str(ROOT / args[0]), *args[1:], "--format", fmt]) == code
    text = capsys.readouterr().out.replace(f"{ROOT}{os.sep}", "")
    path = GOLDEN / f"report-{name}.{FORMATS[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs: review, then UPDATE_GOLDEN=1"
