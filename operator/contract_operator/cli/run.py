"""`run`: the operator. Watches NodeContracts, creates missing topics, reports drift in status."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from contract_operator.adapters.broker import Broker, BrokerError
from contract_operator.adapters.kube import Kube, KubeConfigError
from contract_operator.cli.common import (
    UsageError,
    add_naming_options,
    naming_rules,
    resolve_rules,
)
from contract_operator.cli.connection import add_connection_options, broker_settings
from contract_operator.controller import metrics
from contract_operator.controller.admission import (
    add_admission_options,
    admission_settings,
)
from contract_operator.controller.handlers import build_registry
from contract_operator.controller.health import Health
from contract_operator.controller.health import serve as serve_probes
from contract_operator.controller.peering import PeeringGate, draw_priority, own_identity
from contract_operator.controller.reconciler import Reconciler
from contract_operator.controller.settings import (
    ENV_BROKER_GRACE,
    ENV_HEALTH_PORT,
    ENV_KINDS,
    ENV_LOG_LEVEL,
    ENV_METRICS_PORT,
    ENV_NAMESPACES,
    ENV_PATTERN,
    ENV_PEERING,
    ENV_PEERING_LIFETIME,
    ENV_RESYNC,
    ENV_SELECTOR,
    ENV_STALL,
    OperatorSettings,
    SettingsError,
    env_namespaces,
    env_number,
)
from contract_operator.core.planner import PlanOptions
from contract_operator.core.selectors import parse_selector

log = logging.getLogger("contract_operator")

EPILOG = f"""\
Every flag falls back to an environment variable (the Helm chart sets those):
  {ENV_NAMESPACES}  {ENV_RESYNC}  {ENV_PATTERN}  {ENV_KINDS}
  {ENV_LOG_LEVEL}  {ENV_METRICS_PORT}  {ENV_HEALTH_PORT}  {ENV_PEERING}
  {ENV_STALL}  {ENV_BROKER_GRACE}  {ENV_PEERING_LIFETIME}
  BOOTSTRAP_SERVERS  KAFKA_SECURITY_PROTOCOL  KAFKA_SASL_*  KAFKA_SSL_CA_LOCATION

examples:
  contract-operator run --bootstrap-server 127.0.0.1:9092
  contract-operator run --namespace agents --namespace billing --resync-seconds 30

The operator never alters, repartitions or deletes an existing topic, not even when a
NodeContract is deleted. Drift shows in `kubectl get nodecontracts` and in Events.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the operator (watch NodeContracts, create missing topics, report drift)",
        description="Run the operator against the cluster in KUBECONFIG (or in-cluster).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        dest="namespaces",
        metavar="NS",
        help=f"watch only this namespace (repeatable; default: all, env {ENV_NAMESPACES})",
    )
    parser.add_argument(
        "-l",
        "--selector",
        metavar="SELECTOR",
        help="manage only NodeContracts whose labels match (kubectl -l syntax, e.g. "
        f"'kafka-cluster=payments'); the others get no status and no topic (env {ENV_SELECTOR})",
    )
    parser.add_argument(
        "--resync-seconds",
        type=float,
        metavar="S",
        help=f"re-validate against the broker every S seconds (default 60, env {ENV_RESYNC})",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help=f"Prometheus /metrics port, 0 to disable (default 9090, env {ENV_METRICS_PORT})",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help=f"/healthz port, 0 to disable (default 8080, env {ENV_HEALTH_PORT})",
    )
    parser.add_argument(
        "--peering",
        metavar="NAME",
        help=f"kopf peering name for several replicas (env {ENV_PEERING}); default: standalone",
    )
    parser.add_argument(
        "--peering-lifetime-seconds",
        type=int,
        metavar="S",
        help="a standby takes over at most S seconds after the active replica died "
        f"(default 15, env {ENV_PEERING_LIFETIME})",
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        metavar="S",
        help="liveness fails when no reconcile cycle finished for S seconds "
        f"(default 3 resyncs, at least 60; env {ENV_STALL})",
    )
    parser.add_argument(
        "--broker-grace-seconds",
        type=float,
        metavar="S",
        help="a broker outage shorter than S seconds rewrites no status, so a flap does not "
        f"flip every contract (default 30, 0 to report at once; env {ENV_BROKER_GRACE})",
    )
    parser.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help=f"(default INFO, env {ENV_LOG_LEVEL})",
    )
    add_naming_options(parser)  # flags, env and rules file: read in cli/common.py
    parser.set_defaults(func=run)
    add_connection_options(parser)
    add_admission_options(parser)


def operator_settings(args: argparse.Namespace, env: Any = os.environ) -> OperatorSettings:
    try:
        return OperatorSettings(
            namespaces=tuple(args.namespaces or env_namespaces(env)),
            selector=args.selector if args.selector is not None else env.get(ENV_SELECTOR, ""),
            resync_seconds=args.resync_seconds
            if args.resync_seconds is not None
            else env_number(ENV_RESYNC, 60.0, env),
            plan_options=PlanOptions(rules=naming_rules(args)),
            metrics_port=args.metrics_port
            if args.metrics_port is not None
            else int(env_number(ENV_METRICS_PORT, 9090, env)),
            health_port=args.health_port
            if args.health_port is not None
            else int(env_number(ENV_HEALTH_PORT, 8080, env)),
            peering=args.peering or env.get(ENV_PEERING) or None,
            peering_lifetime_seconds=args.peering_lifetime_seconds
            if args.peering_lifetime_seconds is not None
            else int(env_number(ENV_PEERING_LIFETIME, 15, env)),
            log_level=(args.log_level or env.get(ENV_LOG_LEVEL) or "INFO").upper(),
            stall_seconds=args.stall_seconds
            if args.stall_seconds is not None
            else (env_number(ENV_STALL, 0, env) or None),
            broker_grace_seconds=args.broker_grace_seconds
            if args.broker_grace_seconds is not None
            else env_number(ENV_BROKER_GRACE, 30.0, env),
        )
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    settings = operator_settings(args)
    try:
        admission = admission_settings(args)
        admission = dataclasses.replace(
            admission, object_selector=parse_selector(settings.selector).label_selector()
        )
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise UsageError(
            f"{ENV_LOG_LEVEL}={settings.log_level!r}: use DEBUG, INFO, WARNING or ERROR"
        )
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    if settings.log_level != "DEBUG":  # kopf logs every handler call at INFO: one per watch event
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    try:
        broker = Broker(broker_settings(args))
    except BrokerError as exc:
        print(f"contract-operator run: error: {exc}", file=sys.stderr)
        return 2
    try:
        kube = Kube(pool_size=settings.status_writers + settings.event_posters)
    except KubeConfigError as exc:
        print(f"contract-operator run: error: {exc}", file=sys.stderr)
        return 2
    metrics.serve(settings.metrics_port)
    log.info(
        "starting: namespaces=%s resync=%ss broker=%s",
        ",".join(settings.namespaces) or "*",
        settings.resync_seconds,
        broker.settings,
    )
    log.info("%s", resolve_rules(args).describe())
    identity, priority, peering = own_identity(), draw_priority(), None
    if settings.peering:
        peering = PeeringGate(
            kube.api_client, settings.peering, identity, priority, settings.namespaces
        )
    health = Health(settings)
    health.use_ping(kube.ping)
    registry = build_registry(
        lambda view: Reconciler(
            settings,
            broker,
            kube,
            peering.live(view) if peering else view,
            peering.paused if peering else None,
            health=health,
        ),
        peering_lifetime=settings.peering_lifetime_seconds,
        admission=admission,
        selector=parse_selector(settings.selector),
    )
    asyncio.run(_operate(registry, settings, identity, priority, health))
    return 0


async def _operate(
    registry: kopf.OperatorRegistry,
    settings: OperatorSettings,
    identity: str,
    priority: int,
    health: Health,
) -> None:
    # Broker calls, planning and status writes run in threads: one per writer and poster,
    # plus the broker call and the planner, so none waits for a free thread.
    workers = settings.status_writers + settings.event_posters + 4
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=workers))
    probes = await serve_probes(health, settings.health_port) if settings.health_port else None
    try:
        await kopf.operator(
            registry=registry,
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            standalone=settings.peering is None,
            peering_name=settings.peering,
            identity=identity,  # type: ignore[arg-type]  # kopf: NewType("Identity", str)
            priority=priority,
        )
    finally:
        if probes is not None:
            await probes.cleanup()
