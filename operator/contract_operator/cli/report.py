"""`report`: everything wrong on the bus in one answer, from contract files or the cluster's
NodeContracts, read against the broker (read-only)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from contract_operator.adapters.broker import Broker, BrokerError
from contract_operator.adapters.broker_settings import ENV_BOOTSTRAP
from contract_operator.adapters.cluster import ClusterError, list_nodecontracts
from contract_operator.adapters.kube import KubeConfigError
from contract_operator.cli.connection import add_connection_options, broker_settings
from contract_operator.cli.rules_source import add_naming_options, resolve_rules
from contract_operator.core.declared import declared_names
from contract_operator.core.exit_status import EXIT_ERROR, exit_status
from contract_operator.core.naming import NamingRules
from contract_operator.core.planner import Plan, PlanOptions, plan
from contract_operator.core.problems import Problem
from contract_operator.core.recreated import RecordedId, recreated_topics
from contract_operator.core.report import Report, build_report
from contract_operator.core.report_formats import render
from contract_operator.core.report_text import to_dict
from contract_operator.core.snapshot import BrokerSnapshot
from contract_operator.core.unowned import Unowned, unowned_topics
from contract_operator.model.contract import Contract
from contract_operator.model.loader import load_paths

REPORT_EPILOG = """\
examples:
  contract-operator report                           # every NodeContract in the cluster
  contract-operator report -n agents -n billing      # only these namespaces
  contract-operator report contracts/ --bootstrap-server redpanda:9092
  contract-operator report --format markdown > report.md   # for a pull-request comment
  contract-operator report contracts/ --no-broker    # names and wiring only, no broker

Without PATH, contracts are the NodeContracts of the cluster of the current kubeconfig
(KUBECONFIG), in every namespace unless -n is given. Unowned topics are topics on the broker
that match the naming rules but that no contract publishes (left behind by a rename or a
removed node); each is listed with the contracts that still subscribe to it and whether it
was ever written to (its end offsets, read in one request). With -n, only unowned topics
under the producer segments of the contracts read (or subscribed by them) are listed: other
namespaces may own the rest.

exit status (the first that applies, in this order):
  1  errors: broken wires, conflicts, invalid contracts or names, topics the broker refused,
     or the cluster / broker could not be read
  4  unsafe drift: an existing topic keeps fewer copies or less data than declared
  2  declared topics are not on the broker yet (the operator or `provision` creates them)
  3  drift: existing topics differ from their contracts (reported, never altered)
  5  unowned topics on the broker, and nothing else wrong
  0  nothing wrong
  (2 is also the status of a usage error, as for every command)
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="everything wrong on the bus: drift, broken wires, conflicts, unowned topics",
        description="Everything wrong on the bus, from contract files or the cluster's "
        "NodeContracts: unsafe drift, drift, broken wires with suggestions, conflicts, failed "
        "and pending topics, and topics on the broker that no contract owns. Read-only.",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_options(parser)
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument(
        "--no-broker",
        action="store_true",
        help="do not read the broker: names and wiring only (no drift, missing or unowned topics)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print the naming rules applied"
    )
    add_naming_options(parser)
    add_connection_options(parser)
    parser.set_defaults(func=run_report)


def add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="contract.yaml files, NodeContract manifests, AsyncAPI documents, or directories; "
        "without PATH, the NodeContracts of the current kubeconfig's cluster",
    )
    parser.add_argument(
        "-n",
        "--namespace",
        dest="namespaces",
        action="append",
        default=[],
        metavar="NS",
        help="read NodeContracts from this namespace (repeatable; default: all namespaces); "
        "only without PATH",
    )


class SourceError(Exception):
    """The contracts could not be read at all (cluster unreachable, no credentials)."""


@dataclass(frozen=True)
class Loaded:
    contracts: list[Contract]
    problems: list[Problem]
    sources: tuple[str, ...]
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    # Set when only part of the cluster was read (-n): unowned topics are then looked for only
    # under these producer segments, since other namespaces may own the rest.
    producers: frozenset[str] | None = None
    recorded_ids: tuple[RecordedId, ...] = ()  # from the statuses (cluster only)


def load_contracts(args: argparse.Namespace) -> Loaded:
    """Contracts from PATHs, or from the cluster when none are given."""
    if args.paths:
        if args.namespaces:
            print("note: -n is ignored when PATHs are given", file=sys.stderr)
        loaded = load_paths(args.paths)
        return Loaded(loaded.contracts, loaded.problems, tuple(args.paths))
    try:
        cluster = list_nodecontracts(args.namespaces)
    except (KubeConfigError, ClusterError) as exc:
        raise SourceError(str(exc)) from None
    where = (
        tuple(f"namespace {ns}" for ns in cluster.namespaces)
        if cluster.namespaces
        else ("all namespaces",)
    )
    contracts = cluster.loaded.contracts
    producers = frozenset(c.node for c in contracts) if cluster.namespaces else None
    return Loaded(
        contracts,
        cluster.loaded.problems,
        where,
        dict(cluster.failures),
        producers,
        cluster.recorded_ids,
    )


@dataclass(frozen=True)
class BrokerView:
    """What the broker said, or why it said nothing."""

    address: str | None = None
    snapshot: BrokerSnapshot | None = None
    error: str | None = None
    broker: Broker | None = None


def read_broker(
    args: argparse.Namespace, contracts: list[Contract], *, required: bool
) -> BrokerView:
    """One batched describe of the contracts' topics (plus the list of every topic name).

    Not `required`: without a broker address (flag or env), return an empty view quietly.
    """
    if not required and not (args.bootstrap_server or os.environ.get(ENV_BOOTSTRAP)):
        return BrokerView()
    names = declared_names(contracts)
    try:
        settings = broker_settings(args)
    except BrokerError as exc:
        return BrokerView(error=str(exc))
    broker = Broker(settings)
    try:
        snapshot = broker.describe(names, cluster=broker.cluster_settings())
        return BrokerView(settings.bootstrap_servers, snapshot, broker=broker)
    except BrokerError as exc:
        return BrokerView(settings.bootstrap_servers, error=str(exc), broker=broker)


def run_report(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    applied = resolve_rules(args)
    try:
        loaded = load_contracts(args)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    report = make_report(args, loaded, applied.rules)
    if args.format == "json":  # the rules applied travel with the findings, as in `plan`
        out.write(json.dumps({**to_dict(report), "rules": applied.to_dict()}, indent=2) + "\n")
    else:
        if args.verbose and args.format == "text":
            out.write(applied.describe() + "\n")
        out.write(render(report, args.format))
    return exit_code(report)


@dataclass(frozen=True)
class Survey:
    """What `report` and `graph` both draw from: the plan, unowned topics, their end offsets."""

    plan: Plan
    unowned: Unowned
    end_offsets: dict[str, int | None]


def survey(
    loaded: Loaded, view: BrokerView, rules: NamingRules, *, broker_error: str | None = None
) -> Survey:
    """The same plan() as `plan` and the operator, plus what only the broker's names show."""
    # Without a broker (not asked), topics are Unknown and plan.broker_error stays None.
    result = plan(
        loaded.contracts, view.snapshot, PlanOptions(rules=rules), broker_error=broker_error
    )
    unowned = (
        unowned_topics(loaded.contracts, view.snapshot.all_names, rules, producers=loaded.producers)
        if view.snapshot
        else Unowned()
    )
    offsets: dict[str, int | None] = {}
    if unowned and view.broker is not None:
        try:
            offsets = view.broker.end_offsets(unowned.names)
        except BrokerError as exc:  # a hint only: the answer stands without it
            print(f"note: end offsets not read: {exc}", file=sys.stderr)
    return Survey(result, unowned, offsets)


def make_report(args: argparse.Namespace, loaded: Loaded, rules: NamingRules) -> Report:
    view = BrokerView() if args.no_broker else read_broker(args, loaded.contracts, required=True)
    found = survey(loaded, view, rules, broker_error=view.error)
    return build_report(
        found.plan,
        view.snapshot,
        rules=rules,
        unowned=found.unowned,
        end_offsets=found.end_offsets,
        broker=view.address,
        extra_problems=loaded.problems,
        recorded_failures=loaded.failures,
        sources=loaded.sources,
        recreated=recreated_topics(loaded.recorded_ids, view.snapshot),
    )


def exit_code(report: Report) -> int:
    """The documented exit status (see REPORT_EPILOG)."""
    return exit_status(
        errors=report.has_errors,
        unsafe_drift=bool(report.unsafe_drift),
        missing=bool(report.missing),
        drift=bool(report.drift),
        unowned=bool(report.unowned),
    )
