"""`asyncapi export|import`: contracts to AsyncAPI 3.0 documents and back (2.x and 3.0 read)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from contract_operator.cli.errors import UsageError
from contract_operator.cli.output import (
    Document,
    add_contract_output_options,
    add_output_options,
    write_documents,
)
from contract_operator.cli.report import SourceError, add_source_options, load_contracts
from contract_operator.cli.validate import render_text
from contract_operator.model.asyncapi_write import to_asyncapi
from contract_operator.model.documents import Shape, contract_document
from contract_operator.model.loader import LoadResult, load_paths
from contract_operator.model.problems import Problem

EXPORT_EPILOG = """\
examples:
  contract-operator asyncapi export contracts/ -o asyncapi/      # one document per contract
  contract-operator asyncapi export -n agents --bundle > bus.asyncapi.yaml
  contract-operator asyncapi export router/contract.yaml --format json

Each topic is a channel whose address is the topic name, with a Kafka channel binding
(0.5.0) carrying partitions, replicas and topicConfiguration; a published topic is a `send`
operation, a subscribed one a `receive`. A config value the binding would type otherwise
(retention.ms: 7d) is kept verbatim in the binding's x-eventbus-config, and info.x-eventbus
names the contracts, so `asyncapi import` gives back exactly the contracts exported.
Without PATH, the NodeContracts of the current kubeconfig's cluster are exported.

exit status: 0 written, 1 a contract could not be read, 2 usage errors.
"""

IMPORT_EPILOG = """\
examples:
  contract-operator asyncapi import router.asyncapi.yaml billing.asyncapi.json -o contracts/
  contract-operator asyncapi import bus.asyncapi.yaml -n agents | kubectl apply -f -
  contract-operator validate *.asyncapi.yaml      # AsyncAPI files are contract sources too

Reads AsyncAPI 3.0 (operations with action send / receive) and 2.x (where `subscribe` is
what the application sends and `publish` what it receives). The topic is the Kafka binding's
`topic` when set, else the channel's address (3.0) or name (2.x); partitions, replicas and
topicConfiguration come from the binding. The node is info.x-eventbus, else info.title as a
node name. Check the wiring across documents with `contract-operator validate FILE...`.

exit status: 0 written, 1 a document could not be read as contracts, 2 usage errors.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "asyncapi",
        help="contracts to AsyncAPI 3.0 documents (export) and back (import)",
        description="Convert contracts to AsyncAPI documents and AsyncAPI documents to contracts.",
    )
    commands = parser.add_subparsers(dest="asyncapi_command", metavar="ACTION", required=True)
    export = commands.add_parser(
        "export",
        help="write AsyncAPI 3.0 documents for contracts",
        description="Write an AsyncAPI 3.0 document per contract, or one for the bus.",
        epilog=EXPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_options(export)
    export.add_argument(
        "--bundle", action="store_true", help="one document for every contract (the bus)"
    )
    export.add_argument("--title", help="info.title of a --bundle document (default: event bus)")
    export.add_argument("--format", choices=("yaml", "json"), default="yaml")
    add_output_options(export, "NAME.asyncapi.yaml")
    export.set_defaults(func=run_export)

    read = commands.add_parser(
        "import",
        help="write contracts for AsyncAPI 2.x / 3.0 documents",
        description="Read AsyncAPI documents and write the contracts they describe.",
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    read.add_argument("files", nargs="+", metavar="FILE", help="AsyncAPI documents (YAML, JSON)")
    add_contract_output_options(read, "NAME.yaml")
    read.set_defaults(func=run_import)


def _failed(problems: list[Problem], loaded: LoadResult) -> bool:
    """Print the errors as `validate` does; True when there are any."""
    errors = [p for p in problems if p.is_error]
    if errors:
        sys.stderr.write(render_text(errors, loaded))
    return bool(errors)


def run_export(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        loaded = load_contracts(args)
    except SourceError as exc:
        print(f"contract-operator asyncapi export: error: {exc}", file=sys.stderr)
        return 1
    result = LoadResult(loaded.contracts, loaded.problems)
    if _failed(loaded.problems, result):
        return 1
    if not loaded.contracts:
        raise UsageError("no contracts found: point at contract files or NodeContract manifests")
    if args.title and not args.bundle:
        raise UsageError("--title names a --bundle document (each contract's is its node)")
    ext = "json" if args.format == "json" else "yaml"
    if args.bundle:
        docs = [Document(f"bus.asyncapi.{ext}", to_asyncapi(loaded.contracts, args.title))]
    else:
        docs = [
            Document(f"{c.key.replace('/', '.')}.asyncapi.{ext}", to_asyncapi([c]))
            for c in loaded.contracts
        ]
    write_documents(docs, out, args.output_dir, args.format, force=args.force)
    return 0


def run_import(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    loaded = load_paths(args.files)
    if _failed(loaded.problems, loaded):
        return 1
    shape: Shape = "file" if args.format == "contract-yaml" else "manifest"
    docs = [
        Document(
            f"{c.name}.yaml",
            contract_document(c.spec, shape, c.name, args.namespace or c.namespace),
            (f"From {c.source} by `contract-operator asyncapi import`.",),
        )
        for c in loaded.contracts
    ]
    write_documents(docs, out, args.output_dir, force=args.force)
    print(
        f"{len(docs)} contract(s) from {len(loaded.files)} file(s); "
        "check the wiring with "
        "`contract-operator validate`",
        file=sys.stderr,
    )
    return 0
