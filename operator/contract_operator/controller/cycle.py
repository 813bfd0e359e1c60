"""What one reconcile cycle did: for logs, metrics, tests and the benchmark. Shared by the
modules that do the cycle's parts, each counting its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.planner import Plan


@dataclass
class CycleReport:
    contracts: int = 0
    created: frozenset[str] = frozenset()
    status_writes: int = 0
    write_errors: int = 0
    events: int = 0
    broker_error: str | None = None
    broker_grace: bool = False  # the broker is away, but not yet for long: statuses kept
    failed_contracts: int = 0  # planned alone and failed, or whose status could not be written
    apiserver_away: bool = False  # a request in this cycle met an apiserver outage
    seconds: float = 0.0
    plan: Plan | None = field(default=None, repr=False)
