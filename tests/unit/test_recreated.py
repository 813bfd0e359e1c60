"""Re-created topics, from recorded statuses and the broker's current ids (pure)."""

from __future__ import annotations

from contract_operator.core.recreated import RecordedId, recorded_ids, recreated_topics
from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic

T = "onex.evt.orders.placed.v1"


def _broker(topic_id: str | None) -> BrokerSnapshot:
    return BrokerSnapshot({T: ObservedTopic(T, 1, 1, {}, frozenset(), topic_id)})


def test_an_id_that_differs_from_the_recorded_one_is_a_recreation_not_yet_seen() -> None:
    (found,) = recreated_topics([RecordedId("a/orders", T, "old")], _broker("new"))
    assert (found.contract, found.topic, found.old_id, found.new_id) == (
        "a/orders",
        T,
        "old",
        "new",
    )
    assert "offsets on it are gone" in found.message


def test_the_same_id_is_not_a_recreation_and_an_unread_broker_proves_nothing() -> None:
    assert recreated_topics([RecordedId("a/orders", T, "same")], _broker("same")) == ()
    assert recreated_topics([RecordedId("a/orders", T, "old")], None) == ()
    assert recreated_topics([RecordedId("a/orders", T, "old")], BrokerSnapshot()) == ()


def test_a_recreation_the_operator_recorded_is_listed_with_both_ids() -> None:
    (found,) = recreated_topics([RecordedId("a/orders", T, "new", "old")], _broker("new"))
    assert (found.old_id, found.new_id) == ("old", "new")


def test_recorded_ids_survive_any_status_someone_patched_in() -> None:
    items = [
        {
            "metadata": {"namespace": "a", "name": "orders"},
            "status": {
                "topics": [
                    {"name": T, "topicId": "x", "previousTopicId": "w"},
                    {"name": 7},
                    "junk",
                    {"name": "other", "topicId": 5},
                ]
            },
        },
        {"metadata": {"namespace": "a", "name": "broken"}, "status": "garbage"},
        {"metadata": {"namespace": "a", "name": "list"}, "status": {"topics": "nope"}},
        {"metadata": None},
    ]
    assert recorded_ids(items) == [
        RecordedId("a/orders", T, "x", "w"),
        RecordedId("a/orders", "other", None, None),
    ]
