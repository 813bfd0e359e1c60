"""`plan`/`provision` argument and input errors, which need no broker."""

import contextlib
from pathlib import Path

import pytest

from contract_operator.cli.main import main


@pytest.mark.parametrize("command", ["plan", "provision"])
def test_unreadable_input_is_reported_without_contacting_the_broker(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 1: contacting it would end in "cannot reach broker".
    code = main([command, str(tmp_path / "missing"), "--bootstrap-server", "127.0.0.1:1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "nothing to plan" in err and "does not exist" in err
    assert "cannot reach" not in err


def test_missing_broker_address_says_how_to_give_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOOTSTRAP_SERVERS", raising=False)
    path = tmp_path / "contract.yaml"
    path.write_text(
        "node: router\nevent_bus:\n  publish_topics: [{name: onex.evt.router.done.v1}]\n"
    )
    assert main(["plan", str(path)]) == 1
    assert "--bootstrap-server" in capsys.readouterr().err


def _drift_plan():  # type: ignore[no-untyped-def]
    from contract_operator.core.planner import plan

    from .factories import broker, contract, observed

    cut = "onex.evt.router.routing-complete.v1"
    other = "onex.evt.router.route-failed.v1"
    router = contract(
        "router",
        publish=[
            {"name": cut, "config": {"retention.ms": "604800000"}},
            {"name": other, "partitions": 6},
        ],
    )
    return plan([router], broker(observed(cut, **{"retention.ms": "3600000"}), observed(other, 3)))


def test_plan_marks_unsafe_drift_in_text_and_json() -> None:
    import io
    import json

    from contract_operator.cli.plan_output import render

    result = _drift_plan()
    text = io.StringIO()
    render(result, [], None, "text", "broker:9092", text)
    lines = text.getvalue().splitlines()
    assert any(
        line.startswith("  ! onex.evt.router.routing-complete.v1") and "UNSAFE" in line
        for line in lines
    )
    assert "      retention.ms: declared 604800000, actual 3600000  (unsafe)" in lines
    assert any(line.startswith("  ~ onex.evt.router.route-failed.v1") for line in lines)
    assert "2 drifted (1 unsafe)" in text.getvalue()
    out = io.StringIO()
    render(result, [], None, "json", "broker:9092", out)
    drifted = {d["name"]: d["unsafe"] for d in json.loads(out.getvalue())["drifted"]}
    assert drifted == {
        "onex.evt.router.routing-complete.v1": True,
        "onex.evt.router.route-failed.v1": False,
    }


def test_plan_documents_exit_code_4_for_unsafe_drift(capsys: pytest.CaptureFixture[str]) -> None:
    from contract_operator.core.exit_status import EXIT_DRIFT, EXIT_UNSAFE_DRIFT

    assert (EXIT_DRIFT, EXIT_UNSAFE_DRIFT) == (3, 4)
    with contextlib.suppress(SystemExit):  # argparse exits after printing the help
        main(["plan", "--help"])
    assert "4  unsafe drift" in capsys.readouterr().out


def test_plan_lists_declared_keys_the_broker_does_not_report() -> None:
    import io

    from contract_operator.cli.plan_output import render
    from contract_operator.core.planner import plan

    from .factories import broker, contract, observed

    topic = "onex.evt.router.routing-complete.v1"
    router = contract(
        "router", publish=[{"name": topic, "config": {"redpanda.remote.read": "true"}}]
    )
    out = io.StringIO()
    render(plan([router], broker(observed(topic))), [], None, "text", "broker:9092", out)
    assert f"  ? {topic}  (agents/router): redpanda.remote.read" in out.getvalue()
