"""`policy-params`: the naming rules as the chart's ValidatingAdmissionPolicy parameters."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from contract_operator.cli.rules_source import add_naming_options, naming_rules
from contract_operator.core.naming_policy import policy_params

EPILOG = """\
examples:
  contract-operator policy-params                            # the built-in rules
  contract-operator policy-params --pattern '^(?P<kind>[a-z]+)\\.(?P<producer>[a-z0-9-]+)\\..+$' \\
      --kinds evt,cmd > policy-params.yaml
  helm upgrade --install co helm/contract-operator --set topicPattern=... \\
      --set-json "admissionPolicy.params=$(contract-operator policy-params --format json)"

The chart's policy checks names with CEL, which has no capture groups: the kind and producer
checks become whole-name patterns derived here from the same rules the operator reads (flags,
environment, rules file). The chart refuses to render params made for other rules.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "policy-params",
        help="the naming rules as the chart's ValidatingAdmissionPolicy parameters",
        description="Print the admissionPolicy.params values for the Helm chart, derived from "
        "the naming rules (the same flags, environment and rules file as validate and run).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_naming_options(parser)
    parser.add_argument(
        "--format",
        choices=("yaml", "json"),
        default="yaml",
        help="yaml: an admissionPolicy.params block for a values file; json: the params object",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    params = policy_params(naming_rules(args))
    if args.format == "json":
        out.write(json.dumps(params) + "\n")
        return 0
    out.write("admissionPolicy:\n  params:\n")
    for key, value in params.items():
        out.write(f"    {key}: {json.dumps(value)}\n")
    return 0
