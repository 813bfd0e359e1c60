"""The one shape every check reports in: what is wrong, where, and how to fix it.

It sits at the bottom layer because the parser reports unreadable input in it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"  # fails validation: the bus surface is wrong
    WARNING = "warning"  # suspicious, but the bus still works
    INFO = "info"  # worth knowing, nothing to fix

    @property
    def rank(self) -> int:
        """Sort key: errors first."""
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Problem:
    """One finding. `code` is a short kebab-case id (e.g. "broken-wire") that tools can match."""

    severity: Severity
    code: str
    message: str
    fix: str = ""
    source: str | None = None  # file path, or "namespace/name" for cluster objects
    contract: str | None = None  # Contract.key
    topic: str | None = None
    field: str | None = None  # e.g. spec.eventBus.publishTopics[2].partitions

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, str | None]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data
