"""The decision, with no I/O: contracts + broker snapshot -> topics to create + per-contract status.

The CLI (`plan`, `provision`) and the operator's reconcile loop call the same `plan()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from ..model.problems import Problem, Severity
from .checks import disqualified, merge_problems, per_contract
from .collisions import check_collisions
from .drift import DriftField, drift_of, unverifiable_keys
from .naming import NamingRules
from .snapshot import BrokerSnapshot, CreateResult, TopicRequest
from .wiring import BrokenWire, WiringReport, check_wiring

if TYPE_CHECKING:
    from ..model.contract import Contract, PublishTopic


class TopicState(StrEnum):
    MISSING = "Missing"  # declared, absent on the broker: will be created
    CREATED = "Created"  # created by this reconcile
    PRESENT = "Present"  # exists and matches the declaration
    DRIFTED = "Drifted"  # exists with other settings: reported, never altered
    PENDING = "Pending"  # subscribed; its publisher's topic is not on the broker yet
    # subscribed; no valid contract publishes it (a broken wire): nobody does, or its only
    # publishers break the naming rules and so may never create it
    ORPHANED = "Orphaned"
    CONFLICT = "Conflict"  # published by an older contract with other settings
    INVALID = "Invalid"  # the name breaks the naming rules: never created
    FAILED = "Failed"  # the broker refused to create it
    UNKNOWN = "Unknown"  # the broker could not be asked

    def __str__(self) -> str:
        return self.value


PUBLISH, SUBSCRIBE = "publish", "subscribe"


@dataclass(frozen=True)
class TopicStatus:
    name: str
    role: str
    state: TopicState
    message: str = ""
    drift: tuple[DriftField, ...] = ()
    # What the broker has, whether declared or not (None when the topic is not on the broker).
    partitions: int | None = None
    replication_factor: int | None = None
    # Declared config keys the broker does not report: neither confirmed nor drift.
    unverifiable: tuple[str, ...] = ()
    # Kafka's topic id: a new one means the topic was deleted and re-created.
    topic_id: str | None = None
    # The id before the operator saw this topic deleted and re-created (set by the operator).
    previous_topic_id: str | None = None

    @property
    def unsafe(self) -> bool:
        """Some drifted field keeps fewer copies or less data than declared."""
        return any(d.unsafe for d in self.drift)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "role": self.role, "state": self.state.value}
        if self.message:
            out["message"] = self.message
        if self.topic_id is not None:
            out["topicId"] = self.topic_id
        if self.previous_topic_id is not None:
            out["previousTopicId"] = self.previous_topic_id
        if self.partitions is not None:
            out["partitions"] = self.partitions
        if self.replication_factor is not None:
            out["replicationFactor"] = self.replication_factor
        if self.drift:
            out["drift"] = [d.to_dict() for d in self.drift]
        if self.unverifiable:
            out["unverifiable"] = list(self.unverifiable)
        return out


@dataclass(frozen=True)
class ContractPlan:
    """Everything the status of one contract is made from."""

    contract: Contract
    topics: tuple[TopicStatus, ...]
    problems: tuple[Problem, ...]

    def with_state(self, *states: TopicState) -> tuple[TopicStatus, ...]:
        return tuple(t for t in self.topics if t.state in states)

    @property
    def created(self) -> tuple[str, ...]:
        """Topics this contract publishes that this reconcile created."""
        return tuple(t.name for t in self.with_state(TopicState.CREATED) if t.role == PUBLISH)

    @property
    def unsafe_drift(self) -> tuple[TopicStatus, ...]:
        """Drifted topics whose drift keeps fewer copies or less data than declared."""
        return tuple(t for t in self.with_state(TopicState.DRIFTED) if t.unsafe)


@dataclass(frozen=True)
class Plan:
    to_create: tuple[TopicRequest, ...]
    contracts: tuple[ContractPlan, ...]
    problems: tuple[Problem, ...]
    broker_error: str | None = None
    # Every subscription no valid contract publishes, with its ranked suggestions: `report`
    # and `graph` show these, never a second search of their own.
    broken_wires: tuple[BrokenWire, ...] = ()

    def for_contract(self, key: str) -> ContractPlan | None:
        return next((c for c in self.contracts if c.contract.key == key), None)

    @property
    def drifted(self) -> tuple[tuple[Contract, TopicStatus], ...]:
        return tuple(
            (c.contract, t) for c in self.contracts for t in c.with_state(TopicState.DRIFTED)
        )

    @property
    def unsafe_drift(self) -> tuple[tuple[Contract, TopicStatus], ...]:
        """The drifted topics that keep fewer copies or less data than declared."""
        return tuple((c, t) for c, t in self.drifted if t.unsafe)


@dataclass(frozen=True)
class PlanOptions:
    rules: NamingRules = field(default_factory=NamingRules)
    # Creating a topic that only subscribers name would hide the broken wire, so it is opt-in.
    create_subscribed: bool = False
    # None asks the broker for its own default (the cluster's settings apply).
    default_partitions: int | None = None
    default_replication_factor: int | None = None


def plan(
    contracts: Sequence[Contract],
    snapshot: BrokerSnapshot | None,
    options: PlanOptions | None = None,
    *,
    outcome: CreateResult | None = None,
    broker_error: str | None = None,
    owners: Mapping[str, str] | None = None,
) -> Plan:
    """Decide what to create and what each contract's topics look like.

    `snapshot` is None when the broker could not be read (`broker_error` says why): topics
    are then Unknown and nothing is created. `outcome` is the result of creating the previous
    plan's `to_create`, so the caller can re-plan after provisioning without re-reading.
    """
    options = options or PlanOptions()
    found = _findings(contracts, snapshot, options, owners)
    observe = _Observer(outcome or CreateResult(), snapshot, broker_error)
    to_create: dict[str, TopicRequest] = {}
    results = []
    for contract in contracts:
        key = contract.key
        topics: list[TopicStatus] = [
            _publish_status(
                key, pub, found.invalid, found.losers, snapshot, observe, to_create, contract.paused
            )
            for pub in contract.spec.event_bus.publish_topics
        ]
        topics += [
            _subscribe_status(contract, sub, found, snapshot, observe, to_create, options)
            for sub in contract.spec.event_bus.subscribe_topics
        ]
        results.append(ContractPlan(contract, tuple(topics), tuple(found.problems_of.get(key, ()))))
    return Plan(
        tuple(to_create.values()),
        tuple(results),
        found.problems,
        broker_error,
        tuple(found.wiring.broken_wires),
    )


@dataclass(frozen=True)
class _Findings:
    """What the rules say about the contracts, before any topic's state is decided."""

    invalid: dict[tuple[str, str], Problem]  # (contract key, topic) -> its error
    losers: dict[tuple[str, str], str]  # (contract key, topic) -> the winning contract
    broken: dict[tuple[str, str], BrokenWire]  # (contract key, subscription) -> the wire
    problems: tuple[Problem, ...]
    problems_of: dict[str | None, list[Problem]]  # by contract key
    publishers: dict[str, str]  # topic -> the contract whose declaration counts
    wiring: WiringReport


def _findings(
    contracts: Sequence[Contract],
    snapshot: BrokerSnapshot | None,
    options: PlanOptions,
    owners: Mapping[str, str] | None,
) -> _Findings:
    cluster = snapshot.cluster if snapshot else None
    default_rf = cluster.default_replication_factor if cluster else None
    collide = check_collisions(contracts, snapshot.all_names if snapshot else ())
    naming = {
        c.key: (*per_contract(c, options.rules, default_rf), *collide.get(c.key, ()))
        for c in contracts
    }
    invalid = {
        (key, p.topic): p
        for key, problems in naming.items()
        for p in problems
        if p.severity == Severity.ERROR and p.topic
    }
    published = {t.name for c in contracts for t in c.spec.event_bus.publish_topics}
    wiring = check_wiring(
        contracts,
        known_topics=(snapshot.all_names - published) if snapshot else (),
        disqualified=disqualified(contracts, (p for ps in naming.values() for p in ps)),
        owners=owners,
        auto_create=bool(cluster and cluster.auto_create_topics),
    )
    losers = {(k, c.topic): c.winner for c in wiring.conflicts for k in c.losers}
    problems = tuple(merge_problems([p for ps in naming.values() for p in ps], wiring))
    if cluster and cluster.auto_create_topics:
        problems += (AUTO_CREATE_WARNING,)
    problems_of: dict[str | None, list[Problem]] = {}
    for problem in problems:
        problems_of.setdefault(problem.contract, []).append(problem)
    return _Findings(
        invalid,
        losers,
        {(w.contract, w.topic): w for w in wiring.broken_wires},
        problems,
        problems_of,
        _publishers(contracts, invalid, losers),
        wiring,
    )


class _Observer:
    """State of a topic that should exist, for anyone who names it."""

    def __init__(
        self, outcome: CreateResult, snapshot: BrokerSnapshot | None, broker_error: str | None
    ) -> None:
        self.outcome, self.snapshot, self.broker_error = outcome, snapshot, broker_error

    def __call__(self, name: str) -> tuple[TopicState, str]:
        if name in self.outcome.failed:
            return (
                TopicState.FAILED,
                f"the broker refused to create it: {self.outcome.failed[name]}",
            )
        if name in self.outcome.created:
            return TopicState.CREATED, ""
        if self.snapshot is None:
            return TopicState.UNKNOWN, self.broker_error or "the broker could not be read"
        return (TopicState.PRESENT, "") if self.snapshot.get(name) else (TopicState.MISSING, "")


def _subscribe_status(
    contract: Contract,
    sub: str,
    found: _Findings,
    snapshot: BrokerSnapshot | None,
    observe: _Observer,
    to_create: dict[str, TopicRequest],
    options: PlanOptions,
) -> TopicStatus:
    key = contract.key
    # A broken wire outranks a bad name: its "did you mean" is the fix the user needs.
    if (key, sub) in found.invalid and (key, sub) not in found.broken:
        return TopicStatus(sub, SUBSCRIBE, TopicState.INVALID, with_fix(found.invalid[key, sub]))
    if (key, sub) in found.broken:
        wire = found.broken[key, sub]
        state, message = TopicState.ORPHANED, wire.reason
        # With invalid publishers the reason already says the topic is never created.
        if (
            not wire.invalid_publishers
            and options.create_subscribed
            and not contract.paused
            and (snapshot is None or not snapshot.get(sub))
        ):
            state, _ = observe(sub)
            if state is TopicState.MISSING:
                to_create.setdefault(
                    sub,
                    TopicRequest(
                        sub, options.default_partitions, options.default_replication_factor
                    ),
                )
            message = f"{message} (created on request: no contract publishes it)"
        return _with_actual(TopicStatus(sub, SUBSCRIBE, state, message), snapshot)
    state, message = observe(sub)
    if state is TopicState.MISSING:
        owner = found.publishers.get(sub, "its publisher")
        state, message = TopicState.PENDING, f"waiting for {owner} to create it"
    return _with_actual(TopicStatus(sub, SUBSCRIBE, state, message), snapshot)


AUTO_CREATE_WARNING = Problem(
    Severity.WARNING,
    "broker-auto-creates-topics",
    "the broker has auto.create.topics.enable=true: a consumer subscribed to a name nobody "
    "publishes creates that topic itself, so a broken wire looks healthy on the broker (the "
    "operator itself never auto-creates)",
    "Set auto.create.topics.enable=false on the brokers, and let contracts create topics.",
)


def with_fix(problem: Problem) -> str:
    """The problem's message with the fix `validate` gives for it: a status, an Event and
    `kubectl get nc -o wide` say what to do, not only what is wrong."""
    return f"{problem.message}. Fix: {problem.fix}" if problem.fix else problem.message


def _with_actual(status: TopicStatus, snapshot: BrokerSnapshot | None) -> TopicStatus:
    """The status with the broker's partitions and replication factor, when it has the topic."""
    observed = snapshot.get(status.name) if snapshot else None
    if observed is None:
        return status
    return replace(
        status,
        partitions=observed.partitions,
        replication_factor=observed.replication_factor,
        topic_id=observed.topic_id,
    )


def _publishers(
    contracts: Sequence[Contract],
    invalid: Mapping[tuple[str, str], Problem],
    losers: Mapping[tuple[str, str], str],
) -> dict[str, str]:
    """Topic name -> key of the contract whose declaration counts."""
    owners: dict[str, str] = {}
    for c in contracts:
        for t in c.spec.event_bus.publish_topics:
            if (c.key, t.name) not in invalid and (c.key, t.name) not in losers:
                owners.setdefault(t.name, c.key)
    return owners


def _publish_status(
    key: str,
    pub: PublishTopic,
    invalid: Mapping[tuple[str, str], Problem],
    losers: Mapping[tuple[str, str], str],
    snapshot: BrokerSnapshot | None,
    observe: Callable[[str], tuple[TopicState, str]],
    to_create: dict[str, TopicRequest],
    paused: bool = False,
) -> TopicStatus:
    name = pub.name
    if (key, name) in invalid:
        return TopicStatus(name, PUBLISH, TopicState.INVALID, with_fix(invalid[key, name]))
    if (key, name) in losers:
        return TopicStatus(
            name,
            PUBLISH,
            TopicState.CONFLICT,
            f"{losers[key, name]} declared this topic first with other settings; "
            "this declaration is ignored until it matches or the topic is renamed",
        )
    state, message = observe(name)
    if state is TopicState.MISSING:
        if paused:  # reported as it would be created; nothing is sent while paused
            return TopicStatus(name, PUBLISH, state, "would be created (provisioning is paused)")
        to_create.setdefault(
            name, TopicRequest(name, pub.partitions, pub.replication_factor, dict(pub.config))
        )
        return TopicStatus(name, PUBLISH, state, "will be created")
    if state is TopicState.CREATED:
        # The broker's actual values (described right after the create), so a topic that
        # leaves partitions or replication factor to the cluster gets them in its first status
        # and the next cycle has nothing new to write; the declared ones if that describe
        # found nothing (they are what the broker was asked for).
        made = snapshot.get(name) if snapshot else None
        return TopicStatus(
            name,
            PUBLISH,
            state,
            message,
            partitions=made.partitions if made else pub.partitions,
            replication_factor=made.replication_factor if made else pub.replication_factor,
            topic_id=made.topic_id if made else None,
        )
    observed = snapshot.get(name) if snapshot and state is TopicState.PRESENT else None
    if observed is None:
        return TopicStatus(name, PUBLISH, state, message)
    drift = drift_of(pub, observed)
    unverifiable = unverifiable_keys(pub, observed)
    notes = []
    if drift:
        state = TopicState.DRIFTED
        notes.append(
            "; ".join(str(d) for d in drift) + " (reported only: existing topics are never altered)"
        )
    if unverifiable:
        notes.append(
            f"unverifiable: the broker does not report {', '.join(unverifiable)}, so "
            f"{'it' if len(unverifiable) == 1 else 'they'} cannot be compared"
        )
    return TopicStatus(
        name,
        PUBLISH,
        state,
        "; ".join(notes) or message,
        drift,
        observed.partitions,
        observed.replication_factor,
        unverifiable,
        observed.topic_id,
    )
