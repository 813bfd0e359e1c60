"""Drift is judged on normalised values, and the topic that can lose data is the one named.

`normalize` alone is tested in test_drift.py; these pin that the comparison itself (drift_of,
the planner, the Drifted condition and its Event) goes through it, and that a contract with
a harmless drift and a data-losing one leads with the latter.
"""

from __future__ import annotations

import pytest

from contract_operator.core.drift import drift_of
from contract_operator.core.planner import TopicState, plan
from contract_operator.core.status import conditions_for, desired_status, transitions

from .factories import broker, contract, observed

# Sorted by name and declared in this order: the harmless drift comes first either way.
SAFE = "onex.evt.router.a-partitions.v1"
CUT = "onex.evt.router.b-retention.v1"
T0 = "2026-11-21T10:00:00Z"


@pytest.mark.parametrize(
    ("key", "declared", "actual"),
    [
        ("cleanup.policy", "delete,compact", "compact,delete"),
        ("cleanup.policy", "compact, delete", "delete,compact"),
        ("cleanup.policy", "COMPACT", "compact"),
        ("retention.ms", "604800000", "6.048e8"),
        ("retention.ms", " 604800000", "604800000"),
        ("max.message.bytes", "01048588", "1048588"),
        ("unclean.leader.election.enable", "False", "false"),
        ("min.cleanable.dirty.ratio", "0.50", "0.5"),
    ],
)
def test_values_that_mean_the_same_are_not_drift(key: str, declared: str, actual: str) -> None:
    topic = {"name": SAFE, "config": {key: declared}}
    router = contract("router", publish=[topic])
    seen = observed(SAFE, **{key: actual})

    assert drift_of(router.published[0], seen) == ()
    (status,) = plan([router], broker(seen)).contracts[0].topics
    assert status.state is TopicState.PRESENT


def test_values_that_differ_are_still_drift_after_normalising() -> None:
    router = contract("router", publish=[{"name": SAFE, "config": {"cleanup.policy": "compact"}}])
    seen = observed(SAFE, **{"cleanup.policy": "compact,delete"})
    (field,) = drift_of(router.published[0], seen)
    assert (field.field, field.declared, field.actual) == (
        "cleanup.policy",
        "compact",
        "compact,delete",
    )


def _two_drifts():  # type: ignore[no-untyped-def]
    router = contract(
        "router",
        publish=[
            {"name": SAFE, "partitions": 6},
            {"name": CUT, "config": {"retention.ms": "604800000"}},
        ],
    )
    snapshot = broker(observed(SAFE, 3), observed(CUT, **{"retention.ms": "3600000"}))
    cp = plan([router], snapshot).contracts[0]
    assert [t.name for t in cp.topics if t.state is TopicState.DRIFTED] == [SAFE, CUT]
    return cp


def test_the_drifted_condition_leads_with_the_unsafe_topic() -> None:
    cp = _two_drifts()
    drifted = next(c for c in conditions_for(cp) if c.type == "Drifted")
    ready = next(c for c in conditions_for(cp) if c.type == "Ready")

    assert (drifted.status, drifted.reason) == ("True", "UnsafeDrift")
    assert drifted.message.startswith(f"{CUT}: retention.ms declared 604800000, actual 3600000")
    assert "(and 1 more drifted topics in status.topics)" in drifted.message
    assert "fewer copies or less data" in drifted.message
    assert ready.reason == "UnsafeDrift"


def test_a_retention_cut_next_to_a_harmless_drift_is_a_warning_event() -> None:
    status = desired_status(_two_drifts(), None, generation=1, now=T0)
    assert status["driftedCount"] == 2 and status["unsafeDriftCount"] == 1
    events = [(t.type, t.reason) for t in transitions(None, status)]
    assert ("Warning", "UnsafeDrift") in events
    assert ("Normal", "DriftDetected") not in events


def test_with_only_harmless_drift_the_reason_is_topic_drift() -> None:
    router = contract("router", publish=[{"name": SAFE, "partitions": 6}])
    cp = plan([router], broker(observed(SAFE, 3))).contracts[0]
    drifted = next(c for c in conditions_for(cp) if c.type == "Drifted")
    assert drifted.reason == "TopicDrift"
    status = desired_status(cp, None, generation=1, now=T0)
    assert [(t.type, t.reason) for t in transitions(None, status)] == [("Normal", "DriftDetected")]


@pytest.mark.parametrize(
    ("key", "value", "canonical"),
    [
        ("cleanup.policy", " Delete , COMPACT ,", "compact,delete"),
        ("cleanup.policy", "", ""),
        ("cleanup.policy", None, "<unset>"),
        ("unclean.leader.election.enable", "TRUE", "true"),
        ("unclean.leader.election.enable", " False ", "false"),
        ("retention.ms", "+42", "42"),
        ("retention.ms", "-0", "0"),
        ("retention.ms", "-1", "-1"),
        ("retention.ms", 7, "7"),
        ("retention.ms", "1.5e3", "1500"),
        ("retention.ms", "1.", "1"),
        ("min.cleanable.dirty.ratio", "0.50", "0.5"),
        ("min.cleanable.dirty.ratio", ".5", "0.5"),
        ("min.cleanable.dirty.ratio", "1e-3", "0.001"),
        ("compression.type", "zstd", "zstd"),
        ("compression.type", None, "<unset>"),
    ],
)
def test_the_canonical_forms(key: str, value: object, canonical: str) -> None:
    from contract_operator.core.drift import normalize

    assert normalize(key, value) == canonical


def test_a_drifted_field_says_why_it_is_unsafe() -> None:
    from contract_operator.core.drift import DriftField

    assert str(DriftField("replicationFactor", "3", "1", True)) == (
        "replicationFactor declared 3, actual 1 (unsafe: fewer copies)"
    )
    assert str(DriftField("min.insync.replicas", "2", "1", True)) == (
        "min.insync.replicas declared 2, actual 1 (unsafe: fewer copies)"
    )
    assert str(DriftField("retention.ms", "2", "1", True)) == (
        "retention.ms declared 2, actual 1 (unsafe: less data)"
    )
    assert str(DriftField("partitions", "6", "3")) == "partitions declared 6, actual 3"
    assert DriftField("partitions", "6", "3").to_dict() == {
        "field": "partitions",
        "declared": "6",
        "actual": "3",
    }


@pytest.mark.parametrize(
    ("field", "declared", "actual", "unsafe"),
    [
        # Boundaries of the retention rule: 0 is a limit, only negatives mean unlimited.
        ("retention.ms", "0", "5", False),
        ("retention.ms", "-1", "0", True),
        ("retention.ms", "5", "0", True),
        ("retention.bytes", "-1", "-1", False),
        ("replicationFactor", "3", "3", False),
        ("min.insync.replicas", "2", "2", False),
        # cleanup.policy compared as normalised sets, whatever the order or case.
        ("cleanup.policy", "compact,delete", "delete", True),
        ("cleanup.policy", "compact,delete", "delete,compact", False),
        ("cleanup.policy", "COMPACT", "delete", True),
        ("cleanup.policy", "compact", "COMPACT", False),
    ],
)
def test_unsafe_boundaries(field: str, declared: str, actual: str, unsafe: bool) -> None:
    from contract_operator.core.drift import is_unsafe

    assert is_unsafe(field, declared, actual) is unsafe
