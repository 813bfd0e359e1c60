"""The broker adapter is create-only, and leaves omitted values to the cluster.

Driven through the real `Broker` with a recording AdminClient (tests/unit/fakes.FakeAdmin):
whatever path a create takes — new, already there (a race), refused — the only AdminClient
methods called are reads and `create_topics`, and an omitted partition count or replication
factor is sent as -1 (the broker's default, KIP-464), never as a guess.
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from contract_operator.adapters.broker import Broker, BrokerSettings, new_topic
from contract_operator.core.snapshot import TopicRequest

from .fakes import ALLOWED_CALLS, FakeAdmin, FakeTopic

TOPIC = "onex.evt.router.routing-complete.v1"


def _broker(admin: FakeAdmin) -> Broker:
    return Broker(BrokerSettings("127.0.0.1:9"), admin=admin)


def _create_and_read_back(admin: FakeAdmin, requests: list[TopicRequest]) -> None:
    broker = _broker(admin)
    outcome = broker.create_missing(requests)
    broker.after_create(outcome, keys={"retention.ms", "cleanup.policy"})


def test_a_topic_that_already_exists_is_only_read_never_altered_or_deleted() -> None:
    # Listed by nobody yet, but there when created: another creator won the race.
    admin = FakeAdmin(unlisted={TOPIC: FakeTopic(3, 1, {"retention.ms": "1000"})})
    request = TopicRequest(TOPIC, 6, 3, {"retention.ms": "604800000", "cleanup.policy": "delete"})

    outcome = _broker(admin).create_missing([request])
    assert outcome.already_existed == {TOPIC} and not outcome.failed
    after = _broker(admin).after_create(outcome, keys={"retention.ms"})

    assert admin.called() <= ALLOWED_CALLS, admin.calls
    assert admin.calls.count("create_topics") == 1
    # Read as the broker has it, not as declared: nothing was changed.
    assert (after.topics[TOPIC].partitions, after.topics[TOPIC].replication_factor) == (3, 1)
    assert admin.topics[TOPIC] == FakeTopic(3, 1, {"retention.ms": "1000"})


@pytest.mark.parametrize(
    "error",
    [
        KafkaError(KafkaError.INVALID_CONFIG, "Unknown topic config"),
        KafkaError(KafkaError.POLICY_VIOLATION, "refused by policy"),
        KafkaError(KafkaError.REQUEST_TIMED_OUT, "timed out"),
    ],
    ids=lambda e: e.name(),
)
def test_a_refused_create_is_neither_altered_nor_deleted(error: KafkaError) -> None:
    admin = FakeAdmin(refuse={TOPIC: error})
    _create_and_read_back(admin, [TopicRequest(TOPIC, 3, 3, {"cleanup.policy": "delete"})])
    assert admin.called() <= ALLOWED_CALLS, admin.calls


def test_new_and_existing_topics_together_make_only_reads_and_one_create() -> None:
    existing = "onex.evt.router.route-failed.v1"
    admin = FakeAdmin(unlisted={existing: FakeTopic(1, 1)})
    _create_and_read_back(
        admin, [TopicRequest(TOPIC, 3, 3), TopicRequest(existing, 12, 3, {"retention.ms": "1"})]
    )
    assert admin.called() <= ALLOWED_CALLS, admin.calls
    assert admin.calls.count("create_topics") == 1
    assert admin.topics[existing] == FakeTopic(1, 1)


def test_omitted_partitions_and_replication_factor_are_sent_as_minus_one() -> None:
    admin = FakeAdmin(defaults=(12, 3))
    _create_and_read_back(
        admin,
        [
            TopicRequest("onex.evt.a.both-default.v1", None, None),
            TopicRequest("onex.evt.a.partitions-default.v1", None, 2),
            TopicRequest("onex.evt.a.factor-default.v1", 4, None),
        ],
    )
    sent = {t.topic: (t.num_partitions, t.replication_factor) for t in admin.created}
    assert sent == {
        "onex.evt.a.both-default.v1": (-1, -1),
        "onex.evt.a.partitions-default.v1": (-1, 2),
        "onex.evt.a.factor-default.v1": (4, -1),
    }
    # What the cluster made of them is what the adapter reads back.
    assert admin.topics["onex.evt.a.both-default.v1"] == FakeTopic(12, 3)


def test_declared_values_are_sent_as_declared() -> None:
    request = new_topic(TopicRequest(TOPIC, 1, 1, {"retention.ms": "604800000"}))
    assert (request.num_partitions, request.replication_factor) == (1, 1)
    assert request.config == {"retention.ms": "604800000"}
