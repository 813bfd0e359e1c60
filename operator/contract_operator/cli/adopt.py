"""`adopt`: contracts from what a cluster already has (its topics and consumer groups).

Read-only: one pass over the broker (topics, their configs, consumer groups) and the cluster's
NodeContracts; the decisions are core.adopt's.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, TextIO

from contract_operator.adapters.broker import Broker, BrokerError
from contract_operator.adapters.cluster import ClusterError, list_nodecontracts
from contract_operator.adapters.kube import KubeConfigError
from contract_operator.cli.connection import add_connection_options, broker_settings
from contract_operator.cli.errors import UsageError
from contract_operator.cli.output import (
    Document,
    add_contract_output_options,
    check_output_dir,
    write_documents,
)
from contract_operator.cli.rules_source import add_naming_options, resolve_rules
from contract_operator.core.adopt import AdoptedContract, Adoption, adopt, group_rule
from contract_operator.core.adopt_summary import render_summary
from contract_operator.core.snapshot import BrokerSnapshot
from contract_operator.model.contract import Contract
from contract_operator.model.documents import Shape, contract_document
from contract_operator.model.loader import load_paths

EXIT_OK, EXIT_ERROR, EXIT_LEFT_OUT = 0, 1, 3

EPILOG = """\
examples:
  contract-operator adopt -n agents --group-to-node '{node}-consumer' > adopted.yaml
  contract-operator adopt -n agents --group-to-node '{node}-consumer' -o contracts/
  contract-operator adopt --format contract-yaml --group-to-node '^(?P<node>[a-z-]+)-v[0-9]+$'
  kubectl apply -f adopted.yaml          # then `kubectl get nc -n agents`: all Ready

what is written: one contract per producer segment, publishing every topic on the broker
under that segment with the partitions, replication factor and configs the topic has (only
configs set on the topic, not the broker's defaults), so applying it creates nothing and
reports no drift. Subscriptions come from consumer groups (the topics a group has committed
offsets for or is assigned), mapped to nodes by --group-to-node.

what is listed instead (on stderr; the contracts go to stdout or --output-dir):
  - topics whose names break the naming rules, with the rename `validate` suggests
  - topics a NodeContract in the cluster already publishes (skipped)
  - consumer groups no rule maps to a node (never guessed)
  - subscriptions that would be broken wires (a group reading a rule-breaking name);
    also written as comments in the node's contract

Kafka ACLs adopt needs on a secured cluster: DESCRIBE and DESCRIBE_CONFIGS on the topics,
DESCRIBE on the consumer groups (a group it may not describe is not even listed); no CREATE.
`python -m contract_operator.adapters.kafka_acls print --for adopt` prints them.
Kubernetes: list on nodecontracts (skip with --no-cluster).

exit status: 0 everything on the broker was adopted, 3 contracts were written but something
was left out (listed), 1 the broker or the cluster could not be read, 2 usage errors.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "adopt",
        help="write contracts for what the cluster already has (topics and consumer groups)",
        description="Read the broker's topics and consumer groups and write one contract per "
        "producer segment that matches them exactly. Read-only.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_contract_output_options(parser, "NODE.yaml; default: stdout")
    parser.add_argument(
        "--group-to-node",
        dest="group_rules",
        action="append",
        default=[],
        metavar="RULE",
        help="map consumer groups to nodes: a template such as '{node}-consumer' or a regex "
        "with a (?P<node>...) group, matched against the whole group id; repeatable, the "
        "first match wins; groups no rule maps are listed",
    )
    parser.add_argument(
        "--no-cluster",
        action="store_true",
        help="do not read the cluster's NodeContracts (nothing is skipped as already published)",
    )
    parser.add_argument(
        "--existing",
        action="append",
        default=[],
        metavar="PATH",
        help="contract files whose topics count as already published (repeatable)",
    )
    parser.add_argument(
        "--topics",
        metavar="REGEX",
        help="only adopt topics whose names this regex matches (searched anywhere in the "
        "name), e.g. '^onex\\.[a-z]+\\.billing\\.' for one team at a time",
    )
    add_naming_options(parser)
    add_connection_options(parser)
    parser.set_defaults(func=run_adopt)


def _scope(text: str | None) -> re.Pattern[str] | None:
    try:
        return re.compile(text) if text else None
    except re.error as exc:
        raise UsageError(f"--topics {text!r} is not a valid regex: {exc}") from None


def _group_rules(texts: list[str]) -> list[re.Pattern[str]]:
    try:
        return [group_rule(text) for text in texts]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _existing(args: argparse.Namespace) -> list[Contract]:
    """Contracts whose topics are not adopted again: from --existing files and the cluster."""
    contracts: list[Contract] = []
    if args.existing:
        loaded = load_paths(args.existing)
        errors = [p for p in loaded.problems if p.is_error]
        if errors:
            raise UsageError(f"--existing: {errors[0].source}: {errors[0].message}")
        contracts += loaded.contracts
    if not args.no_cluster:
        try:
            contracts += list_nodecontracts(()).loaded.contracts
        except (KubeConfigError, ClusterError) as exc:
            raise ClusterError(
                f"cannot read the cluster's NodeContracts: {exc}; pass --no-cluster to adopt "
                "without skipping what they publish"
            ) from None
    return contracts


def _documents(args: argparse.Namespace, result: Adoption) -> list[Document]:
    withheld: dict[str, list[str]] = {}
    for w in result.withheld:
        withheld.setdefault(w.node, []).append(f"  {w.topic} (group {w.group}): {w.reason}")
    docs = []
    for contract in result.contracts:
        comment = _comment(contract, withheld.pop(contract.spec.node, []))
        shape: Shape = "file" if args.format == "contract-yaml" else "manifest"
        body = contract_document(contract.spec, shape, contract.name, args.namespace)
        docs.append(Document(f"{contract.name}.yaml", body, comment))
    return docs


def _comment(contract: AdoptedContract, withheld: list[str]) -> tuple[str, ...]:
    lines = [f"Adopted from the cluster by `contract-operator adopt` (node {contract.spec.node})."]
    if withheld:
        lines += ["Subscriptions left out: they would be broken wires.", *withheld]
    return tuple(lines)


def run_adopt(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    rules = resolve_rules(args).rules
    if "producer" not in rules.regex.groupindex:
        raise UsageError(
            "adopt needs a (?P<producer>...) group in the naming pattern: the producer "
            "segment decides which node's contract publishes a topic"
        )
    group_rules = _group_rules(args.group_rules)
    scope = _scope(args.topics)
    check_output_dir(args.output_dir)
    try:
        existing = _existing(args)
        broker = Broker(broker_settings(args))
        names = broker.topic_names()
        # Out of scope is never described: DescribeConfigs is the costly read.
        snapshot = broker.describe({n for n in names if scope is None or scope.search(n)})
        snapshot = BrokerSnapshot(snapshot.topics, names, snapshot.cluster)
        groups = broker.consumer_groups()
    except (BrokerError, ClusterError) as exc:
        print(f"contract-operator adopt: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    taken = {c.name for c in existing if c.namespace == args.namespace}
    result = adopt(snapshot, groups, rules, group_rules, existing, taken, scope)
    paths = write_documents(_documents(args, result), out, args.output_dir, force=args.force)
    where = broker.settings.bootstrap_servers
    sys.stderr.write(render_summary(result, where, paths))
    left_out = result.rule_breakers or result.unmapped_groups or result.withheld
    return EXIT_LEFT_OUT if left_out or result.unreadable_groups else EXIT_OK
