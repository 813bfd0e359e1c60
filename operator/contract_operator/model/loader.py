"""Read contracts from files, directories and cluster objects; bad input becomes Problems."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contract_operator.model.asyncapi import AsyncAPIError, contract_documents, is_asyncapi
from contract_operator.model.contract import KIND, Contract, ContractError, is_manifest
from contract_operator.model.limits import MAX_ALIAS_EXPANSION, MAX_FILE_BYTES
from contract_operator.model.problems import Problem, Severity

YAML_SUFFIXES = (".yaml", ".yml")

# libyaml's C parser (CSafeLoader) reads a large file several times faster than the pure-Python
# one and reports the same line/column marks; the pure-Python loader is the fallback when PyYAML
# was built without libyaml. ruamel.yaml would add a second YAML library for marks this loader
# already has (every syntax and duplicate-key error names its line and column, and the model
# names fields by path), so PyYAML stays.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class LoadResult:
    """Every valid contract, and a Problem for everything that could not be read."""

    contracts: list[Contract] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files read, in order


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    pass


class _StrictLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that rejects duplicate mapping keys: plain YAML keeps the last one silently,
    which hides a second `publish_topics:` (or `{node: router, node: evil}` on one line)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # The keys written in each mapping, before `<<: *defaults` merges add keys to it: a
        # merged key may be overridden on purpose, a key written twice may not.
        self._written: dict[int, list[yaml.Node]] = {}

    def _remember_written(self, node: yaml.MappingNode) -> list[yaml.Node]:
        return self._written.setdefault(
            id(node), [key for key, _ in node.value if key.tag != _MERGE]
        )

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        self._remember_written(node)
        for key, value in node.value:
            if key.tag == _MERGE and isinstance(value, yaml.MappingNode):
                self._remember_written(value)
        super().flatten_mapping(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node in self._remember_written(node):
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # unhashable key: SafeLoader reports it itself
            if first is not key_node:
                where = first.start_mark
                raise _DuplicateKeyError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first on line {where.line + 1}, "
                    f"column {where.column + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


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


def _is_asyncapi_json(name: str) -> bool:
    """AsyncAPI's own file names in JSON (asyncapi.json, orders.asyncapi.json): picked up in a
    directory like the YAML files; any other JSON file is read only when named."""
    return name == "asyncapi.json" or name.endswith(".asyncapi.json")


def _expand(paths: Iterable[str | Path]) -> tuple[list[str], list[Problem]]:
    files: list[str] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                # Not only regular files: a FIFO named *.yaml is refused with a message when
                # read, instead of being skipped without a word.
                if (p.suffix in YAML_SUFFIXES or _is_asyncapi_json(p.name))
                and not p.is_dir()
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
            files.append(str(path))  # a FIFO or device is refused when read, with a message
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
        text = _read_text(path)
    except _Refused as exc:
        return [], [problem(Severity.ERROR, exc.code, str(exc), exc.fix)]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [problem(Severity.ERROR, "unreadable", f"cannot read the file: {exc}")]
    if path.endswith(".json"):  # AsyncAPI documents are often JSON; YAML 1.1 misreads some
        try:
            return [json.loads(text, object_pairs_hook=_unique_keys)], []
        except ValueError as exc:
            return [], [problem(Severity.ERROR, "json-syntax", f"not valid JSON: {exc}")]
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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of two equal keys silently, as YAML does: refuse it."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


class _Refused(Exception):
    def __init__(self, code: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.code, self.fix = code, fix


def _read_text(path: str) -> str:
    """The file's text, refusing anything but a regular file of at most MAX_FILE_BYTES.

    A FIFO would block the reader forever and /dev/zero never ends, so the type is checked
    before opening (O_NONBLOCK covers a file swapped for a FIFO in between), and at most one
    byte more than the limit is ever read.
    """
    mib = MAX_FILE_BYTES / (1024 * 1024)
    kind = stat.S_IFMT(os.stat(path).st_mode)
    if kind != stat.S_IFREG:
        raise _Refused(
            "not-a-file",
            f"not a regular file ({_KIND_NAMES.get(kind, 'special file')}): contracts are read "
            "only from regular files",
            "Point at the contract files themselves (or at a directory that holds them).",
        )
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _Refused("not-a-file", "not a regular file", "Point at a contract file.")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        size = os.stat(path).st_size / (1024 * 1024)
        raise _Refused(
            "file-too-large",
            f"the file is {size:.1f} MiB; one contract file may be at most {mib:g} MiB",
            "Split it into several files (one contract per file is the usual layout).",
        )
    return data.decode("utf-8")


_KIND_NAMES = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def _load_all(text: str) -> list[Any]:
    loader = _StrictLoader(text)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            written = _written_size(node, set())
            added = _expanded_size(node, {}) - written
            if added > MAX_ALIAS_EXPANSION:
                raise yaml.YAMLError(
                    f"its aliases expand the document by more than {MAX_ALIAS_EXPANSION} "
                    f"nodes beyond the {written} written in it (aliases of aliases?)"
                )
            docs.append(loader.construct_document(node))
    finally:
        loader.dispose()
    return docs


def _written_size(node: yaml.Node, seen: set[int]) -> int:
    """Node count with every alias counted once: what the author wrote."""
    if id(node) in seen:
        return 0
    seen.add(id(node))
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_written_size(child, seen) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_written_size(k, seen) + _written_size(v, seen) for k, v in node.value)
    return size


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Node count with every alias expanded; a recursive alias counts as too large."""
    if id(node) in memo:
        return memo[id(node)]
    # While in progress: a cycle counts as too large (beyond any document's written size).
    memo[id(node)] = 10 * MAX_FILE_BYTES + MAX_ALIAS_EXPANSION
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
    if is_asyncapi(doc):  # an AsyncAPI document: the contracts it describes
        try:
            for contract in contract_documents(doc):
                yield contract, source
        except AsyncAPIError as exc:
            problems.append(
                Problem(
                    Severity.ERROR,
                    "asyncapi",
                    f"not read as contracts: {exc}",
                    "Fix the AsyncAPI document (contract-operator asyncapi export writes one).",
                    source=source,
                )
            )
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


def load_yaml(text: str) -> list[Any]:
    """Every document in `text`, read as contracts are: a key written twice in one mapping and
    aliases that expand without bound are errors (yaml.YAMLError), not silently accepted."""
    return _load_all(text)
