"""`plan` (read-only) and `provision` (create-only): the planner against a real broker, for CI."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from contract_operator.adapters.broker import Broker, BrokerError
from contract_operator.adapters.provision import provision as create_and_replan
from contract_operator.cli.connection import add_connection_options, broker_settings
from contract_operator.cli.plan_output import render
from contract_operator.cli.rules_source import AppliedRules, add_naming_options, resolve_rules
from contract_operator.cli.validate import render_text
from contract_operator.core.declared import declared_names
from contract_operator.core.exit_status import EXIT_ERROR, exit_status
from contract_operator.core.planner import PlanOptions, plan
from contract_operator.core.snapshot import CreateResult
from contract_operator.model.loader import load_paths
from contract_operator.model.problems import Problem

# plan's exit status; CI can branch on it. When several apply, the first of 1, 4, 2, 3 wins:
# unsafe drift (data kept below what was declared) outranks topics to create.

PLAN_EPILOG = """\
examples:
  contract-operator plan examples/nodecontracts --bootstrap-server 127.0.0.1:9092
  BOOTSTRAP_SERVERS=redpanda:9092 contract-operator plan deploy/ --format json

exit status:
  0  in sync: nothing to create, no drift
  1  errors: invalid contracts, broken wires, conflicts, or the broker could not be read
  2  topics would be created (run `provision`)
  3  drift: existing topics differ from their contracts (never altered; change the
     contract or migrate the topic)
  4  unsafe drift: an existing topic keeps fewer copies or less data than declared (lower
     replication factor or min.insync.replicas, shorter retention, deletion where compaction
     was declared); marked UNSAFE in the output. Outranks 2 and 3, not 1.

Omitted partitions / replicationFactor mean the cluster's default: the topic is created with
the broker's own defaults and they are never compared. The naming rules come from the flags,
CONTRACT_OPERATOR_TOPIC_PATTERN / CONTRACT_OPERATOR_TOPIC_KINDS, the rules file (--rules or
CONTRACT_OPERATOR_RULES_FILE), then the built-in rules; --verbose prints them.
"""

PROVISION_EPILOG = """\
Creates the topics `plan` lists under "to create", with the declared partitions,
replication factor and config, in one batched request. Existing topics are never altered,
repartitioned or deleted; drift is reported, not corrected.

examples:
  contract-operator provision examples/nodecontracts --bootstrap-server 127.0.0.1:9092

exit status: 0 when every missing topic was created (drift is reported, does not fail),
1 on contract errors, a refused create, or an unreachable broker.
"""


def add_parser(subparsers: Any) -> None:
    for name, help_, epilog, func in (
        (
            "plan",
            "show what would be created and what has drifted (read-only)",
            PLAN_EPILOG,
            run_plan,
        ),
        ("provision", "create the missing topics (create-only)", PROVISION_EPILOG, run_provision),
    ):
        parser = subparsers.add_parser(
            name,
            help=help_,
            description=help_[0].upper() + help_[1:] + ".",
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument(
            "paths",
            nargs="+",
            metavar="PATH",
            help="contract.yaml files, NodeContract manifests, AsyncAPI documents, or directories",
        )
        parser.add_argument("--format", choices=("text", "json"), default="text")
        parser.add_argument(
            "--create-subscribed",
            action="store_true",
            help="also create topics that are only subscribed to (hides broken wires; off by "
            "default)",
        )
        parser.add_argument(
            "-v", "--verbose", action="store_true", help="also print the naming rules applied"
        )
        add_naming_options(parser)
        add_connection_options(parser)
        parser.set_defaults(func=func)


class _NothingToPlan(Exception):
    """No contract could be read: say why without contacting the broker."""


def _prepare(
    args: argparse.Namespace, rules: AppliedRules
) -> tuple[Broker, list[Any], list[Problem], PlanOptions]:
    options = PlanOptions(rules=rules.rules, create_subscribed=args.create_subscribed)
    loaded = load_paths(args.paths)
    if not loaded.contracts:
        raise _NothingToPlan(render_text(loaded.problems, loaded) or "no contracts found")
    broker = Broker(broker_settings(args))
    return broker, loaded.contracts, loaded.problems, options


def run_plan(args: argparse.Namespace, out: TextIO | None = None) -> int:
    return _run(args, out or sys.stdout, provision=False)


def run_provision(args: argparse.Namespace, out: TextIO | None = None) -> int:
    return _run(args, out or sys.stdout, provision=True)


def _run(args: argparse.Namespace, out: TextIO, *, provision: bool) -> int:
    """Load, read the broker once, plan; with `provision`, create and re-plan with the outcome."""
    rules = resolve_rules(args)  # a bad rule set is a usage error, before any I/O
    outcome: CreateResult | None = None
    try:
        broker, contracts, load_problems, options = _prepare(args, rules)
        snapshot = broker.describe(declared_names(contracts), cluster=broker.cluster_settings())
        result = plan(contracts, snapshot, options)
        if provision:
            done = create_and_replan(
                broker,
                result.to_create,
                snapshot,
                lambda merged, made: plan(contracts, merged, options, outcome=made),
            )
            outcome, snapshot, result = done.outcome, done.snapshot, done.result
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except _NothingToPlan as exc:
        print(f"error: nothing to plan\n{exc}", file=sys.stderr)
        return EXIT_ERROR
    problems = load_problems + list(result.problems)
    if args.verbose and args.format == "text":
        out.write(rules.describe() + "\n")
    render(
        result,
        problems,
        outcome,
        args.format,
        broker.settings.bootstrap_servers,
        out,
        rules,
        snapshot.cluster,
    )
    errors = any(p.is_error for p in problems) or (outcome is not None and outcome.failed)
    if outcome is not None:  # provision: drift is reported, it does not fail
        return exit_status(errors=bool(errors))
    return exit_status(
        errors=bool(errors),
        unsafe_drift=bool(result.unsafe_drift),
        missing=bool(result.to_create),
        drift=bool(result.drifted),
    )
