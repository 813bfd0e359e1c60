"""The naming rules' source, the same for every command (`validate`, `plan`, `report`, `graph`,
`policy-params` and `run`), so CI and the cluster cannot disagree: flags, then the environment
variables the Helm chart sets, then a rules file (the chart's ConfigMap), then the built-in
rules — the one precedence rule of cli/options.py.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from contract_operator.cli.errors import UsageError
from contract_operator.cli.options import Option, gather
from contract_operator.controller.settings import ENV_KINDS, ENV_PATTERN, ENV_RULES_FILE
from contract_operator.core.naming import DEFAULT_KINDS, DEFAULT_PATTERN, NamingRules
from contract_operator.model.loader import load_yaml

RULES_FILE_KEYS = ("pattern", "kinds", "enforceProducer")
MAX_RULES_FILE_BYTES = 64 * 1024
BUILT_IN = "built-in"

NAMING_OPTIONS = (
    Option("pattern", "--pattern", ENV_PATTERN, file_key="pattern", add_flag=False),
    Option("kinds", "--kinds", ENV_KINDS, file_key="kinds", add_flag=False),
    Option(
        "enforceProducer",
        "--no-producer-rule",
        file_key="enforceProducer",
        add_flag=False,
        dest="enforce_producer",
    ),
)
RULES_FILE_OPTION = Option("rules_file", "--rules", ENV_RULES_FILE, add_flag=False)


def add_naming_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "naming rules",
        f"Each falls back to {ENV_PATTERN} / {ENV_KINDS}, then to the rules file, then to the "
        "built-in rules.",
    )
    group.add_argument(
        "--pattern",
        default=None,
        metavar="REGEX",
        help="topic name pattern (a Python regex) with the named groups kind and producer; "
        "default: onex.<kind>.<producer>.<event>.v<N> in lowercase words joined by '-'",
    )
    group.add_argument(
        "--kinds",
        default=None,
        metavar="A,B,C",
        help="allowed values of the kind segment; empty to allow any "
        f"(default: {','.join(sorted(DEFAULT_KINDS))})",
    )
    group.add_argument(
        "--no-producer-rule",
        dest="enforce_producer",
        action="store_const",
        const=False,
        default=None,
        help="let a contract publish under another node's producer segment",
    )
    group.add_argument(
        "--rules",
        dest="rules_file",
        default=None,
        metavar="FILE",
        help="YAML file with pattern, kinds and enforceProducer (the chart mounts one from a "
        f"ConfigMap; env {ENV_RULES_FILE})",
    )


@dataclass(frozen=True)
class AppliedRules:
    """The naming rules a command applies, and where each setting came from."""

    rules: NamingRules
    origins: Mapping[str, str]  # pattern / kinds / enforceProducer -> flag, env, file or built-in

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.rules.pattern,
            "kinds": sorted(self.rules.kinds),
            "enforceProducer": self.rules.enforce_producer,
            "from": dict(self.origins),
        }

    def describe(self) -> str:
        kinds = ",".join(sorted(self.rules.kinds)) or "(any)"
        producer = "on" if self.rules.enforce_producer else "off"
        return (
            f"naming rules: pattern {self.rules.describe()} [{self.origins['pattern']}]; "
            f"kinds {kinds} [{self.origins['kinds']}]; "
            f"producer rule {producer} [{self.origins['enforceProducer']}]"
        )


def _kinds(value: object, where: str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(k.strip() for k in value.split(",") if k.strip())
    if isinstance(value, list) and all(isinstance(k, str) for k in value):
        return frozenset(k.strip() for k in value if k.strip())
    raise UsageError(f"{where}: kinds must be a list of strings (or A,B,C)")


def read_rules_file(path: str) -> dict[str, Any]:
    """The settings in a rules file, checked: a mapping of pattern, kinds and enforceProducer,
    read with the contracts' strict YAML loader (a key written twice is an error: with plain
    YAML a second `enforceProducer: false` would silently turn the producer rule off)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UsageError(f"rules file {path} is not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(MAX_RULES_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the rules file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_RULES_FILE_BYTES:
        raise UsageError(f"rules file {path} is larger than {MAX_RULES_FILE_BYTES // 1024} KiB")
    try:
        docs = load_yaml(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"rules file {path} is not valid YAML: {_yaml_problem(exc)}") from None
    if len(docs) > 1:
        raise UsageError(f"rules file {path} holds {len(docs)} YAML documents; use one")
    doc = docs[0] if docs else None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise UsageError(f"rules file {path} must be a mapping of {', '.join(RULES_FILE_KEYS)}")
    unknown = sorted(str(k) for k in doc if k not in RULES_FILE_KEYS)
    if unknown:
        raise UsageError(
            f"rules file {path}: unknown key {unknown[0]!r}; use {', '.join(RULES_FILE_KEYS)}"
        )
    out: dict[str, Any] = {}
    if doc.get("pattern") is not None:
        if not isinstance(doc["pattern"], str):
            raise UsageError(f"rules file {path}: pattern must be a string")
        out["pattern"] = doc["pattern"]
    if doc.get("kinds") is not None:
        out["kinds"] = _kinds(doc["kinds"], f"rules file {path}")
    if doc.get("enforceProducer") is not None:
        if not isinstance(doc["enforceProducer"], bool):
            raise UsageError(f"rules file {path}: enforceProducer must be true or false")
        out["enforceProducer"] = doc["enforceProducer"]
    return out


def _yaml_problem(exc: Exception) -> str:
    """ "line 2: found duplicate key 'enforceProducer' (first on line 1, column 1)", not the
    parser's three-line message about "<unicode string>"."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}: {problem}"
    return " ".join(str(exc).split())


def resolve_rules(args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> AppliedRules:
    """Flags, then environment variables, then the rules file, then the built-in rules."""
    rules_file = gather([RULES_FILE_OPTION], args, env).values.get("rules_file")
    from_file = read_rules_file(rules_file) if rules_file else {}
    found = gather(NAMING_OPTIONS, args, env, from_file, rules_file or "")
    origins = {
        key: _origin_label(next(o for o in NAMING_OPTIONS if o.field == key), found.origin(key))
        for key in RULES_FILE_KEYS
    }
    kinds = found.values.get("kinds", DEFAULT_KINDS)
    if not isinstance(kinds, frozenset):
        kinds = _kinds(kinds, origins["kinds"])
    try:
        rules = NamingRules(
            pattern=found.values.get("pattern", DEFAULT_PATTERN),
            kinds=kinds,
            enforce_producer=found.values.get("enforceProducer", True),
        )
    except ValueError as exc:
        raise UsageError(f"{exc} (pattern from {origins['pattern']})") from None
    return AppliedRules(rules, origins)


def _origin_label(option: Option, origin: str) -> str:
    """ "flag --pattern", "env CONTRACT_OPERATOR_TOPIC_PATTERN", "file PATH" or "built-in"."""
    if origin == "flag":
        return f"flag {option.flag}"
    if origin == "env":
        return f"env {option.env}"
    return BUILT_IN if origin == "default" else origin


def naming_rules(args: argparse.Namespace) -> NamingRules:
    return resolve_rules(args).rules


def add_known_topics_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--known-topics",
        default="",
        metavar="A,B",
        help="topics that exist on the broker; a subscription to one that no contract "
        "publishes is reported as left behind",
    )


def known_topics(args: argparse.Namespace) -> frozenset[str]:
    return frozenset(t.strip() for t in args.known_topics.split(",") if t.strip())
