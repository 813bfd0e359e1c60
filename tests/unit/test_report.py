"""`report`: one answer to "what is wrong on the bus", built from the planner's own decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_operator.cli.main import main
from contract_operator.cli.report import exit_code
from contract_operator.core.drift import DriftField
from contract_operator.core.exit_status import (
    EXIT_DRIFT,
    EXIT_ERROR,
    EXIT_MISSING,
    EXIT_OK,
    EXIT_UNOWNED,
    EXIT_UNSAFE_DRIFT,
)
from contract_operator.core.planner import (
    PUBLISH,
    ContractPlan,
    Plan,
    TopicState,
    TopicStatus,
    plan,
)
from contract_operator.core.report import build_report
from contract_operator.core.report_formats import render
from contract_operator.core.report_markdown import render_markdown
from contract_operator.core.report_text import to_dict
from contract_operator.core.snapshot import BrokerSnapshot
from contract_operator.model.loader import load_paths
from tests.unit.factories import broker, contract, observed

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
BROKEN = ROOT / "examples" / "broken"

INVOICE = "onex.evt.billing.invoice-issued.v1"
ROUTE_REQUEST = "onex.cmd.gateway.route-request.v1"
ROUTING = "onex.evt.router.routing-complete.v1"
LEFT_BEHIND = "onex.evt.router.route-decided.v1"


def demo_snapshot() -> BrokerSnapshot:
    """The demo fleet's broker: billing's topic made by hand, one topic left behind."""
    return broker(
        observed(INVOICE, 2, 1, **{"retention.ms": "3600000", "cleanup.policy": "delete"}),
        observed(ROUTE_REQUEST, 6, 1, **{"retention.ms": "86400000"}),
        observed(ROUTING, 6, 1, **{"retention.ms": "604800000", "cleanup.policy": "delete"}),
        extra=(LEFT_BEHIND, "__consumer_offsets"),
    )


def demo_report(**kwargs):  # type: ignore[no-untyped-def]
    loaded = load_paths([DEMO])
    snapshot = demo_snapshot()
    return build_report(
        plan(loaded.contracts, snapshot), snapshot, broker="127.0.0.1:9092", **kwargs
    )


def test_demo_fleet_report_lists_drift_broken_wire_unowned_and_missing() -> None:
    report = demo_report(end_offsets={LEFT_BEHIND: 0})
    # 1 hour of retention where 7 days are declared keeps less data: unsafe drift
    assert [(e.contract, e.topic) for e in report.unsafe_drift] == [("demo/billing", INVOICE)]
    assert {d.field for d in report.unsafe_drift[0].drift} == {"partitions", "retention.ms"}
    assert not report.drift
    (wire,) = report.broken_wires
    assert (wire.contract, wire.topic, wire.suggestion) == (
        "demo/notifier",
        "onex.evt.router.routing_complete.v1",
        ROUTING,
    )
    assert "'-' vs '_'" in (wire.hint or "")
    assert report.unowned.names == {LEFT_BEHIND}
    assert [e.topic for e in report.missing] == ["onex.evt.notifier.notification-sent.v1"]
    assert not report.conflicts and not report.errors
    text = render(report, "text")
    assert "did you mean onex.evt.router.routing-complete.v1?" in text
    assert f"? {LEFT_BEHIND}  empty (never written)" in text
    assert "partitions: declared 6, actual 2" in text
    assert "retention.ms: declared 604800000, actual 3600000  (unsafe)" in text
    assert exit_code(report) == EXIT_ERROR  # the broken wire


def test_every_bug_shape_in_the_broken_examples_is_in_the_report_marked_as_such() -> None:
    loaded = load_paths([BROKEN])
    report = build_report(plan(loaded.contracts, None), extra_problems=loaded.problems)
    hints = {w.topic: (w.suggestion, w.hint) for w in report.broken_wires}
    # its only publisher may not publish under checkout's segment: never created, no suggestion
    assert hints.pop("onex.cmd.checkout.place-order.v1") == (None, None)
    assert hints == {
        "onex.evt.router.routing_complete.v1": (
            "onex.evt.router.routing-complete.v1",
            "differs only in '-' vs '_' or case",
        ),
        "onex.evt.policy-engine.policy-updated.v1": (
            "onex.evt.policy-engine.policies-updated.v1",
            "differs only in singular vs plural",
        ),
        "onex.evt.inventory.stock-reserved.v1": (
            "onex.evt.inventory.stock-reserved.v2",
            "is another version of the same event",
        ),
        "onex.evt.payments.payment-completed.v1": (
            "onex.evt.payments.payment-settled.v1",
            "differs in one segment",
        ),
    }
    assert [(e.contract, e.topic) for e in report.conflicts] == [
        ("agents/search-canary", "onex.evt.search.document-indexed.v1")
    ]
    codes = {p.code for p in report.errors}
    assert {"foreign-producer", "name-pattern"} <= codes
    sources = " ".join(p.source or "" for p in report.errors)
    for unreadable in ("bad-yaml", "duplicate-key", "misspelled-field"):
        assert unreadable in sources
    assert "examples/broken/misspelled-field/contract.yaml: " in render(report, "text")
    markdown = render_markdown(report)
    for heading in ("#### Broken wires", "#### Conflicts", "#### Other errors"):
        assert heading in markdown
    assert exit_code(report) == EXIT_ERROR


@dataclass(frozen=True)
class _UnsafeField(DriftField):
    """A drifted field the planner marks unsafe (fewer copies or less data than declared)."""

    unsafe: bool = True


def _drift_plan(*fields: DriftField) -> Plan:
    c = contract("ledger", publish=["onex.evt.ledger.entry-posted.v1"])
    status = TopicStatus(
        "onex.evt.ledger.entry-posted.v1", PUBLISH, TopicState.DRIFTED, "drifted", fields
    )
    return Plan((), (ContractPlan(c, (status,), ()),), ())


def test_unsafe_drift_is_its_own_section_and_outranks_plain_drift() -> None:
    report = build_report(
        _drift_plan(
            _UnsafeField("replicationFactor", "3", "1"), DriftField("partitions", "6", "3")
        ),
        BrokerSnapshot(),
    )
    assert len(report.unsafe_drift) == 1 and not report.drift
    text = render(report, "text")
    assert "Unsafe drift (1)" in text
    assert "replicationFactor: declared 3, actual 1  (unsafe)" in text
    assert "**(unsafe)**" in render(report, "markdown")
    fields = json.loads(render(report, "json"))["unsafe_drift"][0]["drift"]
    assert [f["unsafe"] for f in fields] == [True, False]
    assert exit_code(report) == EXIT_UNSAFE_DRIFT


def test_drift_the_planner_does_not_call_unsafe_is_plain_drift() -> None:
    report = build_report(_drift_plan(DriftField("partitions", "6", "3")), BrokerSnapshot())
    assert len(report.drift) == 1 and not report.unsafe_drift
    assert exit_code(report) == EXIT_DRIFT


def test_exit_status_order_errors_unsafe_missing_drift_unowned() -> None:
    router = contract("router", publish=[ROUTING])
    healthy = broker(observed(ROUTING))
    assert exit_code(build_report(plan([router], healthy), healthy)) == EXIT_OK
    left = broker(observed(ROUTING), extra=(LEFT_BEHIND,))
    assert exit_code(build_report(plan([router], left), left)) == EXIT_UNOWNED
    empty = broker(extra=(LEFT_BEHIND,))
    assert exit_code(build_report(plan([router], empty), empty)) == EXIT_MISSING
    drifted = broker(observed(ROUTING, partitions=3), extra=(LEFT_BEHIND,))  # more is safe
    router6 = contract("router", publish=[{"name": ROUTING, "partitions": 6}])
    assert exit_code(build_report(plan([router6], drifted), drifted)) == EXIT_DRIFT
    # drift and a topic to create: missing wins; unsafe drift outranks both; errors outrank all
    auditor = contract("auditor", publish=["onex.evt.auditor.checked.v1"])
    assert exit_code(build_report(plan([router6, auditor], drifted), drifted)) == EXIT_MISSING
    unsafe = _drift_plan(_UnsafeField("replicationFactor", "3", "1"))
    both = Plan((), (*unsafe.contracts, *plan([auditor], drifted).contracts), ())
    assert exit_code(build_report(both, drifted)) == EXIT_UNSAFE_DRIFT
    wired = plan([contract("reader", subscribe=["onex.evt.nobody.x.v1"])], drifted)
    worst = Plan((), (*both.contracts, *wired.contracts), wired.problems)
    assert exit_code(build_report(worst, drifted)) == EXIT_ERROR
    unreachable = plan([router], None, broker_error="cannot reach broker 127.0.0.1:1")
    report = build_report(unreachable, None, broker="127.0.0.1:1")
    assert exit_code(report) == EXIT_ERROR
    assert "The broker could not be read: cannot reach" in render(report, "text")


def test_a_create_the_operator_recorded_as_failed_is_failed_not_missing() -> None:
    router = contract("router", publish=[ROUTING])
    snapshot = broker()
    report = build_report(
        plan([router], snapshot),
        snapshot,
        recorded_failures={("agents/router", ROUTING): "INVALID_CONFIG: bad retention"},
    )
    assert [(e.topic, e.message) for e in report.failed] == [
        (ROUTING, "INVALID_CONFIG: bad retention")
    ]
    assert not report.missing and exit_code(report) == EXIT_ERROR


def test_a_subscription_to_a_topic_left_behind_is_a_broken_wire_and_an_unowned_topic() -> None:
    notifier = contract("notifier", subscribe=[LEFT_BEHIND])
    router = contract("router", publish=[ROUTING])
    snapshot = broker(observed(ROUTING), observed(LEFT_BEHIND))
    report = build_report(plan([router, notifier], snapshot), snapshot)
    (wire,) = report.broken_wires
    assert wire.on_broker and "[still on the broker]" in render(report, "text")
    assert report.unowned.topics[0].subscribers == ("agents/notifier",)
    assert "still subscribed by agents/notifier" in render(report, "text")


def test_without_a_broker_only_names_and_wiring_are_reported() -> None:
    loaded = load_paths([DEMO])
    report = build_report(plan(loaded.contracts, None))
    assert report.broker is None and report.broker_error is None
    assert not report.missing and not report.unowned and not report.drift
    assert len(report.broken_wires) == 1
    assert "no broker (offline)" in render(report, "text")


def test_json_shape_and_counts_agree_with_the_lists() -> None:
    data = json.loads(render(demo_report(end_offsets={LEFT_BEHIND: 7}), "json"))
    assert set(data) >= {
        "contracts",
        "broker",
        "broker_error",
        "summary",
        "unsafe_drift",
        "drift",
        "broken_wires",
        "conflicts",
        "errors",
        "failed",
        "missing",
        "pending",
        "unowned",
    }
    for key, count in data["summary"].items():
        if key == "unowned":
            assert count == sum(len(g["topics"]) for g in data["unowned"])
        elif key != "healthy":
            assert count == len(data[key]), key
    assert data["unowned"] == [
        {
            "producer": "router",
            "topics": [{"name": LEFT_BEHIND, "kind": "evt", "subscribers": [], "end_offset": 7}],
        }
    ]
    assert data["broken_wires"][0]["suggestion"] == ROUTING
    assert data == to_dict(demo_report(end_offsets={LEFT_BEHIND: 7}))


def test_markdown_tables_are_well_formed_even_with_pipes_in_messages() -> None:
    c = contract("ledger", publish=["onex.evt.ledger.entry-posted.v1"])
    status = TopicStatus(
        "onex.evt.ledger.entry-posted.v1", PUBLISH, TopicState.FAILED, "INVALID_CONFIG: a|b\nc"
    )
    report = build_report(Plan((), (ContractPlan(c, (status,), ()),), ()), BrokerSnapshot())
    markdown = render_markdown(report)
    assert markdown.startswith("### contract-operator report: errors")
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    widths = {}
    for line in rows:
        cells = line.replace("\\|", "").count("|")
        widths.setdefault(cells, []).append(line)
    # every table row has as many cells as its header: the count table (11) and failed (4)
    assert set(widths) == {11, 4}, widths
    assert "a\\|b c" in markdown
    # a backslash in a message survives markdown's escaping as written
    status = replace(status, message="path C:\\tmp\\|x")
    report = build_report(Plan((), (ContractPlan(c, (status,), ()),), ()), BrokerSnapshot())
    assert "path C:\\\\tmp\\\\\\|x" in render_markdown(report)
    clean = build_report(Plan((), (), ()), BrokerSnapshot())
    assert render_markdown(clean).startswith("### contract-operator report: nothing wrong")


# --- the command, on files and without a broker --------------------------------------------------


def test_report_command_on_the_demo_files_without_broker_exits_1_for_the_broken_wire(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", str(DEMO), "--no-broker"]) == EXIT_ERROR
    out = capsys.readouterr().out
    assert "demo/notifier subscribes to onex.evt.router.routing_complete.v1" in out


def test_report_command_on_clean_files_without_broker_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = [str(ROOT / "examples" / "nodecontracts"), str(ROOT / "examples" / "contracts")]
    assert main(["report", *paths, "--no-broker", "--format", "json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["broken_wires"] == 0 and data["summary"]["errors"] == 0
    assert data["rules"]["from"]["pattern"] == "built-in"
    kinds = ["--kinds", "evt,cmd", "--no-broker", "--verbose"]
    assert main(["report", *paths, *kinds]) == EXIT_ERROR  # audit publishes a snapshot kind
    out = capsys.readouterr().out
    assert out.startswith("naming rules: ") and "[flag --kinds]" in out


def test_report_without_a_broker_address_says_how_to_give_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOOTSTRAP_SERVERS", raising=False)
    assert main(["report", str(DEMO)]) == EXIT_ERROR
    assert "--bootstrap-server" in capsys.readouterr().out


def test_report_without_path_and_without_kubeconfig_fails_clearly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["report", "--no-broker"]) == EXIT_ERROR
    assert "no Kubernetes credentials" in capsys.readouterr().err


def test_report_and_graph_are_in_the_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    out = capsys.readouterr().out
    assert "report" in out and "graph" in out
    main(["report", "--help"])
    assert "exit status" in capsys.readouterr().out


def test_declared_keys_the_broker_does_not_report_are_a_note_not_a_finding() -> None:
    router = contract(
        "router",
        publish=[{"name": ROUTING, "config": {"retention.ms": "1000", "x.custom": "1"}}],
    )
    snapshot = broker(observed(ROUTING, **{"retention.ms": "1000"}))
    report = build_report(plan([router], snapshot), snapshot)
    assert [(e.topic, e.message) for e in report.unverifiable] == [(ROUTING, "x.custom")]
    assert "Unverifiable (1)" in render(report, "text")
    assert json.loads(render(report, "json"))["unverifiable"][0]["keys"] == ["x.custom"]
    assert report.clean and exit_code(report) == EXIT_OK


@given(st.text(max_size=60), st.text(max_size=60))
def test_no_broker_message_can_break_a_markdown_row(reason: str, contract_msg: str) -> None:
    c = contract("ledger", publish=["onex.evt.ledger.entry-posted.v1"])
    failed = TopicStatus("onex.evt.ledger.entry-posted.v1", PUBLISH, TopicState.FAILED, reason)
    conflict = TopicStatus("onex.evt.ledger.other.v1", PUBLISH, TopicState.CONFLICT, contract_msg)
    report = build_report(
        Plan((), (ContractPlan(c, (failed, conflict), ()),), ()), BrokerSnapshot()
    )
    for line in render_markdown(report).splitlines():
        if line.startswith("| `onex"):
            assert line.replace("\\|", "").count("|") == 4, line


def test_a_broker_only_suggestion_is_the_one_the_message_names() -> None:
    """The report shows the plan's own ranked suggestions: for a name only the broker has, its
    JSON must not say `"suggestion": null` while its message says "did you mean"."""
    from contract_operator.core.report_text import to_dict

    notifier = contract("notifier", subscribe=["onex.evt.router.routing_complete.v1"])
    snapshot = broker(extra=("onex.evt.router.routing-complete.v1",))
    (wire,) = build_report(plan([notifier], snapshot), snapshot).broken_wires
    assert wire.suggestion == "onex.evt.router.routing-complete.v1"
    assert "Did you mean onex.evt.router.routing-complete.v1" in wire.message
    (entry,) = to_dict(build_report(plan([notifier], snapshot), snapshot))["broken_wires"]
    assert entry["suggestion"] == "onex.evt.router.routing-complete.v1"
