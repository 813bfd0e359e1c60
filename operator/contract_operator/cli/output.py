"""Write generated documents (contracts, AsyncAPI) to stdout or one file each in a directory."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

from contract_operator.cli.errors import UsageError


def add_output_options(parser: argparse.ArgumentParser, filename: str) -> None:
    """-o DIR and --force, for every command that writes documents."""
    parser.add_argument(
        "-o", "--output-dir", metavar="DIR", help=f"write one file per document ({filename})"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files in --output-dir")


def add_contract_output_options(parser: argparse.ArgumentParser, filename: str) -> None:
    """How generated contracts are written: manifests or contract.yaml, namespace, where."""
    parser.add_argument(
        "--format",
        choices=("nodecontract", "contract-yaml"),
        default="nodecontract",
        help="NodeContract manifests (default) or contract.yaml files",
    )
    parser.add_argument(
        "-n", "--namespace", metavar="NS", help="metadata.namespace of the manifests written"
    )
    add_output_options(parser, filename)


_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Document:
    filename: str  # used with --output-dir
    body: dict[str, Any]
    comment: tuple[str, ...] = ()  # lines written above the document (YAML only)


def dump(doc: Document, fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(doc.body, indent=2) + "\n"
    head = "".join(f"# {line}\n".replace("# \n", "#\n") for line in doc.comment)
    # Keys in the order written (apiVersion, kind, metadata, spec), as people write manifests;
    # libyaml's emitter when PyYAML has it (adopt writes 10,000 topics in one go).
    text = yaml.dump(doc.body, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    return head + text


def check_output_dir(output_dir: str | None) -> None:
    """Refuse an output directory that cannot be one before any work is done."""
    if output_dir is not None and os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise UsageError(f"{output_dir} exists and is not a directory")


def write_documents(
    docs: Sequence[Document],
    out: TextIO,
    output_dir: str | None,
    fmt: str = "yaml",
    force: bool = False,
) -> list[str]:
    """Documents to `out` (YAML separated by ---; JSON one per line-block), or each to its own
    file in `output_dir` (created if needed; an existing file is kept unless `force`). Returns
    the paths written."""
    if output_dir is None:
        if fmt == "json" and len(docs) != 1:
            raise UsageError("JSON output holds one document: use --output-dir or --bundle")
        out.write("---\n".join(dump(d, fmt) for d in docs))
        return []
    check_output_dir(output_dir)
    paths = [os.path.join(output_dir, d.filename) for d in docs]
    clashes = [p for p in paths if os.path.exists(p)]
    if clashes and not force:
        raise UsageError(f"{clashes[0]} already exists; pass --force to overwrite")
    try:
        os.makedirs(output_dir, exist_ok=True)
        for path, doc in zip(paths, docs, strict=True):
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(dump(doc, fmt))
    except OSError as exc:
        raise UsageError(f"cannot write to {output_dir}: {exc.strerror or exc}") from None
    return paths
