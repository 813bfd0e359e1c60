"""A contract's desired `.status`, built from its plan: conditions by Kubernetes conventions.

Pure: the caller passes the previous status and the clock, so lastTransitionTime moves only
when a condition's status flips, and an unchanged status compares equal (no write needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

# The conditions themselves live in conditions.py; these names are the status's vocabulary.
from .conditions import (
    CONDITION_TYPES,
    DRIFTED,
    FALSE,
    MAX_MESSAGE,
    PROVISIONED,
    PROVISIONING_PAUSED,
    READY,
    TRUE,
    UNKNOWN,
    UNSAFE_DRIFT,
    WIRED,
    Condition,
    conditions_for,
    contract_warnings,
)
from .planner import PUBLISH, ContractPlan, TopicState, TopicStatus


def _with_history(
    conditions: Sequence[Condition],
    previous: Mapping[str, Any] | None,
    generation: int | None,
    now: str,
) -> list[dict[str, Any]]:
    """Conditions as stored; lastTransitionTime is kept from `previous` unless status flipped."""
    before = {c.get("type"): c for c in (previous or {}).get("conditions") or []}
    out = []
    for cond in conditions:
        old = before.get(cond.type)
        flipped = old is None or old.get("status") != cond.status
        entry: dict[str, Any] = {
            "type": cond.type,
            "status": cond.status,
            "reason": cond.reason,
            "message": cond.message,
            "lastTransitionTime": now
            if flipped or old is None
            else old.get("lastTransitionTime", now),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        out.append(entry)
    return out


def _status(
    conditions: list[dict[str, Any]],
    topics: Sequence[TopicStatus],
    generation: int | None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    pubs = [t for t in topics if t.role == PUBLISH]
    status: dict[str, Any] = {
        "conditions": conditions,
        # "Created" is news for an Event, not a lasting state: stored as Present, so the next
        # cycle finds nothing to rewrite.
        "topics": [
            (replace(t, state=TopicState.PRESENT) if t.state is TopicState.CREATED else t).to_dict()
            for t in topics
        ],
        "topicCount": len(topics),
        "publishCount": len(pubs),
        "subscribeCount": len(topics) - len(pubs),
        "driftedCount": sum(t.state is TopicState.DRIFTED for t in pubs),
        "unsafeDriftCount": sum(t.state is TopicState.DRIFTED and t.unsafe for t in pubs),
        "brokenWires": sum(t.state is TopicState.ORPHANED for t in topics),
    }
    if warnings:
        status["warnings"] = list(warnings)
    if generation is not None:
        status["observedGeneration"] = generation
    return status


def desired_status(
    cp: ContractPlan,
    previous: Mapping[str, Any] | None,
    *,
    generation: int | None,
    now: str,
    broker_error: str | None = None,
) -> dict[str, Any]:
    """The full `.status` to hold for a contract the planner has planned."""
    conditions = _with_history(conditions_for(cp, broker_error), previous, generation, now)
    return _status(conditions, cp.topics, generation, contract_warnings(cp))


def invalid_spec_status(
    error: str,
    previous: Mapping[str, Any] | None,
    *,
    generation: int | None,
    now: str,
    reason: str = "InvalidSpec",
    fix: str = "Fix the spec and re-apply.",
) -> dict[str, Any]:
    """Status of a NodeContract that cannot be planned: the parser rejects it (something the
    CRD schema cannot express), or, with another `reason`, the operator failed on it alone."""
    if reason == "InvalidSpec":
        error = f"the spec is not a valid contract: {error}"
    message = f"{error}. {fix}"[:MAX_MESSAGE]
    conditions = [
        Condition(kind, FALSE if kind == READY else UNKNOWN, reason, message)
        for kind in CONDITION_TYPES
    ]
    return _status(_with_history(conditions, previous, generation, now), (), generation)


def needs_write(previous: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """True when the stored status differs from `desired` in anything but timestamps."""
    if not previous:
        return True
    return _comparable(previous) != _comparable(desired)


def _comparable(status: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "conditions",
        "topicCount",
        "topics",
        "publishCount",
        "subscribeCount",
        "driftedCount",
        "unsafeDriftCount",
        "brokenWires",
        "observedGeneration",
        # A warning can appear with no condition changing (e.g. the cluster's default
        # replication factor drops below a declared min.insync.replicas): it is news too.
        "warnings",
    )
    out = {k: status.get(k) for k in keys}
    out["conditions"] = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"}
        for c in status.get("conditions") or []
    ]
    return out


@dataclass(frozen=True)
class Transition:
    """A change worth a Kubernetes Event."""

    type: str  # "Normal" | "Warning"
    reason: str
    message: str


def transitions(
    previous: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    created: Sequence[str] = (),
) -> list[Transition]:
    """Events for what changed between two statuses, and one for the topics just `created`.

    A first status (no previous) reports only what is wrong, not "fixed" or "resolved".
    """
    before = {c["type"]: c for c in (previous or {}).get("conditions") or []}
    after = {c["type"]: c for c in desired.get("conditions") or []}
    out: list[Transition] = []

    def flipped(kind: str) -> tuple[str | None, str]:
        old = before.get(kind, {}).get("status")
        new = after[kind]["status"]
        return (old, new) if old != new else (new, new)

    old, new = flipped(PROVISIONED)
    if old != new:
        cond = after[PROVISIONED]
        if cond["reason"] == PROVISIONING_PAUSED:  # asked for: news, not an alarm
            out.append(Transition("Normal", PROVISIONING_PAUSED, cond["message"]))
        elif new == UNKNOWN or (new == FALSE and cond["reason"] != "TopicsMissing"):
            out.append(Transition("Warning", cond["reason"], cond["message"]))
        elif old == UNKNOWN and new == TRUE:
            out.append(Transition("Normal", "BrokerAvailable", "the broker answers again"))

    old, new = flipped(DRIFTED)
    reason = after[DRIFTED].get("reason")
    became_unsafe = reason == UNSAFE_DRIFT and before.get(DRIFTED, {}).get("reason") != reason
    if new == TRUE and (old != new or became_unsafe):
        # Data loss is a Warning; a partition count that differs is news, not an alarm.
        if reason == UNSAFE_DRIFT:
            out.append(Transition("Warning", UNSAFE_DRIFT, after[DRIFTED]["message"]))
        else:
            out.append(Transition("Normal", "DriftDetected", after[DRIFTED]["message"]))
    elif old == TRUE and new == FALSE:
        out.append(
            Transition("Normal", "DriftResolved", "existing topics match the contract again")
        )

    old, new = flipped(WIRED)
    if old != new and new == FALSE:
        out.append(Transition("Warning", after[WIRED]["reason"], after[WIRED]["message"]))
    elif old == FALSE and new == TRUE:
        out.append(Transition("Normal", "WireFixed", after[WIRED]["message"]))

    before_warnings = (previous or {}).get("warnings")
    known = (
        {w for w in before_warnings if isinstance(w, str)}
        if isinstance(before_warnings, list)
        else set()
    )
    for warning in desired.get("warnings") or ():
        if warning not in known:
            out.append(Transition("Warning", "ContractWarning", warning))

    if created:
        names = ", ".join(created[:5]) + (
            f" and {len(created) - 5} more" if len(created) > 5 else ""
        )
        count = f"{len(created)} topics" if len(created) > 1 else "topic"
        out.append(Transition("Normal", "TopicCreated", f"created {count} {names}"))
    return out
