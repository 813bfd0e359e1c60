"""Config reads stay bounded at any fleet size: DescribeConfigs in batches, and a resync
re-reads the configs read longest ago, one batch of them, until every topic had its turn."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigSource

from contract_operator.adapters.broker import DESCRIBE_BATCH, Broker, BrokerError, BrokerSettings
from contract_operator.controller.observation import Observer
from contract_operator.core.snapshot import BrokerSnapshot

from .factories import observed


class _Entry:
    def __init__(self, value: str) -> None:
        self.value = value
        self.source = ConfigSource.DYNAMIC_TOPIC_CONFIG.value


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self, timeout: float | None = None) -> Any:
        return self.value


class DescribingAdmin:
    """Lists `topics`; answers DescribeConfigs with every entry, as a broker that ignores the
    requested config names does (the testbed's does)."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = topics
        self.batches: list[int] = []

    def list_topics(self, timeout: float) -> Any:
        partition = SimpleNamespace(replicas=[1])
        meta = SimpleNamespace(error=None, partitions={0: partition})
        return SimpleNamespace(topics=dict.fromkeys(self.topics, meta))

    def describe_topics(self, collection: Any, **_: Any) -> dict[str, _Done]:
        """Topic ids: one made-up id per name."""
        partition = SimpleNamespace(replicas=[1])
        return {
            name: _Done(SimpleNamespace(topic_id=f"id-{name}", partitions=[partition]))
            for name in collection.topic_names
        }

    def describe_configs(self, resources: list[Any], **_: Any) -> dict[Any, _Done]:
        self.batches.append(len(resources))
        every = {"retention.ms": _Entry("1000"), "cleanup.policy": _Entry("delete")}
        return {r: _Done(every) for r in resources}


def test_describe_configs_goes_in_batches_and_keeps_only_the_declared_keys() -> None:
    names = [f"onex.evt.n{i}.done.v1" for i in range(2 * DESCRIBE_BATCH + 7)]
    admin = DescribingAdmin(names)
    snapshot = Broker(BrokerSettings("127.0.0.1:9"), admin=admin).describe(names, {"retention.ms"})
    assert admin.batches == [DESCRIBE_BATCH, DESCRIBE_BATCH, 7]
    assert len(snapshot.topics) == len(names)
    assert all(t.config == {"retention.ms": "1000"} for t in snapshot.topics.values())


def _reconciler() -> Observer:
    return Observer(broker=None, resync_seconds=60)  # type: ignore[arg-type]


def _snapshot(names: list[str]) -> BrokerSnapshot:
    topics = {n: observed(n, 1, 1, **{"retention.ms": "1000"}) for n in names}
    return BrokerSnapshot(topics, frozenset(names))


def test_a_resync_rereads_one_batch_oldest_first_until_every_topic_had_its_turn(
    monkeypatch: Any,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("contract_operator.controller.observation.time.monotonic", lambda: clock[0])
    names = [f"onex.evt.n{i}.done.v1" for i in range(2 * DESCRIBE_BATCH + 500)]
    keys = {"retention.ms"}
    loop = _reconciler()
    assert loop.config_reuse(names, keys) is None  # nothing read yet: everything

    loop.last_snapshot = _snapshot(names)
    assert loop.note_described(loop.last_snapshot, None, keys) == len(names)
    assert len(loop.config_reuse(names, keys) or {}) == len(names)  # nothing is due yet

    clock[0] += 60  # one resync later every topic is due; one batch is re-read per resync
    batches: list[set[str]] = []
    for _ in range(math.ceil(len(names) / DESCRIBE_BATCH)):
        reuse = loop.config_reuse(names, keys)
        assert reuse is not None
        due = {n for n in names if n not in reuse}
        assert 0 < len(due) <= DESCRIBE_BATCH
        # Oldest first: no topic is read twice before every topic was read once.
        unread = set(names).difference(*batches)
        assert due >= unread or due <= unread
        batches.append(due)
        loop.note_described(loop.last_snapshot, reuse, keys)
        clock[0] += 60
    assert set().union(*batches) == set(names)


def test_a_new_topic_is_read_at_once_and_a_new_key_rereads_everything(monkeypatch: Any) -> None:
    monkeypatch.setattr("contract_operator.controller.observation.time.monotonic", lambda: 5.0)
    names = ["onex.evt.a.done.v1", "onex.evt.b.done.v1"]
    loop = _reconciler()
    loop.last_snapshot = _snapshot(names)
    loop.note_described(loop.last_snapshot, None, {"retention.ms"})
    reuse = loop.config_reuse([*names, "onex.evt.c.done.v1"], {"retention.ms"})
    assert reuse is not None and "onex.evt.c.done.v1" not in reuse  # new: described
    assert set(reuse) == set(names)  # known and recent: kept
    assert loop.config_reuse(names, {"retention.ms", "cleanup.policy"}) is None


class _Refused:
    def __init__(self, code: int) -> None:
        self.code = code

    def result(self, timeout: float | None = None) -> Any:
        raise KafkaException(KafkaError(self.code, "refused"))


class RefusingAdmin(DescribingAdmin):
    """Answers DescribeConfigs, except with `code` for the topics in `refuse`."""

    def __init__(self, topics: list[str], refuse: set[str], code: int) -> None:
        super().__init__(topics)
        self.refuse, self.code = refuse, code

    def describe_configs(self, resources: list[Any], **kwargs: Any) -> dict[Any, Any]:
        answers: dict[Any, Any] = super().describe_configs(resources, **kwargs)
        return {
            r: _Refused(self.code) if r.name in self.refuse else answer
            for r, answer in answers.items()
        }


def test_a_topic_the_broker_will_not_describe_stays_that_topics_problem() -> None:
    names = ["onex.evt.a.done.v1", "onex.evt.secret.done.v1"]
    admin = RefusingAdmin(names, {names[1]}, KafkaError.TOPIC_AUTHORIZATION_FAILED)
    snapshot = Broker(BrokerSettings("127.0.0.1:9"), admin=admin).describe(names, {"retention.ms"})
    assert snapshot.topics[names[0]].config == {"retention.ms": "1000"}
    assert snapshot.topics[names[1]].config == {}  # its declared keys show as unverifiable


def test_a_failed_describe_request_is_still_a_broker_error() -> None:
    names = ["onex.evt.a.done.v1"]
    admin = RefusingAdmin(names, set(names), KafkaError._TIMED_OUT)
    with pytest.raises(BrokerError, match="_TIMED_OUT"):
        Broker(BrokerSettings("127.0.0.1:9"), admin=admin).describe(names, {"retention.ms"})
