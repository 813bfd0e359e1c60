"""The webhook's shell: settings from flags and env, the view kept in step with the index, the
webhook configuration it writes, and its self-signed certificate."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from contract_operator.cli.errors import UsageError
from contract_operator.cli.run_options import add_admission_options, admission_settings
from contract_operator.controller.admission import answer
from contract_operator.controller.admission_settings import AdmissionSettings
from contract_operator.controller.admission_view import AdmissionView
from contract_operator.controller.certs import write_self_signed
from contract_operator.controller.reconciler import Record
from contract_operator.controller.webhook_config import webhook_configuration
from contract_operator.core.admission import AdmissionMode, FleetView
from contract_operator.core.naming import NamingRules
from contract_operator.core.planner import PlanOptions
from contract_operator.model.contract import (
    NODE_MAX_LENGTH,
    NODE_PATTERN,
    TOPIC_NAME_MAX_LENGTH,
    TOPIC_NAME_PATTERN,
    ContractError,
)
from tests.unit.factories import broker, contract, observed


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_admission_options(parser)
    return parser.parse_args(list(argv))


def test_off_unless_asked_and_flags_beat_the_environment() -> None:
    assert not admission_settings(parse(), env={}).enabled
    env = {"CONTRACT_OPERATOR_ADMISSION_MODE": "warn", "CONTRACT_OPERATOR_ADMISSION_PORT": "8443"}
    from_env = admission_settings(parse(), env=env)
    assert (from_env.mode, from_env.port) == ("warn", 8443)
    from_flags = admission_settings(parse("--admission-mode", "deny"), env=env)
    assert (from_flags.mode, from_flags.port) == ("deny", 8443)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CONTRACT_OPERATOR_ADMISSION_MODE": "block"}, "--admission-mode"),
        ({"CONTRACT_OPERATOR_ADMISSION_TIMEOUT_SECONDS": "60"}, "--admission-timeout-seconds"),
        ({"CONTRACT_OPERATOR_ADMISSION_PORT": "x"}, "CONTRACT_OPERATOR_ADMISSION_PORT"),
        ({"CONTRACT_OPERATOR_ADMISSION_SERVICE": "nonamespace"}, "--admission-service"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_flag(env: dict, named: str) -> None:
    with pytest.raises(UsageError, match=named):
        admission_settings(parse(), env=env)


def test_the_configuration_fails_open_fast_and_skips_status_writes() -> None:
    body = webhook_configuration("name", {"url": "https://127.0.0.1:9443/x"}, 5)
    (webhook,) = body["webhooks"]
    assert webhook["failurePolicy"] == "Ignore"
    assert webhook["timeoutSeconds"] == 5
    assert webhook["sideEffects"] == "None"
    assert webhook["rules"][0]["resources"] == ["nodecontracts"]
    assert webhook["rules"][0]["operations"] == ["CREATE", "UPDATE"]


def test_a_service_reference_gets_its_dns_names_in_the_certificate() -> None:
    settings = AdmissionSettings(mode="deny", service="ops/co-webhook:443")
    assert settings.service_ref() == {"namespace": "ops", "name": "co-webhook", "port": 443}
    assert "co-webhook.ops.svc" in settings.hosts()


def test_the_self_signed_certificate_is_trusted_for_its_host(tmp_path: Path) -> None:
    files = write_self_signed(tmp_path, ["127.0.0.1", "co-webhook.ops.svc"])
    cert = x509.load_pem_x509_certificate(files.certfile.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "co-webhook.ops.svc" in sans.get_values_for_type(x509.DNSName)
    assert files.keyfile.stat().st_mode & 0o077 == 0
    # A server context loads the pair and a client trusting ca.crt would accept it.
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files.certfile, files.keyfile)
    ssl.create_default_context(cafile=str(files.cafile))


def record(name: str, publish: list[str]) -> Record:
    c = contract(name, publish=publish)
    return Record("agents", name, f"uid-{name}", 1, None, c)


def test_the_view_follows_watch_events_and_repairs_a_missed_one() -> None:
    index = {r.key: r for r in [record("a", ["onex.evt.a.x.v1"]), record("b", ["onex.evt.b.y.v1"])]}
    view = AdmissionView()
    fleet = view.current(lambda: list(index.values()), len(index), NamingRules())
    assert set(fleet.publishers) == {"onex.evt.a.x.v1", "onex.evt.b.y.v1"}

    index["agents/a"] = record("a", ["onex.evt.a.z.v1"])
    view.update("agents/a", index["agents/a"])
    assert "onex.evt.a.z.v1" in fleet.publishers and "onex.evt.a.x.v1" not in fleet.publishers

    del index["agents/b"]  # no event delivered for it
    index["agents/c"] = record("c", ["onex.evt.c.w.v1"])
    index["agents/d"] = record("d", ["onex.evt.d.v.v1"])
    fleet = view.current(lambda: list(index.values()), len(index), NamingRules())
    assert set(fleet.publishers) == {"onex.evt.a.z.v1", "onex.evt.c.w.v1", "onex.evt.d.v.v1"}


# --- any object a user can write gets an answer, never a crash (a crash would admit silently)

TOPICS = st.from_regex(TOPIC_NAME_PATTERN, fullmatch=True).filter(
    lambda n: len(n) <= TOPIC_NAME_MAX_LENGTH
)
NODES = st.from_regex(NODE_PATTERN, fullmatch=True).filter(lambda n: len(n) <= NODE_MAX_LENGTH)
PUBLISHED = st.fixed_dictionaries(
    {"name": TOPICS | st.sampled_from(["onex.evt.router.routing-complete.v1", ""])},
    optional={
        "partitions": st.integers(-2, 10**6),
        "replicationFactor": st.integers(-2, 5),
        "config": st.dictionaries(st.sampled_from(["retention.ms", "cleanup.policy"]), st.text()),
    },
)
BODIES = st.fixed_dictionaries(
    {
        "apiVersion": st.just("eventbus.dev/v1alpha1"),
        "kind": st.just("NodeContract"),
        "metadata": st.fixed_dictionaries(
            {"name": NODES, "namespace": st.just("agents")},
            optional={"creationTimestamp": st.just("2026-01-01T00:00:00Z")},
        ),
        "spec": st.fixed_dictionaries(
            {
                "node": NODES | st.text(max_size=5),
                "eventBus": st.fixed_dictionaries(
                    {},
                    optional={
                        "publishTopics": st.lists(PUBLISHED, max_size=4),
                        "subscribeTopics": st.lists(TOPICS, max_size=4),
                    },
                ),
            }
        ),
    }
)
VIEW = FleetView(
    [
        contract("router", publish=["onex.evt.router.routing-complete.v1"]),
        contract("gateway", publish=["onex.cmd.gateway.route-request.v1"], subscribe=["x.y"]),
    ]
)
# What the handler reads from the reconcile loop: its broker snapshot and naming rules.
LOOP = SimpleNamespace(
    last_snapshot=broker(
        observed("onex.evt.router.routing-complete.v1", 3), extra=("left.behind",)
    ),
    settings=SimpleNamespace(plan_options=PlanOptions()),
)


@settings(max_examples=300, deadline=None)
@given(BODIES, st.sampled_from(list(AdmissionMode)))
def test_every_object_gets_a_decision_or_the_parsers_error(body: dict, mode: AdmissionMode) -> None:
    try:
        decision = answer(body, VIEW, LOOP, mode)
    except ContractError as exc:
        assert exc.errors
        return
    assert all(line.startswith("[") for line in decision.warning_lines())
    assert decision.allowed or mode is AdmissionMode.DENY
