"""`graph`: the wiring as a picture (Mermaid or Graphviz DOT), from files or the cluster."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from contract_operator.cli.connection import add_connection_options
from contract_operator.cli.report import (
    BrokerView,
    SourceError,
    add_source_options,
    load_contracts,
    read_broker,
    survey,
)
from contract_operator.cli.rules_source import add_naming_options, naming_rules
from contract_operator.core.graph import build_graph
from contract_operator.core.graph_render import render

EXIT_OK, EXIT_ERROR = 0, 1

GRAPH_EPILOG = """\
examples:
  contract-operator graph examples/demo                      # Mermaid, for markdown
  contract-operator graph -n demo --format dot | dot -Tsvg -o wiring.svg
  contract-operator graph --collapse-healthy --format dot    # large fleets: problems only

Boxes are contracts, grouped with the topics of their producer segment; arrows go publisher
-> topic -> subscriber. Broken wires are red and dashed, with a dotted "did you mean?" arrow
to the topic that was probably meant; conflicts are orange, drift yellow, unsafe drift red.
With a broker (--bootstrap-server or BOOTSTRAP_SERVERS) topics on the broker that no
contract owns are drawn grey, and drift and missing topics are marked; without one, the
graph shows names and wiring only.

exit status: 0 when the graph was printed (whatever it shows), 1 when the contracts could
not be read, 2 on usage errors. A broker that does not answer is a warning: the graph is
drawn without it. Use `report` to gate CI.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="the wiring as a graph (Mermaid or Graphviz DOT)",
        description="The wiring as a graph: nodes, the topics each publishes and subscribes "
        "to, with broken wires (and their suggested target), conflicts, drift and unowned "
        "topics marked.",
        epilog=GRAPH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_options(parser)
    parser.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    parser.add_argument(
        "--collapse-healthy",
        action="store_true",
        help="draw healthy topics as direct publisher -> subscriber arrows (and hide the ones "
        "nobody reads): only what is wrong keeps its own shape",
    )
    parser.add_argument(
        "--no-broker", action="store_true", help="do not read the broker even if one is set"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_naming_options(parser)
    add_connection_options(parser)
    parser.set_defaults(func=run_graph)


def run_graph(args: argparse.Namespace, out: TextIO | None = None) -> int:
    rules = naming_rules(args)
    try:
        loaded = load_contracts(args)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for problem in loaded.problems:
        if problem.is_error and not problem.topic:
            print(f"warning: {problem.source}: {problem.message}", file=sys.stderr)
    view = BrokerView() if args.no_broker else read_broker(args, loaded.contracts, required=False)
    if view.error:
        print(f"warning: drawn without the broker: {view.error}", file=sys.stderr)
        view = BrokerView()
    found = survey(loaded, view, rules)
    title = f"{len(loaded.contracts)} contracts from {', '.join(loaded.sources)}"
    graph = build_graph(
        found.plan,
        unowned=found.unowned,
        end_offsets=found.end_offsets,
        rules=rules,
        collapse_healthy=args.collapse_healthy,
        title=title,
    )
    text = render(graph, args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        (out or sys.stdout).write(text)
    return EXIT_OK
