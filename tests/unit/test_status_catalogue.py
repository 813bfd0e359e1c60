# ruff: noqa: E501 - the catalogue holds the exact messages a user reads, one per line
"""The exact conditions and Events a contract gets in each situation the status module knows.

Reasons are what alerts and `kubectl get` select on, messages are what a user reads: both are
pinned here, one scenario per branch of conditions_for() and transitions(), planned by the real
planner. A changed reason or message must be a deliberate edit of this catalogue.
"""

from __future__ import annotations

import pytest

from contract_operator.core.planner import plan
from contract_operator.core.snapshot import CreateResult
from contract_operator.core.status import (
    MAX_MESSAGE,
    conditions_for,
    desired_status,
    transitions,
)
from contract_operator.model.contract import Contract

from .factories import broker, contract, observed
from .fakes import manifest

T0, T1 = "2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z"


def paused(name, publish):  # type: ignore[no-untyped-def]
    body = manifest(name, publish=publish)
    body["metadata"]["annotations"] = {"eventbus.dev/paused": "true"}
    return Contract.from_manifest(body, source=f"agents/{name}")


def one(cs, snap, key="agents/router", **kw):  # type: ignore[no-untyped-def]
    be = kw.pop("broker_error", None)
    return plan(cs, snap, broker_error=be, **kw).for_contract(key), be


R = "onex.evt.router"
SCENARIOS = {
    "healthy": lambda: one(
        [contract("router", publish=[f"{R}.done.v1"], subscribe=[f"{R}.done.v1"])],
        broker(observed(f"{R}.done.v1")),
    ),
    "empty": lambda: one([contract("router")], broker()),
    "broker_down": lambda: one(
        [contract("router", publish=[f"{R}.done.v1"])],
        None,
        broker_error="cannot reach broker b:9092",
    ),
    "bad_config": lambda: one(
        [contract("router", publish=[{"name": f"{R}.done.v1", "config": {"retention.ms": "7d"}}])],
        broker(),
    ),
    "bad_name": lambda: one([contract("router", publish=[f"{R}.Bad_Name.v1"])], broker()),
    "failed": lambda: one(
        [contract("router", publish=[f"{R}.done.v1"])],
        broker(),
        outcome=CreateResult(
            failed={f"{R}.done.v1": "POLICY_VIOLATION: no"}, permanent=frozenset({f"{R}.done.v1"})
        ),
    ),
    "conflict": lambda: one(
        [
            contract(
                "router",
                publish=[{"name": f"{R}.done.v1", "partitions": 3}],
                created="2026-01-02T00:00:00Z",
            ),
            contract(
                "router-old", node="router", publish=[{"name": f"{R}.done.v1", "partitions": 6}]
            ),
        ],
        broker(),
    ),
    "paused_missing": lambda: one([paused("router", [f"{R}.done.v1"])], broker()),
    "paused_none": lambda: one(
        [paused("router", [f"{R}.done.v1"])], broker(observed(f"{R}.done.v1"))
    ),
    "missing5": lambda: one(
        [contract("router", publish=[f"{R}.e{i}.v1" for i in range(5)])], broker()
    ),
    "missing4": lambda: one(
        [contract("router", publish=[f"{R}.e{i}.v1" for i in range(4)])], broker()
    ),
    "drift_safe": lambda: one(
        [
            contract(
                "router",
                publish=[
                    {"name": f"{R}.a.v1", "partitions": 6},
                    {"name": f"{R}.b.v1", "partitions": 2},
                ],
            )
        ],
        broker(observed(f"{R}.a.v1", 3), observed(f"{R}.b.v1", 1, 1)),
    ),
    "drift_unsafe": lambda: one(
        [contract("router", publish=[{"name": f"{R}.b.v1", "replicationFactor": 3}])],
        broker(observed(f"{R}.b.v1", 1, 1)),
    ),
    "orphans": lambda: one(
        [contract("router", subscribe=["onex.evt.x.gone.v1", "onex.evt.y.gone.v1"])], broker()
    ),
    "orphan1": lambda: one([contract("router", subscribe=["onex.evt.x.gone.v1"])], broker()),
    "bad_sub": lambda: one([contract("router", subscribe=["onex.evt.x.Bad_Name.v1"])], broker()),
    "warnings": lambda: one(
        [
            contract(
                "router",
                publish=[
                    {"name": f"{R}.a.v1", "replicationFactor": 2},
                    {
                        "name": f"{R}.b.v1",
                        "replicationFactor": 1,
                        "config": {"min.insync.replicas": "2"},
                    },
                ],
            )
        ],
        broker(
            observed(f"{R}.a.v1", 1, 2), observed(f"{R}.b.v1", 1, 1, **{"min.insync.replicas": "2"})
        ),
    ),
}

EXPECTED = {
    "healthy": [
        ("Ready", "True", "Ready", "topics exist, match the contract, and are wired"),
        ("Provisioned", "True", "TopicsPresent", "all 1 published topics exist"),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "all 1 subscriptions have a publisher"),
    ],
    "empty": [
        ("Ready", "True", "Ready", "topics exist, match the contract, and are wired"),
        ("Provisioned", "True", "TopicsPresent", "publishes no topics"),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "broker_down": [
        (
            "Ready",
            "Unknown",
            "BrokerUnavailable",
            "cannot reach broker b:9092. Topics are created as soon as the broker answers.",
        ),
        (
            "Provisioned",
            "Unknown",
            "BrokerUnavailable",
            "cannot reach broker b:9092. Topics are created as soon as the broker answers.",
        ),
        ("Drifted", "Unknown", "BrokerUnavailable", "drift cannot be checked"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "bad_config": [
        (
            "Ready",
            "False",
            "InvalidConfig",
            "onex.evt.router.done.v1 declare config values that can never apply and are not created: agents/router publishes onex.evt.router.done.v1 with config retention.ms: '7d' is not a whole number; retention.ms takes an integer (or digit string) such as 604800000, or -1 for unlimited. Fix: Write retention.ms as a number: milliseconds for *.ms, bytes for *.bytes (7 days = 604800000 ms).",
        ),
        (
            "Provisioned",
            "False",
            "InvalidConfig",
            "onex.evt.router.done.v1 declare config values that can never apply and are not created: agents/router publishes onex.evt.router.done.v1 with config retention.ms: '7d' is not a whole number; retention.ms takes an integer (or digit string) such as 604800000, or -1 for unlimited. Fix: Write retention.ms as a number: milliseconds for *.ms, bytes for *.bytes (7 days = 604800000 ms).",
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "bad_name": [
        (
            "Ready",
            "False",
            "InvalidTopicName",
            "onex.evt.router.Bad_Name.v1 break the naming rules and are not created: agents/router publishes onex.evt.router.Bad_Name.v1, which does not match the naming pattern onex.<kind>.<producer>.<event>.v<N> (lowercase words joined by '-'). Fix: Rename it to onex.evt.router.bad-name.v1.",
        ),
        (
            "Provisioned",
            "False",
            "InvalidTopicName",
            "onex.evt.router.Bad_Name.v1 break the naming rules and are not created: agents/router publishes onex.evt.router.Bad_Name.v1, which does not match the naming pattern onex.<kind>.<producer>.<event>.v<N> (lowercase words joined by '-'). Fix: Rename it to onex.evt.router.bad-name.v1.",
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "failed": [
        (
            "Ready",
            "False",
            "CreateFailed",
            "onex.evt.router.done.v1: the broker refused to create it: POLICY_VIOLATION: no",
        ),
        (
            "Provisioned",
            "False",
            "CreateFailed",
            "onex.evt.router.done.v1: the broker refused to create it: POLICY_VIOLATION: no",
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "conflict": [
        (
            "Ready",
            "False",
            "TopicConflict",
            "onex.evt.router.done.v1: agents/router-old declared this topic first with other settings; this declaration is ignored until it matches or the topic is renamed",
        ),
        (
            "Provisioned",
            "False",
            "TopicConflict",
            "onex.evt.router.done.v1: agents/router-old declared this topic first with other settings; this declaration is ignored until it matches or the topic is renamed",
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "paused_missing": [
        (
            "Ready",
            "False",
            "ProvisioningPaused",
            'onex.evt.router.done.v1 would be created; provisioning is paused by the annotation eventbus.dev/paused: "true": remove it to resume (drift and wiring are still reported)',
        ),
        (
            "Provisioned",
            "False",
            "ProvisioningPaused",
            'onex.evt.router.done.v1 would be created; provisioning is paused by the annotation eventbus.dev/paused: "true": remove it to resume (drift and wiring are still reported)',
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "paused_none": [
        ("Ready", "True", "Ready", "topics exist, match the contract, and are wired"),
        (
            "Provisioned",
            "True",
            "ProvisioningPaused",
            'nothing to create; provisioning is paused by the annotation eventbus.dev/paused: "true": remove it to resume (drift and wiring are still reported)',
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "missing5": [
        (
            "Ready",
            "False",
            "TopicsMissing",
            "onex.evt.router.e0.v1, onex.evt.router.e1.v1, onex.evt.router.e2.v1 and 2 more will be created",
        ),
        (
            "Provisioned",
            "False",
            "TopicsMissing",
            "onex.evt.router.e0.v1, onex.evt.router.e1.v1, onex.evt.router.e2.v1 and 2 more will be created",
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "missing4": [
        (
            "Ready",
            "False",
            "TopicsMissing",
            "onex.evt.router.e0.v1, onex.evt.router.e1.v1, onex.evt.router.e2.v1 and 1 more will be created",
        ),
        (
            "Provisioned",
            "False",
            "TopicsMissing",
            "onex.evt.router.e0.v1, onex.evt.router.e1.v1, onex.evt.router.e2.v1 and 1 more will be created",
        ),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "drift_safe": [
        (
            "Ready",
            "False",
            "TopicDrift",
            "onex.evt.router.a.v1: partitions declared 6, actual 3 (and 1 more drifted topics in status.topics). Existing topics are never altered: change the contract to match, or migrate the topic.",
        ),
        ("Provisioned", "True", "TopicsPresent", "all 2 published topics exist"),
        (
            "Drifted",
            "True",
            "TopicDrift",
            "onex.evt.router.a.v1: partitions declared 6, actual 3 (and 1 more drifted topics in status.topics). Existing topics are never altered: change the contract to match, or migrate the topic.",
        ),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "drift_unsafe": [
        (
            "Ready",
            "False",
            "UnsafeDrift",
            "onex.evt.router.b.v1: replicationFactor declared 3, actual 1 (unsafe: fewer copies). The broker keeps fewer copies or less data than declared and is never altered: restore the setting on the broker, or declare what it has.",
        ),
        ("Provisioned", "True", "TopicsPresent", "all 1 published topics exist"),
        (
            "Drifted",
            "True",
            "UnsafeDrift",
            "onex.evt.router.b.v1: replicationFactor declared 3, actual 1 (unsafe: fewer copies). The broker keeps fewer copies or less data than declared and is never altered: restore the setting on the broker, or declare what it has.",
        ),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
    "orphans": [
        (
            "Ready",
            "False",
            "BrokenWire",
            "subscribes to onex.evt.x.gone.v1: no contract publishes it (1 more broken wires in status.topics)",
        ),
        ("Provisioned", "True", "TopicsPresent", "publishes no topics"),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        (
            "Wired",
            "False",
            "BrokenWire",
            "subscribes to onex.evt.x.gone.v1: no contract publishes it (1 more broken wires in status.topics)",
        ),
    ],
    "orphan1": [
        (
            "Ready",
            "False",
            "BrokenWire",
            "subscribes to onex.evt.x.gone.v1: no contract publishes it",
        ),
        ("Provisioned", "True", "TopicsPresent", "publishes no topics"),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        (
            "Wired",
            "False",
            "BrokenWire",
            "subscribes to onex.evt.x.gone.v1: no contract publishes it",
        ),
    ],
    "bad_sub": [
        (
            "Ready",
            "False",
            "BrokenWire",
            "subscribes to onex.evt.x.Bad_Name.v1: no contract publishes it",
        ),
        ("Provisioned", "True", "TopicsPresent", "publishes no topics"),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        (
            "Wired",
            "False",
            "BrokenWire",
            "subscribes to onex.evt.x.Bad_Name.v1: no contract publishes it",
        ),
    ],
    "warnings": [
        (
            "Ready",
            "True",
            "Ready",
            "topics exist, match the contract, and are wired; warning: agents/router publishes onex.evt.router.b.v1 with min.insync.replicas 2, above its replication factor 1: every producer with acks=all will fail with NOT_ENOUGH_REPLICAS. Fix: Lower min.insync.replicas to at most 1 (1 keeps writes going with one broker down), or raise the replication factor. (and 1 more in status.warnings)",
        ),
        ("Provisioned", "True", "TopicsPresent", "all 2 published topics exist"),
        ("Drifted", "False", "InSync", "existing topics match the contract"),
        ("Wired", "True", "AllPublished", "subscribes to no topics"),
    ],
}

TRANSITIONS = [
    (None, "healthy", (), []),
    (None, "missing4", (), []),
    (
        "missing4",
        "healthy",
        ("onex.evt.router.done.v1",),
        [("Normal", "TopicCreated", "created topic onex.evt.router.done.v1")],
    ),
    (
        "missing5",
        "missing5",
        (
            "onex.evt.router.e0.v1",
            "onex.evt.router.e1.v1",
            "onex.evt.router.e2.v1",
            "onex.evt.router.e3.v1",
            "onex.evt.router.e4.v1",
            "onex.evt.router.e5.v1",
        ),
        [
            (
                "Normal",
                "TopicCreated",
                "created 6 topics onex.evt.router.e0.v1, onex.evt.router.e1.v1, onex.evt.router.e2.v1, onex.evt.router.e3.v1, onex.evt.router.e4.v1 and 1 more",
            )
        ],
    ),
    (
        "missing4",
        "missing4",
        ("onex.evt.router.e0.v1", "onex.evt.router.e1.v1"),
        [
            (
                "Normal",
                "TopicCreated",
                "created 2 topics onex.evt.router.e0.v1, onex.evt.router.e1.v1",
            )
        ],
    ),
    (
        "healthy",
        "broker_down",
        (),
        [
            (
                "Warning",
                "BrokerUnavailable",
                "cannot reach broker b:9092. Topics are created as soon as the broker answers.",
            )
        ],
    ),
    ("broker_down", "healthy", (), [("Normal", "BrokerAvailable", "the broker answers again")]),
    (
        None,
        "failed",
        (),
        [
            (
                "Warning",
                "CreateFailed",
                "onex.evt.router.done.v1: the broker refused to create it: POLICY_VIOLATION: no",
            )
        ],
    ),
    (
        None,
        "bad_name",
        (),
        [
            (
                "Warning",
                "InvalidTopicName",
                "onex.evt.router.Bad_Name.v1 break the naming rules and are not created: agents/router publishes onex.evt.router.Bad_Name.v1, which does not match the naming pattern onex.<kind>.<producer>.<event>.v<N> (lowercase words joined by '-'). Fix: Rename it to onex.evt.router.bad-name.v1.",
            )
        ],
    ),
    (
        None,
        "paused_missing",
        (),
        [
            (
                "Normal",
                "ProvisioningPaused",
                'onex.evt.router.done.v1 would be created; provisioning is paused by the annotation eventbus.dev/paused: "true": remove it to resume (drift and wiring are still reported)',
            )
        ],
    ),
    ("missing4", "paused_missing", (), []),
    (
        "healthy",
        "drift_safe",
        (),
        [
            (
                "Normal",
                "DriftDetected",
                "onex.evt.router.a.v1: partitions declared 6, actual 3 (and 1 more drifted topics in status.topics). Existing topics are never altered: change the contract to match, or migrate the topic.",
            )
        ],
    ),
    (
        "drift_safe",
        "drift_unsafe",
        (),
        [
            (
                "Warning",
                "UnsafeDrift",
                "onex.evt.router.b.v1: replicationFactor declared 3, actual 1 (unsafe: fewer copies). The broker keeps fewer copies or less data than declared and is never altered: restore the setting on the broker, or declare what it has.",
            )
        ],
    ),
    ("drift_unsafe", "drift_unsafe", (), []),
    ("drift_unsafe", "drift_safe", (), []),
    (
        "drift_safe",
        "healthy",
        (),
        [("Normal", "DriftResolved", "existing topics match the contract again")],
    ),
    (
        "healthy",
        "orphan1",
        (),
        [("Warning", "BrokenWire", "subscribes to onex.evt.x.gone.v1: no contract publishes it")],
    ),
    ("orphan1", "healthy", (), [("Normal", "WireFixed", "all 1 subscriptions have a publisher")]),
    (
        "empty",
        "warnings",
        (),
        [
            (
                "Warning",
                "ContractWarning",
                "agents/router publishes onex.evt.router.b.v1 with min.insync.replicas 2, above its replication factor 1: every producer with acks=all will fail with NOT_ENOUGH_REPLICAS. Fix: Lower min.insync.replicas to at most 1 (1 keeps writes going with one broker down), or raise the replication factor.",
            ),
            (
                "Warning",
                "ContractWarning",
                "agents/router publishes onex.evt.router.a.v1 with replication factor 2: Redpanda refuses even replication factors, and an even number of copies tolerates no more broker failures than one copy fewer. Fix: Use 1 or 3, or omit it for the cluster's default.",
            ),
        ],
    ),
    ("warnings", "warnings", (), []),
]


def status_of(name: str, now: str = T0) -> dict:  # type: ignore[type-arg]
    cp, be = SCENARIOS[name]()
    return desired_status(cp, None, generation=1, now=now, broker_error=be)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_conditions(name: str) -> None:
    cp, be = SCENARIOS[name]()
    got = [(c.type, c.status, c.reason, c.message) for c in conditions_for(cp, broker_error=be)]
    assert got == EXPECTED[name]


@pytest.mark.parametrize(
    ("before", "after", "created", "events"),
    TRANSITIONS,
    ids=[f"{a}-{b}-{len(c)}" for a, b, c, _ in TRANSITIONS],
)
def test_transitions(before, after, created, events) -> None:  # type: ignore[no-untyped-def]
    previous = None if before is None else status_of(before)
    got = transitions(previous, status_of(after, T1), created)
    assert [(t.type, t.reason, t.message) for t in got] == events


def test_a_long_message_is_cut_to_max_message() -> None:
    topic = "onex.evt.router.done.v1"
    refusal = "POLICY_VIOLATION: " + "no " * 600
    outcome = CreateResult(failed={topic: refusal}, permanent=frozenset({topic}))
    cp, _ = one([contract("router", publish=[topic])], broker(), outcome=outcome)
    conditions = {c.type: c for c in conditions_for(cp)}
    expected = f"{topic}: the broker refused to create it: {refusal}"[:MAX_MESSAGE]
    assert conditions["Provisioned"].message == expected
    assert conditions["Ready"].message == expected


# Branches the planner reaches rarely or not at all, for plans built directly: a subscription
# whose own name is refused, a contract-level error, and a single warning.
def _cp(topics=(), problems=()):  # type: ignore[no-untyped-def]
    from contract_operator.core.planner import ContractPlan

    return ContractPlan(contract("router"), tuple(topics), tuple(problems))


def test_a_subscription_refused_by_name_sets_wired_false() -> None:
    from contract_operator.core.planner import SUBSCRIBE, TopicState, TopicStatus

    bad = TopicStatus("x.Bad", SUBSCRIBE, TopicState.INVALID, "breaks the naming pattern")
    other = TopicStatus("y.Bad", SUBSCRIBE, TopicState.INVALID, "other")
    got = {c.type: (c.status, c.reason, c.message) for c in conditions_for(_cp([bad, other]))}
    assert got["Wired"] == ("False", "InvalidTopicName", "x.Bad: breaks the naming pattern")
    assert got["Ready"] == got["Wired"]


def test_a_contract_level_error_makes_it_not_ready() -> None:
    from contract_operator.model.problems import Problem, Severity

    problems = [
        Problem(
            Severity.ERROR, "topic-error", "about a topic", topic="t", contract="agents/router"
        ),
        Problem(Severity.ERROR, "bad", "the contract is wrong", contract="agents/router"),
        Problem(Severity.ERROR, "bad", "and more", contract="agents/router"),
    ]
    got = {c.type: (c.status, c.reason, c.message) for c in conditions_for(_cp(problems=problems))}
    assert got["Ready"] == ("False", "InvalidContract", "the contract is wrong")


def test_one_warning_is_named_without_and_more() -> None:
    from contract_operator.model.problems import Problem, Severity

    warning = Problem(Severity.WARNING, "w", "careful", "Do this.", contract="agents/router")
    unfixable = Problem(Severity.WARNING, "w", "just so", contract="agents/router")
    ready = next(c for c in conditions_for(_cp(problems=[warning])) if c.type == "Ready")
    assert ready.message == (
        "topics exist, match the contract, and are wired; warning: careful. Fix: Do this."
    )
    ready = next(c for c in conditions_for(_cp(problems=[unfixable])) if c.type == "Ready")
    assert ready.message == "topics exist, match the contract, and are wired; warning: just so"
