"""Consumer groups in tests and benchmarks: committing offsets on a cluster still settling."""

from __future__ import annotations

# What a commit answers while a fresh cluster elects the coordinators of __consumer_offsets.
_SETTLING = ("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS")


def settling(exc: Exception) -> bool:
    """Whether a failed commit is the cluster still settling (retry), not a real refusal."""
    error = exc.args[0] if exc.args else None
    return (
        bool(getattr(error, "retriable", lambda: False)())
        or getattr(error, "name", lambda: "")() in _SETTLING
    )
