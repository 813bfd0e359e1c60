"""`run`: the operator. Watches NodeContracts, creates missing topics, reports drift in status."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from contract_operator.adapters.broker import Broker, BrokerError
from contract_operator.adapters.kube import Kube, KubeConfigError
from contract_operator.cli.connection import add_connection_options, broker_settings
from contract_operator.cli.rules_source import add_naming_options, resolve_rules
from contract_operator.cli.run_options import (
    ADMISSION_OPTIONS,
    OPERATOR_OPTIONS,
    add_admission_options,
    add_operator_options,
    admission_settings,
    operator_settings,
    warn_unknown_variables,
)
from contract_operator.controller import metrics
from contract_operator.controller.handlers import build_registry
from contract_operator.controller.health import Health
from contract_operator.controller.health import serve as serve_probes
from contract_operator.controller.peering import PeeringGate, draw_priority, own_identity
from contract_operator.controller.reconciler import Reconciler
from contract_operator.controller.settings import (
    ENV_KINDS,
    ENV_PATTERN,
    ENV_RULES_FILE,
    OperatorSettings,
)
from contract_operator.core.selectors import parse_selector

log = logging.getLogger("contract_operator")

_VARIABLES = [
    *(o.env for o in (*OPERATOR_OPTIONS, *ADMISSION_OPTIONS) if o.env),
    ENV_PATTERN,
    ENV_KINDS,
    ENV_RULES_FILE,
    "BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_*",
    "KAFKA_SSL_CA_LOCATION",
]

EPILOG = f"""\
Every flag falls back to an environment variable (the Helm chart sets those); an empty
variable counts as unset, and a bad value stops the operator with a one-line error naming it:
{textwrap.fill("  ".join(_VARIABLES), width=92, initial_indent="  ", subsequent_indent="  ")}

examples:
  contract-operator run --bootstrap-server 127.0.0.1:9092
  contract-operator run --namespace agents --namespace billing --resync-seconds 30
  contract-operator run --selector kafka-cluster=payments   # one instance per Kafka cluster

Controls on a NodeContract: the annotation eventbus.dev/paused: "true" stops creating its
topics (drift and wiring are still reported; remove it to resume). A topic deleted and
re-created under the same name (a new Kafka topic id) is a Warning Event TopicRecreated.

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
    add_operator_options(parser)
    add_naming_options(parser)  # flags, env and rules file: cli/rules_source.py
    parser.set_defaults(func=run)
    add_connection_options(parser)
    add_admission_options(parser)


def run(args: argparse.Namespace) -> int:
    settings = operator_settings(args)
    selector = parse_selector(settings.selector)
    admission = admission_settings(args, object_selector=selector.label_selector())
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    if settings.log_level != "DEBUG":  # kopf logs every handler call at INFO: one per watch event
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    warn_unknown_variables()
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
        selector=selector,
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
