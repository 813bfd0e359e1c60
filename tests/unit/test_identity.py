"""Topic identity across cycles and restarts (controller/identity.py)."""

from __future__ import annotations

from contract_operator.controller.identity import TopicIdentity
from contract_operator.controller.records import Record
from contract_operator.core.planner import plan
from contract_operator.core.snapshot import BrokerSnapshot, CreateResult, ObservedTopic

from .factories import contract

T = "onex.evt.orders.placed.v1"


def _broker(topic_id: str) -> BrokerSnapshot:
    return BrokerSnapshot({T: ObservedTopic(T, 1, 1, {}, frozenset(), topic_id)}, frozenset({T}))


def _record(status: dict) -> Record:
    return Record("agents", "orders", "uid", 1, status, contract("orders", publish=[T]))


def test_a_new_id_between_two_cycles_is_a_recreation_and_the_same_id_is_not() -> None:
    identity = TopicIdentity()
    assert identity.note(_broker("a"), CreateResult()) == {}
    assert identity.note(_broker("a"), CreateResult()) == {}
    fresh = identity.note(_broker("b"), CreateResult())
    assert "re-created outside the operator (topic id a -> b)" in fresh[T]
    again = identity.note(_broker("c"), CreateResult(created=frozenset({T})))
    assert "re-created by it from the contract" in again[T]


def test_after_a_restart_the_recorded_id_makes_a_recreation_meanwhile_noticed() -> None:
    identity = TopicIdentity()
    identity.learn([_record({"topics": [{"name": T, "topicId": "a"}]})])
    assert "topic id a -> b" in identity.note(_broker("b"), CreateResult())[T]


def test_a_recreation_seen_before_the_restart_keeps_its_warning_and_old_id() -> None:
    identity = TopicIdentity()
    status = {"topics": [{"name": T, "topicId": "b", "previousTopicId": "a"}]}
    identity.learn([_record(status), Record("agents", "junk", None, 1, {"topics": 3}, None)])
    assert identity.note(_broker("b"), CreateResult()) == {}  # nothing new since
    (cp,) = plan([contract("orders", publish=[T])], _broker("b")).contracts
    annotated = identity.annotate(cp)
    assert annotated.topics[0].previous_topic_id == "a"
    assert any(p.code == "topic-recreated" for p in annotated.problems)
