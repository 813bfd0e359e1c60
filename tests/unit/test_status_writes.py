"""When a status needs writing: anything stored but the transition times counts.

needs_write() is what keeps an idle resync from writing 10,000 statuses, and also what makes
a status edited by someone else (or left stale) be written again.
"""

from __future__ import annotations

import copy

import pytest

from contract_operator.core.planner import plan
from contract_operator.core.snapshot import ClusterSettings
from contract_operator.core.status import desired_status, needs_write

from .factories import broker, contract, observed

TOPIC = "onex.evt.router.routing-complete.v1"
T0, T1 = "2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z"
STORED = (
    "topicCount",
    "publishCount",
    "subscribeCount",
    "driftedCount",
    "unsafeDriftCount",
    "brokenWires",
    "observedGeneration",
)


def _status(now: str = T0) -> dict:  # type: ignore[type-arg]
    router = contract("router", publish=[TOPIC], subscribe=[TOPIC])
    cp = plan([router], broker(observed(TOPIC))).contracts[0]
    return desired_status(cp, None, generation=1, now=now)


def test_a_status_written_again_unchanged_needs_no_write() -> None:
    assert not needs_write(_status(T0), _status(T1))
    assert needs_write(None, _status()) and needs_write({}, _status())


@pytest.mark.parametrize("key", STORED)
def test_a_stored_count_edited_by_someone_else_is_written_back(key: str) -> None:
    desired = _status()
    previous = copy.deepcopy(desired)
    previous[key] = 99
    assert needs_write(previous, desired)


def test_a_stored_topic_entry_edited_is_written_back() -> None:
    desired = _status()
    previous = copy.deepcopy(desired)
    previous["topics"][0]["state"] = "Missing"
    assert needs_write(previous, desired)


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "Unknown"), ("reason", "Other"), ("message", "edited"), ("observedGeneration", 7)],
)
def test_any_condition_field_but_the_transition_time_counts(field: str, value: object) -> None:
    desired = _status()
    previous = copy.deepcopy(desired)
    previous["conditions"][2][field] = value
    assert needs_write(previous, desired)
    previous = copy.deepcopy(desired)
    previous["conditions"][2]["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    assert not needs_write(previous, desired)


def test_a_missing_condition_is_written() -> None:
    desired = _status()
    previous = copy.deepcopy(desired)
    del previous["conditions"][3]
    assert needs_write(previous, desired)
    assert needs_write({**desired, "conditions": None}, desired)


def test_transition_times_move_only_on_a_flip_and_a_missing_one_is_set() -> None:
    first = _status(T0)
    again = desired_status(
        plan(
            [contract("router", publish=[TOPIC], subscribe=[TOPIC])], broker(observed(TOPIC))
        ).contracts[0],
        first,
        generation=1,
        now=T1,
    )
    assert {c["lastTransitionTime"] for c in again["conditions"]} == {T0}
    stripped = copy.deepcopy(first)
    for condition in stripped["conditions"]:
        del condition["lastTransitionTime"]
    kept = desired_status(
        plan(
            [contract("router", publish=[TOPIC], subscribe=[TOPIC])], broker(observed(TOPIC))
        ).contracts[0],
        stripped,
        generation=1,
        now=T1,
    )
    assert {c["lastTransitionTime"] for c in kept["conditions"]} == {T1}


def test_a_new_warning_alone_is_written() -> None:
    router = contract(
        "router",
        publish=[{"name": TOPIC, "partitions": 6, "config": {"min.insync.replicas": "2"}}],
    )
    seen = observed(TOPIC, 3, 1, **{"min.insync.replicas": "2"})

    def status(default_factor: int) -> dict:  # type: ignore[type-arg]
        snapshot = broker(seen)
        snapshot = type(snapshot)(
            snapshot.topics, snapshot.all_names, ClusterSettings(default_factor)
        )
        cp = plan([router], snapshot).contracts[0]
        return desired_status(cp, None, generation=1, now=T0)

    before, after = status(3), status(1)
    assert "warnings" not in before and after["warnings"]  # the warning is new
    assert before["conditions"] == after["conditions"]  # and changes no condition
    assert needs_write(before, after)
