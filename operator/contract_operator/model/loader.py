"""Read contracts from files, directories and cluster objects; bad input becomes Problems."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contract_operator.core.problems import Problem, Severity
from contract_operator.model.contract import KIND, Contract, ContractError, is_manifest

YAML_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 5 * 1024 * 1024
# Anchors are handy for shared config, but ten nested aliases of ten aliases each expand to
# billions of nodes: documents are measured as if expanded before anything walks them.
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True)
class LoadResult:
    """Every valid contract, and a Problem for everything that could not be read."""

    contracts: list[Contract] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files read, in order


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys: plain YAML keeps the last one silently,
    which hides a second `publish_topics:`."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` overrides on purpose
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:
                continue  # unhashable key: SafeLoader reports it itself
            if first != key_node.start_mark.line:
                raise _DuplicateKeyError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first on line {first + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def load_paths(paths: Iterable[str | Path]) -> LoadResult:
    """Read files and directories (recursively, *.yaml and *.yml, sorted)."""
    files, problems = _expand(paths)
    documents: list[tuple[Any, str]] = []
    for path in files:
        docs, file_problems = _read_documents(path)
        problems.extend(file_problems)
        for doc in docs:
            documents.extend(_contract_documents(doc, path, problems))
    contracts = _parse(documents, problems)
    return LoadResult(contracts=contracts, problems=problems, files=files)


def load_objects(objs: Iterable[tuple[Mapping[str, Any], str]]) -> LoadResult:
    """Read NodeContract objects from the cluster, each with its source ("namespace/name")."""
    problems: list[Problem] = []
    contracts = _parse(list(objs), problems)
    return LoadResult(contracts=contracts, problems=problems)


def _expand(paths: Iterable[str | Path]) -> tuple[list[str], list[Problem]]:
    files: list[str] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in YAML_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                problems.append(
                    Problem(
                        Severity.WARNING,
                        "no-yaml-files",
                        f"{path} holds no *.yaml or *.yml files",
                        "Point at the directory that holds the contracts.",
                        source=str(path),
                    )
                )
            files.extend(str(p) for p in found)
        elif path.exists():
            files.append(str(path))
        else:
            problems.append(
                Problem(
                    Severity.ERROR,
                    "path-not-found",
                    f"{path} does not exist",
                    "Check the path (it is resolved from the current directory).",
                    source=str(path),
                )
            )
    return list(dict.fromkeys(files)), problems


def _read_documents(path: str) -> tuple[list[Any], list[Problem]]:
    def problem(severity: Severity, code: str, message: str, fix: str = "") -> Problem:
        return Problem(severity, code, message, fix, source=path)

    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // (1024 * 1024)
            return [], [problem(Severity.ERROR, "file-too-large", f"larger than {limit} MiB")]
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [problem(Severity.ERROR, "unreadable", f"cannot read the file: {exc}")]
    try:
        docs = _load_all(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        if isinstance(exc, _DuplicateKeyError):
            return [], [
                problem(
                    Severity.ERROR,
                    "duplicate-key",
                    f"{where}{exc.problem}",
                    "Keep one of the two keys; YAML would silently drop the first.",
                )
            ]
        return [], [problem(Severity.ERROR, "yaml-syntax", f"{where}{exc.problem}")]
    except (yaml.YAMLError, RecursionError) as exc:
        return [], [problem(Severity.ERROR, "yaml-syntax", f"not valid YAML: {exc}")]
    docs = [doc for doc in docs if doc is not None]
    if not docs:
        return [], [problem(Severity.WARNING, "empty-file", "the file holds no YAML documents")]
    return docs, []


def _load_all(text: str) -> list[Any]:
    loader = _StrictLoader(text)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
                raise yaml.YAMLError(
                    f"the document expands to more than {MAX_EXPANDED_NODES} nodes "
                    "(aliases of aliases?)"
                )
            docs.append(loader.construct_document(node))
    finally:
        loader.dispose()
    return docs


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Node count with every alias expanded; a recursive alias counts as too large."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = MAX_EXPANDED_NODES + 1  # while in progress: a cycle is too large
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[id(node)] = size
    return size


def _contract_documents(
    doc: Any, source: str, problems: list[Problem]
) -> Iterator[tuple[Any, str]]:
    """The documents that claim to be contracts; other Kubernetes kinds are skipped with a note."""
    if not isinstance(doc, Mapping):
        yield doc, source  # the model names what is wrong with it
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            yield from _contract_documents(item, source, problems)
        return
    if kind is not None and kind != KIND:
        name = (
            doc.get("metadata", {}).get("name")
            if isinstance(doc.get("metadata"), Mapping)
            else None
        )
        problems.append(
            Problem(
                Severity.INFO,
                "skipped-kind",
                f"skipped {kind} {name or ''}".rstrip() + f": not a {KIND}",
                source=source,
            )
        )
        return
    if is_manifest(doc) or any(k in doc for k in ("node", "event_bus", "eventBus")):
        yield doc, source
        return
    problems.append(
        Problem(
            Severity.ERROR,
            "not-a-contract",
            "the document is neither a NodeContract manifest nor a contract "
            f"(top-level keys: {', '.join(map(str, list(doc)[:8])) or 'none'})",
            "A contract.yaml has `node:` and `event_bus:`; a manifest has "
            "`apiVersion: eventbus.dev/v1alpha1` and `kind: NodeContract`.",
            source=source,
        )
    )


def _key_hint(doc: Any) -> str | None:
    """Best-effort contract key for a document that failed to parse."""
    if not isinstance(doc, Mapping):
        return None
    meta = doc.get("metadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("name"), str):
        namespace = meta.get("namespace")
        return f"{namespace}/{meta['name']}" if isinstance(namespace, str) else meta["name"]
    node = doc.get("node")
    return node if isinstance(node, str) else None


def _parse(documents: list[tuple[Any, str]], problems: list[Problem]) -> list[Contract]:
    contracts: dict[str, Contract] = {}
    for doc, source in documents:
        try:
            contract = Contract.from_manifest(doc, source)
        except ContractError as exc:
            problems.extend(
                Problem(
                    Severity.ERROR,
                    error.code,
                    f"{error.field}: {error.message}" if error.field else error.message,
                    error.fix,
                    source=source,
                    contract=_key_hint(doc),
                    field=error.field or None,
                )
                for error in exc.errors
            )
            continue
        first = contracts.get(contract.key)
        if first is not None:
            problems.append(
                Problem(
                    Severity.ERROR,
                    "duplicate-contract",
                    f"{contract.key} is declared twice, in {first.source} and {contract.source}",
                    "Give each contract its own name (and namespace); only the first is used.",
                    source=contract.source,
                    contract=contract.key,
                )
            )
            continue
        contracts[contract.key] = contract
    return list(contracts.values())
