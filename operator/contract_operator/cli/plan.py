"""`plan` (read-only) and `provision` (create-only): the planner against a real broker, for CI."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from contract_operator.adapters.broker import Broker, BrokerError
from contract_operator.adapters.provision import provision as create_and_replan
from contract_operator.cli.connection import add_connection_options, broker_settings
from contract_operator.cli.rules_source import AppliedRules, add_naming_options, resolve_rules
from contract_operator.cli.validate import render_text
from contract_operator.core.declared import declared_names
from contract_operator.core.exit_status import EXIT_ERROR, exit_status
from contract_operator.core.planner import Plan, PlanOptions, TopicState, plan
from contract_operator.core.snapshot import ClusterSettings, CreateResult
from contract_operator.model.loader import load_paths
from contract_operator.model.problems import Problem, Severity

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
            help="contract.yaml files, NodeContract manifests, or directories",
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


def _settings(request: Any) -> str:
    def value(v: int | None) -> str:
        return "cluster-default" if v is None else str(v)

    parts = [
        f"partitions={value(request.partitions)}",
        f"replicationFactor={value(request.replication_factor)}",
    ]
    parts += [f"{k}={v}" for k, v in sorted(request.config.items())]
    return " ".join(parts)


def render(
    result: Plan,
    problems: list[Problem],
    outcome: CreateResult | None,
    fmt: str,
    bootstrap: str,
    out: TextIO,
    rules: AppliedRules | None = None,
    cluster: ClusterSettings | None = None,
) -> None:
    publishers: dict[str, list[str]] = {}
    for cp in result.contracts:
        for t in cp.contract.published:
            publishers.setdefault(t.name, []).append(cp.contract.key)
    in_sync = sorted(
        {
            t.name
            for cp in result.contracts
            for t in cp.with_state(TopicState.PRESENT)
            if t.role == "publish"
        }
    )
    if fmt == "json":
        json.dump(
            {
                "broker": bootstrap,
                "rules": rules.to_dict() if rules else None,
                # The broker-wide defaults the rules used (null: not readable).
                "cluster": {
                    "defaultReplicationFactor": cluster.default_replication_factor
                    if cluster
                    else None,
                    "autoCreateTopics": cluster.auto_create_topics if cluster else None,
                },
                "to_create": [
                    {
                        "name": r.name,
                        # null: the cluster's default
                        "partitions": r.partitions,
                        "replicationFactor": r.replication_factor,
                        "config": dict(r.config),
                    }
                    for r in result.to_create
                ],
                "created": sorted(outcome.created) if outcome else [],
                "already_existed": sorted(outcome.already_existed) if outcome else [],
                "failed": dict(outcome.failed) if outcome else {},
                "drifted": [
                    {"contract": c.key, **t.to_dict(), "unsafe": t.unsafe}
                    for c, t in result.drifted
                ],
                "unsafe_drift": len(result.unsafe_drift),
                "in_sync": in_sync,
                "contracts": [
                    {
                        "contract": cp.contract.key,
                        "source": cp.contract.source,
                        "topics": [t.to_dict() for t in cp.topics],
                    }
                    for cp in result.contracts
                ],
                "problems": [p.to_dict() for p in problems],
            },
            out,
            indent=2,
        )
        out.write("\n")
        return

    w = out.write
    w(f"{len(result.contracts)} contracts against broker {bootstrap}\n")
    if outcome is None:
        if result.to_create:
            w(f"\nTo create ({len(result.to_create)}):\n")
            for r in result.to_create:
                w(f"  + {r.name}  {_settings(r)}  ({', '.join(publishers.get(r.name, []))})\n")
    else:
        requested = {r.name: r for r in result.to_create}
        if outcome.created:
            w(f"\nCreated ({len(outcome.created)}):\n")
            for name in sorted(outcome.created):
                detail = _settings(requested[name]) if name in requested else ""
                w(f"  + {name}  {detail}\n")
        for name in sorted(outcome.already_existed):
            w(f"  = {name} was created by someone else meanwhile; compared below\n")
        if outcome.failed:
            w(f"\nFailed ({len(outcome.failed)}):\n")
            for name, reason in sorted(outcome.failed.items()):
                w(f"  x {name}: {reason}\n")
    if result.drifted:
        w(
            f"\nDrifted ({len(result.drifted)}) - reported only, "
            "existing topics are never altered:\n"
        )
        for contract, topic in result.drifted:
            mark = "!" if topic.unsafe else "~"
            unsafe = "  UNSAFE: keeps less data than declared" if topic.unsafe else ""
            w(f"  {mark} {topic.name}  ({contract.key}){unsafe}\n")
            for d in topic.drift:
                flag = "  (unsafe)" if d.unsafe else ""
                w(f"      {d.field}: declared {d.declared}, actual {d.actual}{flag}\n")
    unverifiable = [
        (cp.contract, t) for cp in result.contracts for t in cp.topics if t.unverifiable
    ]
    if unverifiable:
        w(
            f"\nUnverifiable ({len(unverifiable)}) - declared config keys the broker does not "
            "report (not drift):\n"
        )
        for contract, topic in unverifiable:
            w(f"  ? {topic.name}  ({contract.key}): {', '.join(topic.unverifiable)}\n")
    errors = [p for p in problems if p.severity is not Severity.INFO]
    if errors:
        w(f"\nProblems ({len(errors)}):\n")
        for p in sorted(errors, key=lambda p: p.severity.rank):
            w(f"  ! {p.severity.value}: {p.message}\n")
            if p.fix:
                w(f"      fix: {p.fix}\n")
    if in_sync:
        w(
            f"\nIn sync ({len(in_sync)}): {', '.join(in_sync[:10])}"
            f"{' ...' if len(in_sync) > 10 else ''}\n"
        )
    to_create = 0 if outcome is not None else len(result.to_create)
    w(
        f"\nSummary: {to_create} to create, "
        f"{len(outcome.created) if outcome else 0} created, {len(result.drifted)} drifted "
        f"({len(result.unsafe_drift)} unsafe), "
        f"{len(in_sync)} in sync, "
        f"{sum(1 for p in problems if p.is_error)} errors.\n"
    )
