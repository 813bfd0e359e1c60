"""Entry point: build the parser from each subcommand module and dispatch."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from contract_operator import __version__
from contract_operator.cli import adopt, asyncapi, graph, plan, policy_params, report, run, validate
from contract_operator.cli.errors import UsageError

# Each module has add_parser(subparsers), which sets `func` (args -> exit code) as a default.
SUBCOMMANDS = (validate, plan, report, graph, run, policy_params, adopt, asyncapi)

DESCRIPTION = """\
Each node's contract is the single source of truth for its Kafka/Redpanda topics.

A contract lists the topics a node publishes (with partitions, replication factor and
config) and the topics it subscribes to. It is a NodeContract resource in the cluster, or
a contract.yaml file next to the node's code; both are read by the same parser.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contract-operator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"contract-operator {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
