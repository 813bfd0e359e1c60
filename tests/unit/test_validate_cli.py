"""`contract-operator validate`: exit codes, text and JSON output, options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract_operator.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BROKEN = EXAMPLES / "broken"


def test_clean_examples_exit_zero_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(EXAMPLES / "nodecontracts"), str(EXAMPLES / "contracts")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == "0 errors, 0 warnings in 4 contracts from 4 files"


# Examples whose one mistake has a second consequence: the subscriber's topic is never created.
CONSEQUENCES = {"foreign-producer.yaml": ["foreign-producer", "broken-wire"]}


def test_each_broken_example_fails_with_exactly_one_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = sorted(p for p in BROKEN.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        code = main(["validate", str(path), "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        errors = [p["code"] for p in report["problems"] if p["severity"] == "error"]
        assert code == 1, path
        assert len(errors) == len(CONSEQUENCES.get(path.name, [errors[0]])), (path, errors)
        if path.name in CONSEQUENCES:
            assert errors == CONSEQUENCES[path.name]


def test_text_output_groups_by_file_and_shows_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(BROKEN / "hyphen-vs-underscore.yaml")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == str(BROKEN / "hyphen-vs-underscore.yaml")
    assert (
        lines[1] == "  error[broken-wire] agents/router-consumer, spec.eventBus.subscribeTopics[0]"
    )
    assert lines[3].startswith("    fix: Subscribe to onex.evt.router.routing-complete.v1")
    assert lines[-1] == (
        "1 error, 0 warnings in 2 contracts from 1 file (1 info note hidden; -v shows them)"
    )


def test_verbose_shows_info_notes(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", "-v", str(BROKEN / "hyphen-vs-underscore.yaml")])
    assert "info[unconsumed]" in capsys.readouterr().out


def test_json_output_has_counts_problems_and_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--format", "json", str(BROKEN / "foreign-producer.yaml")])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (report["contracts"], report["ok"]) == (2, False)
    assert report["problems"][0]["code"] == "foreign-producer"
    assert set(report["problems"][0]) == {
        "severity", "code", "message", "fix", "source", "contract", "topic", "field",
    }  # fmt: skip


def test_no_producer_rule_lets_a_foreign_publisher_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--no-producer-rule", str(BROKEN / "foreign-producer.yaml")]) == 0


def test_kinds_option_restricts_the_kind_segment(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--kinds", "cmd", str(BROKEN / "foreign-producer.yaml"), "-v"])
    assert code == 1
    assert "unknown-kind" not in capsys.readouterr().out  # the file only uses cmd
    assert (
        main(["validate", "--kinds", "evt", str(EXAMPLES / "nodecontracts" / "gateway.yaml")]) == 1
    )


def test_custom_pattern_applies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("node: orders\nevent_bus:\n  publish_topics: [{name: orders_evt_created}]\n")
    pattern = r"^(?P<producer>[a-z]+)_(?P<kind>[a-z]+)_[a-z]+$"
    assert main(["validate", "--pattern", pattern, str(path)]) == 0
    assert main(["validate", str(path)]) == 1


def test_known_topics_mark_a_stale_subscription(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["validate", str(BROKEN / "renamed-segment.yaml")]
    main([*args, "--known-topics", "onex.evt.payments.payment-completed.v1"])
    assert "still exists on the broker" in capsys.readouterr().out


def test_warnings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.yaml").write_text("")
    code = main(
        ["validate", str(tmp_path), str(EXAMPLES / "nodecontracts"), str(EXAMPLES / "contracts")]
    )
    assert code == 0
    assert "warning[empty-file]" in capsys.readouterr().out


def test_no_contracts_at_all_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 1
    assert "no contracts found" in capsys.readouterr().out


def test_missing_path_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "does/not/exist"]) == 1
    assert "path-not-found" in capsys.readouterr().out


def test_invalid_pattern_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--pattern", "(", str(EXAMPLES)]) == 2
    assert "invalid naming pattern" in capsys.readouterr().err


def test_missing_arguments_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    assert main([]) == 2


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "exit status" in out
