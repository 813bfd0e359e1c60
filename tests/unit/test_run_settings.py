import pytest

from contract_operator.cli.errors import UsageError
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


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"CONTRACT_OPERATOR_PEERING_LIFETIME_SECONDS": "nan"},
            "CONTRACT_OPERATOR_PEERING_LIFETIME_SECONDS='nan': not a whole number; use a whole "
            "number of seconds, 5 or more (also settable as --peering-lifetime-seconds)",
        ),
        (
            {"CONTRACT_OPERATOR_METRICS_PORT": "inf"},
            "CONTRACT_OPERATOR_METRICS_PORT='inf': not a whole number; use a whole number "
            "0-65535 (0 disables /metrics) (also settable as --metrics-port)",
        ),
        (
            {"CONTRACT_OPERATOR_METRICS_PORT": "9090.7"},
            "CONTRACT_OPERATOR_METRICS_PORT='9090.7': not a whole number",
        ),
        ({"CONTRACT_OPERATOR_HEALTH_PORT": "-1"}, "CONTRACT_OPERATOR_HEALTH_PORT='-1': too small"),
        ({"CONTRACT_OPERATOR_RESYNC_SECONDS": "inf"}, "='inf': not a finite number"),
        ({"CONTRACT_OPERATOR_BROKER_GRACE_SECONDS": "-1"}, "_SECONDS='-1': too small"),
        ({"CONTRACT_OPERATOR_LOG_LEVEL": "loud"}, "LOG_LEVEL='loud': not one of the choices"),
        ({"CONTRACT_OPERATOR_SELECTOR": "a in ("}, "CONTRACT_OPERATOR_SELECTOR='a in ('"),
        ({"CONTRACT_OPERATOR_ADMISSION_PORT": "0"}, "CONTRACT_OPERATOR_ADMISSION_PORT='0'"),
        ({"CONTRACT_OPERATOR_ADMISSION_SERVICE": "ns/svc:https"}, "not a Service reference"),
    ],
)
def test_every_bad_value_is_one_line_naming_where_it_was_written(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    line: str,
) -> None:
    from contract_operator.cli.main import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BOOTSTRAP_SERVERS", "127.0.0.1:1")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert line in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--metrics-port", "9090.7"], "--metrics-port='9090.7': not a whole number"),
        (["--resync-seconds", "nan"], "--resync-seconds='nan': not a finite number"),
        (["--peering-lifetime-seconds", "inf"], "--peering-lifetime-seconds='inf'"),
        (["--admission-timeout-seconds", "31"], "--admission-timeout-seconds='31': too large"),
    ],
)
def test_a_flag_is_refused_with_the_same_words_as_its_variable(
    capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    from contract_operator.cli.main import main

    assert main(["run", *argv]) == 2
    assert line in capsys.readouterr().err


def test_a_misspelt_variable_is_warned_about_with_the_name_meant() -> None:
    from contract_operator.cli.options import unknown_variables
    from contract_operator.cli.run_options import KNOWN_VARIABLES

    env = {
        "CONTRACT_OPERATOR_RESYNC_SECOND": "5",
        "CONTRACT_OPERATOR_RESYNC_SECONDS": "5",
        # What Kubernetes injects for a Service named contract-operator: not ours, no warning.
        "CONTRACT_OPERATOR_PORT": "tcp://10.0.0.1:9443",
        "CONTRACT_OPERATOR_SERVICE_HOST": "10.0.0.1",
        "CONTRACT_OPERATOR_PORT_9443_TCP_ADDR": "10.0.0.1",
        # Shaped like a Service's port variable, but a number: a typo, warned about.
        "CONTRACT_OPERATOR_METRIC_PORT": "9091",
    }
    metric, resync = unknown_variables("CONTRACT_OPERATOR_", KNOWN_VARIABLES, env)
    assert "did you mean CONTRACT_OPERATOR_METRICS_PORT?" in metric
    assert resync.startswith("CONTRACT_OPERATOR_RESYNC_SECOND is not a setting")
    assert "did you mean CONTRACT_OPERATOR_RESYNC_SECONDS?" in resync


def test_the_flag_wins_over_the_variable_and_the_variable_over_the_default() -> None:
    from contract_operator.cli.run_options import admission_settings

    args = build_parser().parse_args(["run", "--admission-port", "8443"])
    env = {"CONTRACT_OPERATOR_ADMISSION_PORT": "7443", "CONTRACT_OPERATOR_ADMISSION_MODE": "warn"}
    got = admission_settings(args, env)
    assert (got.port, got.mode, got.timeout_seconds) == (8443, "warn", 5)
