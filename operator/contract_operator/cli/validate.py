"""`validate`: parse contracts and check names and wiring, with no cluster and no broker (CI)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from contract_operator.cli.rules_source import (
    AppliedRules,
    add_known_topics_option,
    add_naming_options,
    known_topics,
    resolve_rules,
)
from contract_operator.core.checks import check_contracts
from contract_operator.model.loader import LoadResult, load_paths
from contract_operator.model.problems import Problem, Severity

EPILOG = """\
examples:
  contract-operator validate examples/nodecontracts examples/contracts
  contract-operator validate services/*/contract.yaml --format json
  contract-operator validate deploy/ --known-topics onex.evt.payments.payment-completed.v1

what is checked:
  - each document is a NodeContract manifest or a contract.yaml, with the same rules and
    limits the CRD enforces at admission (legal topic names, 1 <= partitions <= 100000,
    1 <= replicationFactor <= 32, config values up to 4096 characters, no duplicates, ...)
  - every topic name matches the naming pattern and uses an allowed kind
  - a contract publishes only under its own producer segment (spec.node); a declaration
    that breaks a naming rule never owns its topic
  - numeric config values (*.ms, *.bytes, min.insync.replicas, ...) are numbers, not 7d;
    an even replication factor is a warning (Redpanda refuses them)
  - every subscription is published by some contract; near misses are named
    (routing_complete vs routing-complete, route vs routes, .v1 vs .v2, a renamed segment)
  - two contracts publishing one topic declare the same settings (the oldest wins)

naming rules: flags, then CONTRACT_OPERATOR_TOPIC_PATTERN / CONTRACT_OPERATOR_TOPIC_KINDS,
then the rules file (--rules or CONTRACT_OPERATOR_RULES_FILE), then the built-in rules:
the same sources the operator reads. --verbose and --format json show the rules applied.

exit status: 0 when there is no error (warnings and info do not fail), 1 on any error,
2 on usage errors.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check contract files and NodeContract manifests (no cluster, no broker)",
        description="Parse contracts and check their names and wiring, offline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="contract.yaml files, NodeContract manifests, AsyncAPI 2.x/3.0 documents, or "
        "directories (searched recursively for *.yaml, *.yml, asyncapi.json and "
        "*.asyncapi.json); wiring is checked across all of them",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print info notes and the naming rules applied in text output",
    )
    add_naming_options(parser)
    add_known_topics_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    applied = resolve_rules(args)
    loaded = load_paths(args.paths)
    problems = loaded.problems + check_contracts(
        loaded.contracts, applied.rules, known_topics(args)
    )
    if not loaded.contracts and not any(p.is_error for p in problems):
        problems.append(
            Problem(
                Severity.ERROR,
                "no-contracts",
                "no contracts found",
                "Point at contract.yaml files or NodeContract manifests.",
            )
        )
    ok = not any(p.is_error for p in problems)
    if args.format == "json":
        json.dump(
            {
                "contracts": len(loaded.contracts),
                "files": len(loaded.files),
                "problems": [p.to_dict() for p in problems],
                "ok": ok,
                "rules": applied.to_dict(),
            },
            out,
            indent=2,
        )
        out.write("\n")
    else:
        out.write(render_text(problems, loaded, verbose=args.verbose, rules=applied))
    return 0 if ok else 1


def render_text(
    problems: Sequence[Problem],
    loaded: LoadResult,
    *,
    verbose: bool = False,
    rules: AppliedRules | None = None,
) -> str:
    """Problems grouped by file, errors first, then one summary line; with `verbose`, the
    naming rules applied come first."""
    shown = [p for p in problems if verbose or p.severity is not Severity.INFO]
    by_file: dict[str, list[Problem]] = {}
    for problem in shown:
        by_file.setdefault(problem.source or "(no file)", []).append(problem)
    lines: list[str] = [rules.describe(), ""] if verbose and rules else []
    for source in sorted(by_file):
        lines.append(source)
        for p in sorted(by_file[source], key=lambda p: p.severity.rank):
            where = ", ".join(x for x in (p.contract, p.field) if x)
            lines.append(f"  {p.severity.value}[{p.code}]" + (f" {where}" if where else ""))
            lines.append(f"    {p.message}")
            if p.fix:
                lines.append(f"    fix: {p.fix}")
        lines.append("")
    lines.append(_summary(problems, loaded, hidden=len(problems) - len(shown)))
    return "\n".join(lines) + "\n"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(problems: Sequence[Problem], loaded: LoadResult, hidden: int) -> str:
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = sum(p.severity is Severity.WARNING for p in problems)
    line = (
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in "
        f"{_plural(len(loaded.contracts), 'contract')} from {_plural(len(loaded.files), 'file')}"
    )
    if hidden:
        line += f" ({_plural(hidden, 'info note')} hidden; -v shows them)"
    return line
