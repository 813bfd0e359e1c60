"""Compare a declared topic with what the broker has, on normalized values, and tell which drift
loses data.

`normalize` is the one normalizer: drift and conflicts between two declarations both use it,
so `retention.ms: "604800000"` and `604800000` are the same value everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model.contract import PublishTopic
    from .snapshot import ObservedTopic

UNSET = "<unset>"
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
# Config keys whose value is a comma-separated set, where order carries no meaning.
_SET_VALUED = {"cleanup.policy"}
# Settings where a lower actual value keeps fewer copies or less data than declared.
_COPIES = {"replicationFactor", "min.insync.replicas"}
# Retention settings: a lower actual value deletes data sooner; -1 means unlimited.
_RETENTION = {"retention.ms", "retention.bytes"}


@dataclass(frozen=True)
class DriftField:
    """One declared setting that the broker has with another value.

    `unsafe` is set when the broker's value keeps fewer copies or less data than declared:
    the difference can lose data, not just change performance.
    """

    field: str
    declared: str
    actual: str
    unsafe: bool = False

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "field": self.field,
            "declared": self.declared,
            "actual": self.actual,
        }
        if self.unsafe:
            out["unsafe"] = True
        return out

    def __str__(self) -> str:
        text = f"{self.field} declared {self.declared}, actual {self.actual}"
        if not self.unsafe:
            return text
        return text + (
            " (unsafe: fewer copies)" if self.field in _COPIES else " (unsafe: less data)"
        )


def normalize(key: str, value: object) -> str:
    """A canonical text form so "604800000", 604800000 and "6.048e8" compare equal."""
    if value is None:
        return UNSET
    text = str(value).strip()
    if key in _SET_VALUED:
        return ",".join(sorted(p.strip().lower() for p in text.split(",") if p.strip()))
    if text.lower() in ("true", "false"):
        return text.lower()
    if _INT.match(text):
        return str(int(text))
    if _FLOAT.match(text):
        number = float(text)
        return str(int(number)) if number.is_integer() else repr(number)
    return text


def _number(text: str) -> float | None:
    try:
        return float(normalize("", text))
    except ValueError:
        return None


def is_unsafe(field: str, declared: str, actual: str) -> bool:
    """True when `actual` keeps fewer copies or less data than `declared`."""
    if field in _COPIES or field in _RETENTION:
        want, have = _number(declared), _number(actual)
        if want is None or have is None:
            return False
        if field in _RETENTION:
            if want < 0:  # unlimited declared: any limit loses data
                return have >= 0
            if have < 0:  # unlimited on the broker keeps more
                return False
        return have < want
    if field == "cleanup.policy":
        want_set = set(normalize(field, declared).split(","))
        have_set = set(normalize(field, actual).split(","))
        # Compaction keeps the last value of every key; deletion drops old segments entirely.
        return "compact" in want_set and (
            "compact" not in have_set or "delete" in have_set - want_set
        )
    return False


def _field(name: str, declared: str, actual: str) -> DriftField:
    return DriftField(name, declared, actual, is_unsafe(name, declared, actual))


def drift_of(declared: PublishTopic, observed: ObservedTopic) -> tuple[DriftField, ...]:
    """Every declared field whose normalized value differs on the broker.

    Only what the contract declares is compared: undeclared partitions or replication factor
    mean the cluster's default, and an undeclared key is the broker's business. A declared key
    the broker does not report cannot be compared (see unverifiable_keys), so it is not drift.
    """
    fields: list[DriftField] = []
    if declared.partitions is not None and declared.partitions != observed.partitions:
        fields.append(_field("partitions", str(declared.partitions), str(observed.partitions)))
    factor = declared.replication_factor
    if factor is not None and factor != observed.replication_factor:
        fields.append(_field("replicationFactor", str(factor), str(observed.replication_factor)))
    for key in sorted(declared.config):
        actual = observed.config.get(key)
        if actual is None:
            continue
        if normalize(key, declared.config[key]) != normalize(key, actual):
            fields.append(_field(key, declared.config[key], actual))
    return tuple(fields)


def unverifiable_keys(declared: PublishTopic, observed: ObservedTopic) -> tuple[str, ...]:
    """Declared config keys the broker does not report (or reports without a value): some
    brokers accept and ignore keys they do not know, so these can be neither confirmed nor
    called drift."""
    return tuple(k for k in sorted(declared.config) if observed.config.get(k) is None)
