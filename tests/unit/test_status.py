from contract_operator.core.planner import plan
from contract_operator.core.snapshot import CreateResult
from contract_operator.core.status import (
    conditions_for,
    desired_status,
    needs_write,
    transitions,
)

from .factories import broker, contract, observed

DONE = "onex.evt.router.routing-complete.v1"
T0, T1 = "2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z"


def conds(cp, **kw):
    return {c.type: (c.status, c.reason) for c in conditions_for(cp, **kw)}


def test_healthy_contract_is_ready() -> None:
    cp = plan([contract("router", publish=[DONE])], broker(observed(DONE))).contracts[0]
    assert conds(cp) == {
        "Ready": ("True", "Ready"),
        "Provisioned": ("True", "TopicsPresent"),
        "Drifted": ("False", "InSync"),
        "Wired": ("True", "AllPublished"),
    }


def test_drift_makes_contract_not_ready_and_says_what_to_do() -> None:
    cp = plan(
        [contract("router", publish=[{"name": DONE, "partitions": 6}])], broker(observed(DONE, 3))
    ).contracts[0]
    (drifted,) = [c for c in conditions_for(cp) if c.type == "Drifted"]
    assert (drifted.status, drifted.reason) == ("True", "TopicDrift")
    assert "partitions declared 6, actual 3" in drifted.message
    assert "never altered" in drifted.message
    assert conds(cp)["Ready"] == ("False", "TopicDrift")


def test_broken_wire_sets_wired_false_with_suggestion() -> None:
    contracts = [
        contract("router", publish=[DONE]),
        contract("notifier", subscribe=["onex.evt.router.routing_complete.v1"]),
    ]
    cp = plan(contracts, broker(observed(DONE))).for_contract("agents/notifier")
    (wired,) = [c for c in conditions_for(cp) if c.type == "Wired"]
    assert (wired.status, wired.reason) == ("False", "BrokenWire")
    assert DONE in wired.message


def test_broker_unavailable_is_unknown_not_false() -> None:
    cp = plan([contract("router", publish=[DONE])], None, broker_error="down").contracts[0]
    got = conds(cp, broker_error="cannot reach broker")
    assert got["Provisioned"] == ("Unknown", "BrokerUnavailable")
    assert got["Ready"] == ("Unknown", "BrokerUnavailable")


def test_last_transition_time_changes_only_when_status_flips() -> None:
    cp = plan([contract("router", publish=[DONE])], broker(observed(DONE))).contracts[0]
    first = desired_status(cp, None, generation=1, now=T0)
    again = desired_status(cp, first, generation=1, now=T1)
    assert [c["lastTransitionTime"] for c in again["conditions"]] == [T0] * 4
    assert not needs_write(first, again)
    drifted_cp = plan(
        [contract("router", publish=[{"name": DONE, "partitions": 2}])], broker(observed(DONE))
    ).contracts[0]
    flipped = desired_status(drifted_cp, first, generation=2, now=T1)
    by_type = {c["type"]: c["lastTransitionTime"] for c in flipped["conditions"]}
    assert by_type["Drifted"] == T1 and by_type["Wired"] == T0
    assert needs_write(first, flipped)


def test_status_carries_generation_topics_and_counts() -> None:
    cp = plan(
        [contract("router", publish=[{"name": DONE, "partitions": 6}])], broker(observed(DONE, 3))
    ).contracts[0]
    status = desired_status(cp, None, generation=4, now=T0)
    assert status["observedGeneration"] == 4
    assert all(c["observedGeneration"] == 4 for c in status["conditions"])
    assert status["driftedCount"] == 1 and status["publishCount"] == 1
    assert status["topics"][0]["drift"] == [{"field": "partitions", "declared": "6", "actual": "3"}]


def test_transitions_report_created_topics_and_flips_once() -> None:
    router = [contract("router", publish=[DONE])]
    created_cp = plan(router, broker(), outcome=CreateResult(created=frozenset({DONE}))).contracts[
        0
    ]
    created = desired_status(created_cp, None, generation=1, now=T0)
    assert created["topics"][0]["state"] == "Present"  # stored as a lasting state
    assert [t.message for t in transitions(None, created, created_cp.created)] == [
        f"created topic {DONE}"
    ]
    drifted = desired_status(
        plan(
            [contract("router", publish=[{"name": DONE, "partitions": 2}])], broker(observed(DONE))
        ).contracts[0],
        created,
        generation=2,
        now=T1,
    )
    assert [t.reason for t in transitions(created, drifted)] == ["DriftDetected"]
    assert transitions(drifted, drifted) == []
    healed = desired_status(
        plan(router, broker(observed(DONE))).contracts[0], drifted, generation=3, now=T1
    )
    assert [t.reason for t in transitions(drifted, healed)] == ["DriftResolved"]


def test_a_created_topic_needs_no_second_status_write() -> None:
    declared = {"name": DONE, "partitions": 3, "replicationFactor": 1}
    router = [contract("router", publish=[declared])]
    created_cp = plan(router, broker(), outcome=CreateResult(created=frozenset({DONE}))).contracts[
        0
    ]
    first = desired_status(created_cp, None, generation=1, now=T0)
    next_cycle = desired_status(
        plan(router, broker(observed(DONE, 3, 1))).contracts[0], first, generation=1, now=T1
    )
    assert not needs_write(first, next_cycle)


def test_cluster_defaults_of_a_created_topic_are_recorded_once() -> None:
    # Undeclared partitions are the cluster's to choose: learnt from the next describe.
    router = [contract("router", publish=[DONE])]
    created = plan(router, broker(), outcome=CreateResult(created=frozenset({DONE})))
    first = desired_status(created.contracts[0], None, generation=1, now=T0)
    second = desired_status(
        plan(router, broker(observed(DONE, 5, 3))).contracts[0], first, generation=1, now=T1
    )
    third = desired_status(
        plan(router, broker(observed(DONE, 5, 3))).contracts[0], second, generation=1, now=T1
    )
    assert needs_write(first, second) and not needs_write(second, third)
    assert second["topics"][0] | {"partitions": 5, "replicationFactor": 3} == second["topics"][0]


def test_topic_created_event_goes_to_the_publisher_only() -> None:
    request = "onex.cmd.gateway.route-request.v1"
    contracts = [contract("gateway", publish=[request]), contract("router", subscribe=[request])]
    result = plan(contracts, broker(), outcome=CreateResult(created=frozenset({request})))
    gateway = desired_status(result.for_contract("agents/gateway"), None, generation=1, now=T0)
    router = desired_status(result.for_contract("agents/router"), None, generation=1, now=T0)
    gateway_cp = result.for_contract("agents/gateway")
    router_cp = result.for_contract("agents/router")
    assert [t.reason for t in transitions(None, gateway, gateway_cp.created)] == ["TopicCreated"]
    assert [t.reason for t in transitions(None, router, router_cp.created)] == []


def test_invalid_spec_is_not_ready_and_keeps_transition_times() -> None:
    from contract_operator.core.status import invalid_spec_status

    first = invalid_spec_status("spec.node: missing", None, generation=3, now=T0)
    assert {c["type"]: (c["status"], c["reason"]) for c in first["conditions"]} == {
        "Ready": ("False", "InvalidSpec"),
        "Provisioned": ("Unknown", "InvalidSpec"),
        "Drifted": ("Unknown", "InvalidSpec"),
        "Wired": ("Unknown", "InvalidSpec"),
    }
    assert "spec.node: missing" in first["conditions"][0]["message"]
    again = invalid_spec_status("spec.node: missing", first, generation=3, now=T1)
    assert not needs_write(first, again)


def drifted_status(retention: str, partitions: int = 1) -> dict:
    pub = {"name": DONE, "partitions": 1, "config": {"retention.ms": "604800000"}}
    cp = plan(
        [contract("router", publish=[pub])],
        broker(observed(DONE, partitions, **{"retention.ms": retention})),
    ).contracts[0]
    return desired_status(cp, None, generation=1, now=T0)


def test_retention_cut_is_unsafe_drift_with_a_warning_event() -> None:
    status = drifted_status("3600000")
    drifted = next(c for c in status["conditions"] if c["type"] == "Drifted")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (drifted["status"], drifted["reason"], ready["reason"]) == (
        "True",
        "UnsafeDrift",
        "UnsafeDrift",
    )
    assert "fewer copies or less data" in drifted["message"]
    assert status["unsafeDriftCount"] == 1
    assert status["topics"][0]["drift"][0]["unsafe"] is True
    events = [(t.type, t.reason) for t in transitions(None, status)]
    assert events == [("Warning", "UnsafeDrift")]


def test_partition_difference_is_topic_drift_with_a_normal_event() -> None:
    status = drifted_status("604800000", partitions=3)
    drifted = next(c for c in status["conditions"] if c["type"] == "Drifted")
    assert drifted["reason"] == "TopicDrift" and status["unsafeDriftCount"] == 0
    assert [(t.type, t.reason) for t in transitions(None, status)] == [("Normal", "DriftDetected")]


def test_drift_turning_unsafe_is_a_new_warning() -> None:
    safe = drifted_status("604800000", partitions=3)
    unsafe = drifted_status("3600000", partitions=3)
    assert [(t.type, t.reason) for t in transitions(safe, unsafe)] == [("Warning", "UnsafeDrift")]
    assert transitions(unsafe, unsafe) == []


def test_a_config_value_with_units_is_reported_on_the_contract_with_the_key_named() -> None:
    pub = {"name": DONE, "config": {"retention.ms": "7d"}}
    cp = plan([contract("router", publish=[pub])], broker()).contracts[0]
    provisioned = next(c for c in conditions_for(cp) if c.type == "Provisioned")
    assert (provisioned.status, provisioned.reason) == ("False", "InvalidConfig")
    assert "retention.ms" in provisioned.message and "'7d'" in provisioned.message
