"""A contract's four conditions (Ready, Provisioned, Drifted, Wired), each with a reason by
Kubernetes conventions and a message that says what to do. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
