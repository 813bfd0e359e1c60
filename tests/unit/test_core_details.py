"""Exact results of small core functions whose details the broader tests do not pin: the
status of an unreadable contract, the unowned-topics log line, re-created topics, admission's
denial text, a plan's contract look-up and the policy's group finder on edge-case patterns."""

from __future__ import annotations

from contract_operator.core.admission import AdmissionMode, FleetView, decide
from contract_operator.core.naming import NamingRules
from contract_operator.core.naming_policy import NODE_PLACEHOLDER, policy_params
from contract_operator.core.planner import plan
from contract_operator.core.recreated import RecordedId, Recreated, recorded_ids, recreated_topics
from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic
from contract_operator.core.status import invalid_spec_status
from contract_operator.core.unowned import Unowned, UnownedTopic

from .factories import broker, contract, observed

T0, T1 = "2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z"


def test_the_status_of_a_contract_that_cannot_be_parsed() -> None:
    status = invalid_spec_status("boom", None, generation=3, now=T0)
    message = "the spec is not a valid contract: boom. Fix the spec and re-apply."
    assert status == {
        "conditions": [
            {
                "type": kind,
                "status": "False" if kind == "Ready" else "Unknown",
                "reason": "InvalidSpec",
                "message": message,
                "lastTransitionTime": T0,
                "observedGeneration": 3,
            }
            for kind in ("Ready", "Provisioned", "Drifted", "Wired")
        ],
        "topics": [],
        "topicCount": 0,
        "publishCount": 0,
        "subscribeCount": 0,
        "driftedCount": 0,
        "unsafeDriftCount": 0,
        "brokenWires": 0,
        "observedGeneration": 3,
    }
    again = invalid_spec_status("boom", status, generation=3, now=T1)
    assert {c["lastTransitionTime"] for c in again["conditions"]} == {T0}


def test_the_status_of_a_contract_the_operator_failed_on() -> None:
    status = invalid_spec_status(
        "the operator could not plan this contract (KeyError: 'x')",
        None,
        generation=None,
        now=T0,
        reason="PlanFailed",
        fix="Please report it.",
    )
    (ready, *_) = status["conditions"]
    assert (ready["reason"], ready["message"]) == (
        "PlanFailed",
        "the operator could not plan this contract (KeyError: 'x'). Please report it.",
    )
    assert "observedGeneration" not in status and "observedGeneration" not in ready


def _unowned(count: int, subscribed: int = 0) -> Unowned:
    return Unowned(
        tuple(
            UnownedTopic(
                f"onex.evt.p{i % 2}.t{i}.v1", "evt", f"p{i % 2}", ("a/x",) if i < subscribed else ()
            )
            for i in range(count)
        )
    )


def test_the_unowned_topics_log_line() -> None:
    assert Unowned().summary() == "no unowned topics"
    assert _unowned(1).summary() == "1 unowned topics (p0: 1): onex.evt.p0.t0.v1"
    assert _unowned(7, subscribed=2).summary() == (
        "7 unowned topics (p0: 4, p1: 3); 2 still subscribed to: onex.evt.p0.t0.v1, "
        "onex.evt.p1.t1.v1, onex.evt.p0.t2.v1, onex.evt.p1.t3.v1, onex.evt.p0.t4.v1 and 2 more"
    )
    assert _unowned(2).summary(limit=2) == (
        "2 unowned topics (p0: 1, p1: 1): onex.evt.p0.t0.v1, onex.evt.p1.t1.v1"
    )
    no_producer = Unowned((UnownedTopic("x.y", None, None),))
    assert no_producer.summary() == "1 unowned topics ((no producer): 1): x.y"


def test_recorded_ids_skip_unreadable_objects_and_read_the_rest() -> None:
    items = [
        {"metadata": {"namespace": "a", "name": "broken"}, "status": "garbage"},
        {"metadata": {"name": "nameless-ns"}, "status": {"topics": [{"name": "t1"}]}},
        {"metadata": {"namespace": "a"}, "status": {"topics": [{"name": "t2", "topicId": "x"}]}},
    ]
    assert recorded_ids(items) == [
        RecordedId("/nameless-ns", "t1", None, None),
        RecordedId("a/", "t2", "x", None),
    ]


def test_re_created_topics_sorted_by_topic_then_contract() -> None:
    recorded = [
        RecordedId("a/z", "t2", "id-old"),
        RecordedId("a/b", "t2", "id-old"),
        RecordedId("a/c", "t1", "id-now", previous_topic_id="id-before"),
        RecordedId("a/d", "t3", "id-same"),
    ]
    snapshot = BrokerSnapshot(
        {
            "t2": ObservedTopic("t2", 1, 1, topic_id="id-new"),
            "t3": ObservedTopic("t3", 1, 1, topic_id="id-same"),
        }
    )
    assert recreated_topics(recorded, snapshot) == (
        Recreated("a/c", "t1", "id-before", "id-now"),
        Recreated("a/b", "t2", "id-old", "id-new"),
        Recreated("a/z", "t2", "id-old", "id-new"),
    )
    assert Recreated("a/c", "t1", "id-before", None).message == (
        "deleted and re-created (topic id id-before): the data it held and every consumer "
        "group's offsets on it are gone"
    )


def test_several_denials_are_one_line_joined_by_bars() -> None:
    incoming = contract(
        "storefront", publish=["onex.cmd.checkout.place-order.v1", "onex.evt.storefront.Bad.v1"]
    )
    decision = decide(incoming, FleetView(), broker(), AdmissionMode.DENY)
    parts = decision.denial_message().split(" | ")
    assert len(parts) == len(decision.denials) == 2
    assert all(part.startswith("[") for part in parts)


def test_a_plan_has_no_entry_for_a_contract_it_did_not_plan() -> None:
    result = plan([contract("router")], broker())
    assert result.for_contract("agents/router") is not None
    assert result.for_contract("agents/nobody") is None


def test_a_group_at_the_very_start_of_the_pattern_is_found() -> None:
    rules = NamingRules(pattern=r"(?P<producer>[a-z]+)\..+", kinds=frozenset())
    assert policy_params(rules)["producerTemplate"] == rf"(?P<producer>{NODE_PLACEHOLDER})\..+"


def test_an_escaped_parenthesis_does_not_close_the_group() -> None:
    rules = NamingRules(pattern=r"^(?P<producer>a\)b)\..+$", kinds=frozenset())
    assert policy_params(rules)["producerTemplate"] == rf"^(?P<producer>{NODE_PLACEHOLDER})\..+$"


def test_a_class_opening_with_a_bracket_is_one_class() -> None:
    rules = NamingRules(pattern=r"^(?P<producer>[]]x)\..+$", kinds=frozenset())
    assert policy_params(rules)["producerTemplate"] == rf"^(?P<producer>{NODE_PLACEHOLDER})\..+$"


def test_a_stored_status_keeps_each_topic_state_and_counts_by_role() -> None:
    from contract_operator.core.status import desired_status

    router = contract(
        "router",
        publish=["onex.evt.router.done.v1", "onex.evt.router.new.v1"],
        subscribe=["onex.evt.router.done.v1", "onex.evt.x.gone.v1", "onex.evt.y.gone.v1"],
    )
    cp = plan([router], broker(observed("onex.evt.router.done.v1"))).contracts[0]
    status = desired_status(cp, None, generation=1, now=T0)
    assert [(t["name"], t["role"], t["state"]) for t in status["topics"]] == [
        ("onex.evt.router.done.v1", "publish", "Present"),
        ("onex.evt.router.new.v1", "publish", "Missing"),
        ("onex.evt.router.done.v1", "subscribe", "Present"),
        ("onex.evt.x.gone.v1", "subscribe", "Orphaned"),
        ("onex.evt.y.gone.v1", "subscribe", "Orphaned"),
    ]
    assert (
        status["topicCount"],
        status["publishCount"],
        status["subscribeCount"],
        status["brokenWires"],
    ) == (5, 2, 3, 2)


def test_exactly_three_names_are_listed_without_and_more() -> None:
    from contract_operator.core.status import conditions_for

    names = [f"onex.evt.router.e{i}.v1" for i in range(3)]
    cp = plan([contract("router", publish=names)], broker()).contracts[0]
    provisioned = next(c for c in conditions_for(cp) if c.type == "Provisioned")
    assert provisioned.message == f"{', '.join(names)} will be created"


def test_exactly_five_created_topics_are_named_without_and_more() -> None:
    from contract_operator.core.status import desired_status, transitions

    names = tuple(f"onex.evt.router.e{i}.v1" for i in range(5))
    cp = plan([contract("router", publish=list(names))], broker()).contracts[0]
    status = desired_status(cp, None, generation=1, now=T0)
    (created,) = [t for t in transitions(status, status, names) if t.reason == "TopicCreated"]
    assert created.message == f"created 5 topics {', '.join(names)}"


def test_every_drifted_field_of_the_first_topic_is_in_the_message() -> None:
    from contract_operator.core.status import conditions_for

    topic = {"name": "onex.evt.router.a.v1", "partitions": 6, "config": {"retention.bytes": "10"}}
    seen = observed("onex.evt.router.a.v1", 3, **{"retention.bytes": "20"})
    cp = plan([contract("router", publish=[topic])], broker(seen)).contracts[0]
    drifted = next(c for c in conditions_for(cp) if c.type == "Drifted")
    assert drifted.message.startswith(
        "onex.evt.router.a.v1: partitions declared 6, actual 3; retention.bytes declared 10, "
        "actual 20. "
    )


def test_a_merged_snapshot_keeps_the_cluster_settings_and_every_name() -> None:
    from contract_operator.core.snapshot import ClusterSettings

    first = BrokerSnapshot(
        {"a": ObservedTopic("a", 1, 1)}, frozenset({"a", "x"}), ClusterSettings(3, True)
    )
    later = BrokerSnapshot(
        {"a": ObservedTopic("a", 2, 1), "b": ObservedTopic("b", 1, 1)}, frozenset({"a", "b"})
    )
    merged = first.merged(later)
    assert merged.topics == {"a": ObservedTopic("a", 2, 1), "b": ObservedTopic("b", 1, 1)}
    assert merged.all_names == {"a", "b", "x"}
    assert merged.cluster == ClusterSettings(3, True)


def test_near_miss_candidates_are_the_union_over_every_shape() -> None:
    view = FleetView(
        [
            contract("router", publish=["onex.evt.router.route-done.v1"]),
            contract("a", node="router", publish=["onex.evt.router.route-done.v2"]),
        ]
    )
    # Same but for case/'_', and same but one segment (the version): both are candidates.
    assert view.candidates("onex.evt.router.route_done.v1") >= {
        "onex.evt.router.route-done.v1",
        "onex.evt.router.route-done.v2",
    }


def test_without_kinds_a_kind_group_is_left_alone() -> None:
    rules = NamingRules(pattern=r"^(?P<kind>[a-z]+)\.(?P<producer>[a-z]+)$", kinds=frozenset())
    assert policy_params(rules)["kindPattern"] == rules.pattern


def test_recorded_ids_ignore_topics_and_ids_of_the_wrong_type() -> None:
    items = [
        {"metadata": {"namespace": "a", "name": "n1"}, "status": {"topics": 5}},
        {
            "metadata": {"namespace": "a", "name": "n2"},
            "status": {"topics": [{"name": "t", "topicId": 7, "previousTopicId": 8}]},
        },
    ]
    assert recorded_ids(items) == [RecordedId("a/n2", "t", None, None)]


def test_unowned_topics_under_the_producers_in_view_are_all_found() -> None:
    from contract_operator.core.unowned import unowned_topics

    kept = {f"onex.evt.mine.e{i}.v1" for i in range(20)}
    elsewhere = {f"onex.evt.other{i}.e.v1" for i in range(20)}
    found = unowned_topics([], kept | elsewhere, producers={"mine"})
    assert found.names == kept


def test_unowned_topics_are_sorted_by_producer_before_name() -> None:
    from contract_operator.core.unowned import unowned_topics

    rules = NamingRules(
        pattern=r"^(?P<kind>[a-z]+)\.(?P<event>[a-z]+)\.(?P<producer>[a-z]+)$",
        kinds=frozenset({"evt"}),
    )
    found = unowned_topics([], {"evt.a.zeta", "evt.b.alpha", "evt.c.alpha"}, rules)
    assert [t.name for t in found.topics] == ["evt.b.alpha", "evt.c.alpha", "evt.a.zeta"]


def test_liveness_hints_for_the_unowned_topics() -> None:
    from contract_operator.core.unowned import with_liveness

    unowned = _unowned(3)
    assert with_liveness(unowned, None) == {} and with_liveness(unowned, {}) == {}
    assert with_liveness(unowned, {"onex.evt.p0.t0.v1": 0, "onex.evt.p1.t1.v1": 12}) == {
        "onex.evt.p0.t0.v1": "empty (never written)",
        "onex.evt.p1.t1.v1": "written to (end offset 12)",
        "onex.evt.p0.t2.v1": "unknown",
    }


def test_conflicts_name_every_differing_field_of_each_later_declaration() -> None:
    from contract_operator.core.checks import check_contracts
    from contract_operator.model.problems import Problem, Severity

    topic = "onex.evt.router.done.v1"

    def declared(name: str, day: int, partitions: int, **config: str):  # type: ignore[no-untyped-def]
        return contract(
            name,
            node="router",
            publish=[{"name": topic, "partitions": partitions, "config": config}],
            created=f"2026-01-0{day}T00:00:00Z",
        )

    fleet = [
        declared("a", 1, 6, **{"retention.ms": "1"}),
        declared("b", 2, 6, **{"retention.ms": "1"}),  # the same: no conflict for b
        declared("c", 3, 3, **{"retention.ms": "2"}),
        declared("d", 4, 6, **{"retention.ms": "1", "cleanup.policy": "compact"}),
    ]
    conflicts = [p for p in check_contracts(fleet) if p.code == "conflict"]

    def problem(loser: str, mine: str, first: str) -> Problem:
        return Problem(
            Severity.ERROR,
            "conflict",
            f"{loser} publishes {topic} with {mine}, but agents/a declared it first with "
            f"{first}; the first declaration wins",
            f"Declare {first} in {loser}, or stop publishing {topic} there.",
            source=loser,
            contract=loser,
            topic=topic,
            field="spec.eventBus.publishTopics[0].name",
        )

    assert conflicts == [
        problem(
            "agents/c", "config.retention.ms=2, partitions=3", "config.retention.ms=1, partitions=6"
        ),
        problem("agents/d", "config.cleanup.policy=compact", "config.cleanup.policy=(unset)"),
    ]


def test_ratio_bound_equals_difflib_where_the_match_is_one_block() -> None:
    import difflib

    from contract_operator.core.nearmiss import ratio_bound

    for a, b in [("abc", "abd"), ("", ""), ("abc", ""), ("kitten", "sitting"), ("a", "a")]:
        assert ratio_bound(a, b) == difflib.SequenceMatcher(None, a, b).ratio(), (a, b)
    assert ratio_bound("abc", "abd") == 2.0 * 2 / 6


def test_a_declared_key_the_broker_does_not_report_does_not_hide_the_next_one() -> None:
    from contract_operator.core.drift import drift_of
    from contract_operator.model.contract import PublishTopic

    declared = PublishTopic(
        name="onex.evt.router.done.v1", config={"a.unreported": "x", "retention.ms": "2"}
    )
    (field,) = drift_of(declared, observed("onex.evt.router.done.v1", **{"retention.ms": "1"}))
    assert field.field == "retention.ms"


def test_declarations_that_differ_only_in_replication_factor_conflict() -> None:
    from contract_operator.core.checks import check_contracts

    topic = "onex.evt.router.done.v1"
    first = contract(
        "a",
        node="router",
        publish=[{"name": topic, "replicationFactor": 3}],
        created="2026-01-01T00:00:00Z",
    )
    later = contract(
        "b",
        node="router",
        publish=[{"name": topic, "replicationFactor": 1}],
        created="2026-01-02T00:00:00Z",
    )
    (conflict,) = [p for p in check_contracts([first, later]) if p.code == "conflict"]
    assert (
        "with replication_factor=1, but agents/a declared it first with replication_factor=3"
        in (conflict.message)
    )
