"""A contract's desired `.status`, built from its plan: conditions by Kubernetes conventions.

Pure: the caller passes the previous status and the clock, so lastTransitionTime moves only
when a condition's status flips, and an unchanged status compares equal (no write needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..model.contract import PAUSED_ANNOTATION
from ..model.problems import Severity
from .planner import PUBLISH, SUBSCRIBE, ContractPlan, TopicState, TopicStatus

READY, PROVISIONED, DRIFTED, WIRED = "Ready", "Provisioned", "Drifted", "Wired"
CONDITION_TYPES = (READY, PROVISIONED, DRIFTED, WIRED)
TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"
# Drifted=True reasons: unsafe when a drifted field keeps fewer copies or less data than declared.
UNSAFE_DRIFT, TOPIC_DRIFT = "UnsafeDrift", "TopicDrift"
MAX_MESSAGE = 1024  # keeps status objects and `kubectl get -o wide` readable


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


def _names(items: Sequence[Any], limit: int = 3) -> str:
    names = [i.name for i in items]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _bad_config(cp: ContractPlan, invalid: Sequence[TopicStatus]) -> list[TopicStatus]:
    """The invalid topics whose fault is a config value (e.g. retention.ms: 7d), not the name."""
    bad = {p.topic for p in cp.problems if p.code == "config-not-numeric"}
    return [t for t in invalid if t.name in bad]


def conditions_for(cp: ContractPlan, broker_error: str | None = None) -> tuple[Condition, ...]:
    """The four conditions of one contract, each with a message that says what to do."""
    pubs = [t for t in cp.topics if t.role == PUBLISH]
    subs = [t for t in cp.topics if t.role == SUBSCRIBE]
    by_state = {s: [t for t in pubs if t.state is s] for s in TopicState}
    provisioned = _provisioned(cp, pubs, by_state, broker_error)
    drifted = _drifted(by_state[TopicState.DRIFTED], broker_error)
    wired = _wired(subs)
    ready = _ready(cp, (provisioned, drifted, wired))
    return tuple(
        Condition(c.type, c.status, c.reason, c.message[:MAX_MESSAGE])
        for c in (ready, provisioned, drifted, wired)
    )


def _provisioned(
    cp: ContractPlan,
    pubs: list[TopicStatus],
    by_state: dict[TopicState, list[TopicStatus]],
    broker_error: str | None,
) -> Condition:
    """Whether every published topic exists: the first reason it does not, worst first."""
    invalid, failed = by_state[TopicState.INVALID], by_state[TopicState.FAILED]
    conflict, missing = by_state[TopicState.CONFLICT], by_state[TopicState.MISSING]
    if broker_error:
        return Condition(
            PROVISIONED,
            UNKNOWN,
            "BrokerUnavailable",
            f"{broker_error}. Topics are created as soon as the broker answers.",
        )
    if invalid and (bad := _bad_config(cp, invalid)):
        return Condition(
            PROVISIONED,
            FALSE,
            "InvalidConfig",
            f"{_names(bad)} declare config values that can never apply and are not created: "
            f"{bad[0].message}",
        )
    if invalid:
        return Condition(
            PROVISIONED,
            FALSE,
            "InvalidTopicName",
            f"{_names(invalid)} break the naming rules and are not created: {invalid[0].message}",
        )
    if failed:
        return Condition(
            PROVISIONED, FALSE, "CreateFailed", f"{_names(failed)}: {failed[0].message}"
        )
    if conflict:
        return Condition(
            PROVISIONED, FALSE, "TopicConflict", f"{_names(conflict)}: {conflict[0].message}"
        )
    if cp.contract.paused:
        return Condition(
            PROVISIONED,
            FALSE if missing else TRUE,
            PROVISIONING_PAUSED,
            (f"{_names(missing)} would be created; " if missing else "nothing to create; ")
            + f'provisioning is paused by the annotation {PAUSED_ANNOTATION}: "true": remove '
            "it to resume (drift and wiring are still reported)",
        )
    if missing:
        return Condition(PROVISIONED, FALSE, "TopicsMissing", f"{_names(missing)} will be created")
    return Condition(
        PROVISIONED,
        TRUE,
        "TopicsPresent",
        f"all {len(pubs)} published topics exist" if pubs else "publishes no topics",
    )


def _drifted(topics: list[TopicStatus], broker_error: str | None) -> Condition:
    """Drift of existing topics; unsafe drift first: a topic that keeps less data than
    declared is the one to look at."""
    if broker_error:
        return Condition(DRIFTED, UNKNOWN, "BrokerUnavailable", "drift cannot be checked")
    if not topics:
        return Condition(DRIFTED, FALSE, "InSync", "existing topics match the contract")
    drifted_topics = sorted(topics, key=lambda t: not t.unsafe)
    first = drifted_topics[0]
    detail = "; ".join(str(d) for d in first.drift)
    others = len(drifted_topics) - 1
    more = f" (and {others} more drifted topics in status.topics)" if others else ""
    if first.unsafe:
        reason = UNSAFE_DRIFT
        advice = (
            "The broker keeps fewer copies or less data than declared and is never "
            "altered: restore the setting on the broker, or declare what it has."
        )
    else:
        reason = TOPIC_DRIFT
        advice = (
            "Existing topics are never altered: change the contract to match, or migrate the topic."
        )
    return Condition(DRIFTED, TRUE, reason, f"{first.name}: {detail}{more}. {advice}")


def _wired(subs: list[TopicStatus]) -> Condition:
    """Whether every subscription has a publisher: the first broken wire, else a bad name."""
    orphaned = [t for t in subs if t.state is TopicState.ORPHANED]
    bad_subs = [t for t in subs if t.state is TopicState.INVALID]
    if orphaned:
        count = len(orphaned) - 1
        more = f" ({count} more broken wires in status.topics)" if count else ""
        return Condition(
            WIRED,
            FALSE,
            "BrokenWire",
            f"subscribes to {orphaned[0].name}: {orphaned[0].message}{more}",
        )
    if bad_subs:
        return Condition(
            WIRED, FALSE, "InvalidTopicName", f"{bad_subs[0].name}: {bad_subs[0].message}"
        )
    return Condition(
        WIRED,
        TRUE,
        "AllPublished",
        f"all {len(subs)} subscriptions have a publisher" if subs else "subscribes to no topics",
    )


def _ready(cp: ContractPlan, parts: tuple[Condition, Condition, Condition]) -> Condition:
    """Ready: the first unhealthy part's reason, else a contract-level error, else Ready with
    the first warning (a warning never makes a contract un-Ready)."""
    for cond in parts:
        healthy = cond.status == (FALSE if cond.type == DRIFTED else TRUE)
        if not healthy:
            return Condition(
                READY, FALSE if cond.status != UNKNOWN else UNKNOWN, cond.reason, cond.message
            )
    errors = [p for p in cp.problems if p.severity == Severity.ERROR and not p.topic]
    if errors:
        return Condition(READY, FALSE, "InvalidContract", errors[0].message)
    message = "topics exist, match the contract, and are wired"
    if warnings := contract_warnings(cp):
        more = f" (and {len(warnings) - 1} more in status.warnings)" if warnings[1:] else ""
        message += f"; warning: {warnings[0]}{more}"
    return Condition(READY, TRUE, "Ready", message)


PROVISIONING_PAUSED = "ProvisioningPaused"


def contract_warnings(cp: ContractPlan) -> list[str]:
    """This contract's warnings (e.g. min.insync.replicas above its replication factor), each
    with its fix, the way `validate` prints them."""
    return [
        f"{p.message}. Fix: {p.fix}" if p.fix else p.message
        for p in cp.problems
        if p.severity == Severity.WARNING and p.contract == cp.contract.key
    ]


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
