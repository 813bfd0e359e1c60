import pytest

from contract_operator.cli.common import UsageError
from contract_operator.cli.main import build_parser
from contract_operator.cli.run import operator_settings
from contract_operator.core.naming import DEFAULT_KINDS


def settings_for(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *argv: str):  # type: ignore[no-untyped-def]
    for key in list(env):
        monkeypatch.setenv(key, env[key])
    args = build_parser().parse_args(["run", *argv])
    return operator_settings(args, env)


def test_chart_defaults_keep_the_built_in_naming_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    got = settings_for(
        monkeypatch,
        {
            "CONTRACT_OPERATOR_TOPIC_PATTERN": "",
            "CONTRACT_OPERATOR_TOPIC_KINDS": "",
            "CONTRACT_OPERATOR_NAMESPACES": "",
            "CONTRACT_OPERATOR_PEERING": "",
        },
    )
    assert got.plan_options.rules.kinds == DEFAULT_KINDS
    assert got.namespaces == () and got.peering is None


def test_environment_configures_the_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    got = settings_for(
        monkeypatch,
        {
            "CONTRACT_OPERATOR_NAMESPACES": "agents, billing",
            "CONTRACT_OPERATOR_RESYNC_SECONDS": "15",
            "CONTRACT_OPERATOR_TOPIC_KINDS": "evt,cmd",
            "CONTRACT_OPERATOR_LOG_LEVEL": "debug",
            "CONTRACT_OPERATOR_METRICS_PORT": "0",
        },
    )
    assert got.namespaces == ("agents", "billing")
    assert got.resync_seconds == 15
    assert got.plan_options.rules.kinds == {"evt", "cmd"}
    assert got.log_level == "DEBUG" and got.metrics_port == 0


def test_flags_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    got = settings_for(
        monkeypatch,
        {"CONTRACT_OPERATOR_NAMESPACES": "agents"},
        "--namespace",
        "other",
        "--resync-seconds",
        "5",
    )
    assert got.namespaces == ("other",) and got.resync_seconds == 5


def test_bad_number_in_environment_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="CONTRACT_OPERATOR_RESYNC_SECONDS"):
        settings_for(monkeypatch, {"CONTRACT_OPERATOR_RESYNC_SECONDS": "soon"})


@pytest.mark.parametrize(
    "argv", [["--resync-seconds", "0"], ["--resync-seconds", "-5"], ["--metrics-port", "70000"]]
)
def test_settings_that_cannot_work_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    with pytest.raises(UsageError):
        settings_for(monkeypatch, {}, *argv)
