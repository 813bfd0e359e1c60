"""Compare a declared topic with what the broker has, on normalized values."""

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


@dataclass(frozen=True)
class DriftField:
    """One declared setting that the broker has with another value."""

    field: str
    declared: str
    actual: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "declared": self.declared, "actual": self.actual}

    def __str__(self) -> str:
        return f"{self.field} declared {self.declared}, actual {self.actual}"


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


def drift_of(declared: PublishTopic, observed: ObservedTopic) -> tuple[DriftField, ...]:
    """Every declared field whose normalized value differs on the broker.

    Only keys the contract declares are compared: an undeclared key is the broker's business.
    """
    fields: list[DriftField] = []
    if declared.partitions != observed.partitions:
        fields.append(DriftField("partitions", str(declared.partitions), str(observed.partitions)))
    if declared.replication_factor != observed.replication_factor:
        fields.append(
            DriftField(
                "replicationFactor",
                str(declared.replication_factor),
                str(observed.replication_factor),
            )
        )
    for key in sorted(declared.config):
        want = normalize(key, declared.config[key])
        have = normalize(key, observed.config.get(key))
        if want != have:
            actual = observed.config.get(key)
            fields.append(
                DriftField(key, declared.config[key], UNSET if actual is None else actual)
            )
    return tuple(fields)
