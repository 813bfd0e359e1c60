"""One rule source: every command reads the naming rules from flags, the same environment
variables and the same rules file, and the chart ships that file as a ConfigMap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from contract_operator.cli.errors import UsageError
from contract_operator.cli.main import build_parser, main
from contract_operator.cli.rules_source import resolve_rules

from .test_chart import (  # noqa: F401
    CHART,
    KUBE_VERSION,
    chart,
    container,
    deployment,
    env,
    of_kind,
    render,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "nodecontracts"
ENV_VARS = (
    "CONTRACT_OPERATOR_TOPIC_PATTERN",
    "CONTRACT_OPERATOR_TOPIC_KINDS",
    "CONTRACT_OPERATOR_RULES_FILE",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def validate_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["validate", *argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def write_rules(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("command", ["validate", "plan", "provision", "run"])
def test_every_command_reads_the_kinds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("CONTRACT_OPERATOR_TOPIC_KINDS", "cmd")
    args = build_parser().parse_args([command, "x.yaml"] if command != "run" else [command])
    applied = resolve_rules(args)
    assert applied.rules.kinds == {"cmd"}
    assert applied.origins["kinds"] == "env CONTRACT_OPERATOR_TOPIC_KINDS"


def test_validate_with_cmd_only_kinds_refuses_an_evt_topic(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTRACT_OPERATOR_TOPIC_KINDS", "cmd")
    code, report = validate_json(capsys, str(EXAMPLES))
    assert code == 1
    assert "unknown-kind" in {p["code"] for p in report["problems"]}
    assert report["rules"]["kinds"] == ["cmd"]


def test_flags_win_over_environment_which_wins_over_the_rules_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rules = write_rules(tmp_path, "kinds: [evt]\nenforceProducer: false\n")
    monkeypatch.setenv("CONTRACT_OPERATOR_RULES_FILE", rules)
    from_file = resolve_rules(build_parser().parse_args(["validate", "x"]))
    assert from_file.rules.kinds == {"evt"} and not from_file.rules.enforce_producer
    assert from_file.origins == {
        "pattern": "built-in",
        "kinds": f"file {rules}",
        "enforceProducer": f"file {rules}",
    }
    monkeypatch.setenv("CONTRACT_OPERATOR_TOPIC_KINDS", "cmd")
    assert resolve_rules(build_parser().parse_args(["validate", "x"])).rules.kinds == {"cmd"}
    flagged = resolve_rules(build_parser().parse_args(["validate", "x", "--kinds", "dlq"]))
    assert flagged.rules.kinds == {"dlq"}


def test_rules_file_flag_is_read(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, "kinds: evt,cmd\n")
    args = build_parser().parse_args(["plan", "x", "--rules", rules])
    assert resolve_rules(args).rules.kinds == {"evt", "cmd"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kinds: [evt]\nenforce_producer: false\n", "unknown key 'enforce_producer'"),
        ("- evt\n", "must be a mapping"),
        ("enforceProducer: maybe\n", "enforceProducer must be true or false"),
        ("pattern: '^(?P<kind>[a-z]+'\n", "invalid naming pattern"),
        ("kinds: {evt: 1}\n", "kinds must be a list"),
        ("kinds: [evt\n", "not valid YAML"),
        # A second key must not silently win: here it would turn the producer rule off.
        ("enforceProducer: true\nenforceProducer: false\n", "found duplicate key"),
        ("kinds: [evt]\n---\nkinds: [cmd]\n", "holds 2 YAML documents"),
    ],
)
def test_a_bad_rules_file_is_a_usage_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    rules = write_rules(tmp_path, text)
    with pytest.raises(UsageError, match=r"rules file|pattern from file") as info:
        resolve_rules(build_parser().parse_args(["validate", "x", "--rules", rules]))
    assert message in str(info.value)


def test_a_rules_file_that_is_not_a_regular_file_is_refused() -> None:
    with pytest.raises(UsageError, match="not a regular file"):
        resolve_rules(build_parser().parse_args(["validate", "x", "--rules", "/dev/zero"]))
    with pytest.raises(UsageError, match="cannot read"):
        resolve_rules(build_parser().parse_args(["validate", "x", "--rules", "/nonexistent"]))


def test_verbose_validate_prints_the_rules_applied(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(EXAMPLES), str(ROOT / "examples" / "contracts")]
    assert main(["validate", *paths, "--kinds", "evt,cmd,dlq,snapshot", "-v"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("naming rules: pattern onex.<kind>.<producer>.<event>.v<N>")
    assert (
        "kinds cmd,dlq,evt,snapshot [flag --kinds]" in out and "producer rule on [built-in]" in out
    )


def test_chart_ships_the_rules_file_that_validate_reads(
    chart: helm.Chart,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    docs = render(
        chart, {"rules": {"enabled": True, "kinds": ["cmd"]}, **policy_for(kinds={"cmd"})}
    )
    (configmap,) = rules_maps(docs)
    variables = env(docs)
    path = variables["CONTRACT_OPERATOR_RULES_FILE"]["value"]
    mount = next(m for m in container(docs)["volumeMounts"] if m["name"] == "rules")
    assert path == f"{mount['mountPath']}/rules.yaml"
    (volume,) = [
        v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"] if v["name"] == "rules"
    ]
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert "checksum/rules" in deployment(docs)["spec"]["template"]["metadata"]["annotations"]
    assert yaml.safe_load(configmap["data"]["rules.yaml"]) == {
        "kinds": ["cmd"],
        "enforceProducer": True,
    }
    rules = write_rules(tmp_path, configmap["data"]["rules.yaml"])
    code, report = validate_json(capsys, str(EXAMPLES), "--rules", rules)
    assert code == 1 and report["rules"]["kinds"] == ["cmd"]


def test_chart_ships_no_rules_file_by_default(chart: helm.Chart) -> None:  # noqa: F811
    docs = render(chart)
    assert rules_maps(docs) == []
    assert "CONTRACT_OPERATOR_RULES_FILE" not in env(docs)


def policy_for(**rules: Any) -> dict[str, Any]:
    """The chart's admissionPolicy values for these naming rules."""
    from contract_operator.core.naming import NamingRules
    from contract_operator.core.naming_policy import policy_params

    return {"admissionPolicy": {"params": policy_params(NamingRules(**rules))}}


def rules_maps(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules-file ConfigMap (not the admission policy's parameters)."""
    return [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-rules")]


PATTERN = r"^(?P<kind>[a-z]+)\.(?P<producer>[a-z]+)\..+$"
RULES_VALUES = {
    "rules": {"enabled": True, "pattern": PATTERN, "kinds": ["evt"]},
    **policy_for(pattern=PATTERN, kinds={"evt"}),
}


def test_chart_with_rules_lints_clean_and_renders_valid_kubernetes(chart: helm.Chart) -> None:  # noqa: F811
    report = helm.lint(CHART, RULES_VALUES, strict=True)
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []
    for doc in render(chart, RULES_VALUES):
        if not doc["apiVersion"].startswith(("monitoring.coreos.com/", "kopf.dev/")):
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    (configmap,) = rules_maps(render(chart, RULES_VALUES))
    assert (
        yaml.safe_load(configmap["data"]["rules.yaml"])["pattern"]
        == RULES_VALUES["rules"]["pattern"]
    )


def test_chart_refuses_unknown_rules_settings(chart: helm.Chart) -> None:  # noqa: F811
    with pytest.raises(Exception, match=r"enforce_producer|additional"):
        render(chart, {"rules": {"enforce_producer": False}})
