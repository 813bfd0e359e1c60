"""`run`'s options: each setting of the operator and its admission webhook, with its flag,
its environment variable (the Helm chart sets those) and what a valid value looks like."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from typing import Any

from contract_operator.cli.errors import UsageError
from contract_operator.cli.options import Option, add_options, build, gather, unknown_variables
from contract_operator.cli.rules_source import resolve_rules
from contract_operator.controller import admission_settings as adm
from contract_operator.controller import settings as s
from contract_operator.core.planner import PlanOptions

log = logging.getLogger("contract_operator")

OPERATOR_OPTIONS = (
    Option(
        "namespaces",
        "--namespace",
        s.ENV_NAMESPACES,
        "watch only this namespace (repeatable; default: all; the variable takes A,B)",
        metavar="NS",
        short="-n",
        repeat=True,
    ),
    Option(
        "selector",
        "--selector",
        s.ENV_SELECTOR,
        "manage only NodeContracts whose labels match (kubectl -l syntax, e.g. "
        "'kafka-cluster=payments'); the others get no status and no topic",
        metavar="SELECTOR",
        short="-l",
        expects="a label selector such as kafka-cluster=payments",
    ),
    Option(
        "resync_seconds",
        "--resync-seconds",
        s.ENV_RESYNC,
        "re-validate against the broker every S seconds (default 60)",
        metavar="S",
        expects="a number of seconds, 1 or more",
    ),
    Option(
        "metrics_port",
        "--metrics-port",
        s.ENV_METRICS_PORT,
        "Prometheus /metrics port, 0 to disable (default 9090)",
        metavar="PORT",
        expects="a whole number 0-65535 (0 disables /metrics)",
    ),
    Option(
        "health_port",
        "--health-port",
        s.ENV_HEALTH_PORT,
        "/healthz and /readyz port, 0 to disable (default 8080)",
        metavar="PORT",
        expects="a whole number 0-65535 (0 disables the probes)",
    ),
    Option(
        "peering",
        "--peering",
        s.ENV_PEERING,
        "kopf peering name for several replicas; default: standalone",
        metavar="NAME",
    ),
    Option(
        "peering_lifetime_seconds",
        "--peering-lifetime-seconds",
        s.ENV_PEERING_LIFETIME,
        "a standby takes over at most S seconds after the active replica died (default 15)",
        metavar="S",
        expects="a whole number of seconds, 5 or more",
    ),
    Option(
        "stall_seconds",
        "--stall-seconds",
        s.ENV_STALL,
        "liveness fails when no reconcile cycle finished for S seconds (default 3 resyncs, "
        "at least 60)",
        metavar="S",
        expects="a number of seconds longer than the resync interval (0: the default)",
    ),
    Option(
        "broker_grace_seconds",
        "--broker-grace-seconds",
        s.ENV_BROKER_GRACE,
        "a broker outage shorter than S seconds rewrites no status, so a flap does not flip "
        "every contract (default 30, 0 to report at once)",
        metavar="S",
        expects="a number of seconds, 0 or more",
    ),
    Option(
        "log_level",
        "--log-level",
        s.ENV_LOG_LEVEL,
        "DEBUG, INFO, WARNING or ERROR (default INFO)",
        metavar="LEVEL",
        expects=", ".join(s.LOG_LEVELS),
    ),
)

ADMISSION_OPTIONS = (
    Option(
        "mode",
        "--admission-mode",
        adm.ENV_MODE,
        "deny: refuse names that break the rules, warn about the rest; warn: admit everything "
        "with warnings; off (default): no webhook",
        metavar="MODE",
        expects="off, deny or warn",
        dest="admission_mode",
    ),
    Option(
        "addr", "--admission-addr", adm.ENV_ADDR, "listen address", "ADDR", dest="admission_addr"
    ),
    Option(
        "port",
        "--admission-port",
        adm.ENV_PORT,
        "HTTPS port (9443)",
        "PORT",
        expects="a whole number 1-65535",
        dest="admission_port",
    ),
    Option(
        "host",
        "--admission-host",
        adm.ENV_HOST,
        "host the apiserver calls, https://HOST:PORT (127.0.0.1)",
        "HOST",
        dest="admission_host",
    ),
    Option(
        "service",
        "--admission-service",
        adm.ENV_SERVICE,
        "call the webhook through this Service instead (in a cluster)",
        "NS/NAME[:PORT]",
        expects="namespace/name[:port]",
        dest="admission_service",
    ),
    Option(
        "cert_dir",
        "--admission-cert-dir",
        adm.ENV_CERT_DIR,
        "tls.crt, tls.key and ca.crt to serve with; default: a self-signed certificate made "
        "at start",
        "DIR",
        dest="admission_cert_dir",
    ),
    Option(
        "webhook_config",
        "--admission-webhook-config",
        adm.ENV_CONFIG,
        "create/update this ValidatingWebhookConfiguration with the caBundle; empty (default): "
        "it is managed elsewhere, e.g. by Helm",
        "NAME",
        dest="admission_webhook_config",
    ),
    Option(
        "timeout_seconds",
        "--admission-timeout-seconds",
        adm.ENV_TIMEOUT,
        "apiserver timeout before it admits without an answer (5)",
        "S",
        expects="a whole number of seconds, 1-30",
        dest="admission_timeout_seconds",
    ),
)

KNOWN_VARIABLES = (
    *tuple(o.env for o in (*OPERATOR_OPTIONS, *ADMISSION_OPTIONS) if o.env is not None),
    s.ENV_PATTERN,
    s.ENV_KINDS,
    s.ENV_RULES_FILE,
)


def add_operator_options(parser: argparse.ArgumentParser) -> None:
    add_options(parser, OPERATOR_OPTIONS)


def add_admission_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "admission webhook",
        "warnings (and refusals) at `kubectl apply`, served by the operator; fail-open",
    )
    add_options(group, ADMISSION_OPTIONS)


def operator_settings(
    args: argparse.Namespace, env: Mapping[str, str] = os.environ
) -> s.OperatorSettings:
    """Flags, then the environment, then the defaults; a bad value is a UsageError naming the
    flag or variable it was written in."""
    try:
        return build(
            s.OperatorSettings,
            OPERATOR_OPTIONS,
            gather(OPERATOR_OPTIONS, args, env),
            plan_options=PlanOptions(rules=resolve_rules(args, env).rules),
        )
    except s.SettingsError as exc:
        raise UsageError(str(exc)) from None


def admission_settings(
    args: argparse.Namespace,
    env: Mapping[str, str] = os.environ,
    object_selector: Mapping[str, Any] | None = None,
) -> adm.AdmissionSettings:
    try:
        return build(
            adm.AdmissionSettings,
            ADMISSION_OPTIONS,
            gather(ADMISSION_OPTIONS, args, env),
            object_selector=dict(object_selector or {}),
        )
    except s.SettingsError as exc:
        raise UsageError(str(exc)) from None


def warn_unknown_variables(env: Mapping[str, str] = os.environ) -> None:
    for line in unknown_variables("CONTRACT_OPERATOR_", KNOWN_VARIABLES, env):
        log.warning("%s", line)
