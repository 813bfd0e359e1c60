"""status.topics[] entries as the CRD stores them (TopicStatus.to_dict): camelCase keys, and a
key only when it has a value."""

from __future__ import annotations

from contract_operator.core.drift import DriftField
from contract_operator.core.planner import PUBLISH, SUBSCRIBE, TopicState, TopicStatus

TOPIC = "onex.evt.router.routing-complete.v1"


def test_an_entry_with_every_field() -> None:
    entry = TopicStatus(
        TOPIC,
        PUBLISH,
        TopicState.DRIFTED,
        message="partitions declared 6, actual 3",
        drift=(DriftField("partitions", "6", "3"), DriftField("retention.ms", "2", "1", True)),
        partitions=3,
        replication_factor=1,
        unverifiable=("redpanda.remote.read",),
        topic_id="AAAAAAAAAAAAAAAAAAAAAQ",
        previous_topic_id="AAAAAAAAAAAAAAAAAAAAAg",
    )
    assert entry.to_dict() == {
        "name": TOPIC,
        "role": "publish",
        "state": "Drifted",
        "message": "partitions declared 6, actual 3",
        "topicId": "AAAAAAAAAAAAAAAAAAAAAQ",
        "previousTopicId": "AAAAAAAAAAAAAAAAAAAAAg",
        "partitions": 3,
        "replicationFactor": 1,
        "drift": [
            {"field": "partitions", "declared": "6", "actual": "3"},
            {"field": "retention.ms", "declared": "2", "actual": "1", "unsafe": True},
        ],
        "unverifiable": ["redpanda.remote.read"],
    }
    assert entry.unsafe


def test_an_entry_with_nothing_but_its_name_role_and_state() -> None:
    entry = TopicStatus(TOPIC, SUBSCRIBE, TopicState.PENDING)
    assert entry.to_dict() == {"name": TOPIC, "role": "subscribe", "state": "Pending"}
    assert not entry.unsafe


def test_zero_is_a_value() -> None:
    entry = TopicStatus(TOPIC, PUBLISH, TopicState.PRESENT, partitions=0, replication_factor=0)
    assert entry.to_dict()["partitions"] == 0 and entry.to_dict()["replicationFactor"] == 0
