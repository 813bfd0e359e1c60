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
from contract_operator.core.planner import plan
from contract_operator.core.recreated import Recreated
from contract_operator.core.report import Report, build_report
from contract_operator.core.report_formats import render

from .factories import broker, contract, observed
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


# The sections the two fleets above do not reach: plain drift, a failed create, a pending
# subscription, a re-created topic, a subscription to a topic left on the broker, and a broker
# that could not be read. Built with build_report (the command reads failures and re-created
# topics from a cluster's statuses) and rendered by the format's own renderer.
def _render(report: Report, fmt: str) -> str:
    return render(report, fmt)


def _findings() -> Report:
    router = contract(
        "router",
        publish=[
            {"name": "onex.evt.router.wide.v1", "partitions": 6},
            "onex.evt.router.failed.v1",
            {"name": "onex.evt.router.tiered.v1", "config": {"redpanda.remote.read": "true"}},
        ],
    )
    # Declared before the router's drift and sorted after it: sections are ordered by topic.
    zeta = contract(
        "aardvark", node="zeta", publish=[{"name": "onex.evt.zeta.z.v1", "partitions": 2}]
    )
    billing = contract("billing", publish=["onex.evt.billing.issued.v1"])
    notifier = contract("notifier", subscribe=["onex.evt.billing.issued.v1"])
    snapshot = broker(
        observed("onex.evt.router.wide.v1", 3),
        observed("onex.evt.zeta.z.v1", 1),
        observed("onex.evt.router.tiered.v1"),
    )
    return build_report(
        plan([zeta, router, billing, notifier], snapshot),
        snapshot,
        broker="b:9092",
        recorded_failures={
            ("agents/router", "onex.evt.router.failed.v1"): "POLICY_VIOLATION: refused"
        },
        recreated=[Recreated("agents/router", "onex.evt.router.wide.v1", "id-a", "id-b")],
    )


def _stale_and_unread() -> Report:
    ledger = contract("ledger", subscribe=["onex.evt.payments.payment-completed.v1"])
    stale = build_report(
        plan([ledger], broker(extra=("onex.evt.payments.payment-completed.v1",))),
        broker(extra=("onex.evt.payments.payment-completed.v1",)),
        broker="b:9092",
    )
    unread = build_report(
        plan([ledger], None, broker_error="cannot reach broker b:9092 | within 2 s"), None
    )
    return Report(**{**vars(stale), "broker_error": unread.broker_error})


BUILT = {"findings": _findings, "stale-unread": _stale_and_unread}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("name", list(BUILT))
def test_report_sections_are_unchanged(name: str, fmt: str) -> None:
    text = _render(BUILT[name](), fmt)
    path = GOLDEN / f"report-{name}.{FORMATS[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs: review, then UPDATE_GOLDEN=1"
