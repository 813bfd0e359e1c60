"""Recording fakes for the two I/O edges, for unit tests that drive the real code above them.

`FakeAdmin` stands in for confluent-kafka's AdminClient under the real `Broker` adapter: it
holds topics in memory, answers the read calls and `create_topics` the way the client library
does, and records the name of every method called on it, including ones it does not define
(alter_configs, delete_topics, ...), so a test can assert what the adapter asked for.

`FakeKube` has the shape of adapters/kube.Kube: status patches and Events, recorded.
`FakeCluster` keeps NodeContract bodies and hands the reconciler their Records, with the
status last written (as the watch would deliver it back).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigSource

from contract_operator.controller.reconciler import Record, record_of

# The AdminClient calls a create-only adapter may make: reads, and create_topics.
READ_CALLS = frozenset(
    {"list_topics", "describe_configs", "describe_topics", "list_offsets", "poll"}
)
ALLOWED_CALLS = READ_CALLS | {"create_topics"}


class _Future:
    def __init__(self, value: Any = None, error: KafkaError | None = None) -> None:
        self.value, self.error = value, error

    def result(self, timeout: float | None = None) -> Any:
        if self.error is not None:
            raise KafkaException(self.error)
        return self.value


@dataclass
class _Partition:
    replicas: list[int]


@dataclass
class _TopicMeta:
    partitions: dict[int, _Partition]
    error: Any = None


@dataclass
class _Metadata:
    topics: dict[str, _TopicMeta]
    brokers: dict[int, Any]


@dataclass
class _Description:
    partitions: list[_Partition]
    topic_id: Any = None


@dataclass
class _Offset:
    offset: int


@dataclass
class _Entry:
    value: str | None
    source: int = ConfigSource.DYNAMIC_TOPIC_CONFIG.value


@dataclass
class FakeTopic:
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)


class FakeAdmin:
    """An in-memory broker behind the AdminClient interface; every call's name is recorded.

    `topics`: what the broker has. `unlisted`: topics the broker has but its metadata does not
    list yet (another creator won a race: create_topics answers TOPIC_ALREADY_EXISTS).
    `refuse`: create_topics answers this error for the topic. `cluster`: the broker-level
    configs (default.replication.factor ...). `defaults`: what -1 becomes on create.
    `down`: every request fails as an unreachable broker's would.
    """

    def __init__(
        self,
        topics: Mapping[str, FakeTopic] | None = None,
        *,
        unlisted: Mapping[str, FakeTopic] | None = None,
        refuse: Mapping[str, KafkaError] | None = None,
        cluster: Mapping[str, str] | None = None,
        defaults: tuple[int, int] = (3, 3),
    ) -> None:
        self.topics: dict[str, FakeTopic] = dict(topics or {})
        self.unlisted: dict[str, FakeTopic] = dict(unlisted or {})
        self.refuse: dict[str, KafkaError] = dict(refuse or {})
        self.cluster = dict(cluster or {"default.replication.factor": "3"})
        self.defaults = defaults
        self.down = False
        self.end_offsets: dict[str, int] = {}
        self.calls: list[str] = []
        self.created: list[Any] = []  # every NewTopic sent, in order

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # Any AdminClient method this fake does not define (alter_configs, delete_topics,
        # create_partitions, incremental_alter_configs, ...): recorded, answers nothing.
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> dict[Any, _Future]:
            self.calls.append(name)
            return {}

        return call

    def called(self) -> set[str]:
        return set(self.calls)

    def _check_up(self) -> None:
        if self.down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "Connection refused"))

    def poll(self, timeout: float = 0) -> int:
        self.calls.append("poll")
        return 0

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> _Metadata:
        self.calls.append("list_topics")
        self._check_up()
        listed = {
            name: _TopicMeta(
                {p: _Partition(list(range(t.replication_factor))) for p in range(t.partitions)}
            )
            for name, t in self.topics.items()
        }
        return _Metadata(listed, {1: object(), 2: object(), 3: object()})

    def describe_configs(self, resources: list[Any], **_: Any) -> dict[Any, _Future]:
        self.calls.append("describe_configs")
        self._check_up()
        out: dict[Any, _Future] = {}
        for resource in resources:
            if str(resource.restype).endswith("BROKER"):
                entries = {k: _Entry(v, 0) for k, v in self.cluster.items()}
                out[resource] = _Future(entries)
                continue
            topic = self.topics.get(resource.name)
            if topic is None:
                out[resource] = _Future(
                    error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, "unknown")
                )
                continue
            out[resource] = _Future({k: _Entry(v) for k, v in topic.config.items()})
        return out

    def describe_topics(self, collection: Any, **_: Any) -> dict[str, _Future]:
        self.calls.append("describe_topics")
        self._check_up()
        out: dict[str, _Future] = {}
        for name in collection.topic_names:
            topic = self.topics.get(name)
            if topic is None:
                out[name] = _Future(error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, "?"))
                continue
            parts = [_Partition(list(range(topic.replication_factor)))] * topic.partitions
            out[name] = _Future(_Description(parts))
        return out

    def list_offsets(self, requests: Mapping[Any, Any], **_: Any) -> dict[Any, _Future]:
        """Every partition's end offset: `end_offsets[topic]` (0, never written, if unset)."""
        self.calls.append("list_offsets")
        self._check_up()
        return {
            tp: _Future(_Offset(self.end_offsets.get(tp.topic, 0)))
            if tp.topic in self.topics
            else _Future(error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, "?"))
            for tp in requests
        }

    def create_topics(self, requests: list[Any], **_: Any) -> dict[str, _Future]:
        self.calls.append("create_topics")
        self._check_up()
        out: dict[str, _Future] = {}
        for request in requests:
            self.created.append(request)
            name = request.topic
            if name in self.refuse:
                out[name] = _Future(error=self.refuse[name])
            elif name in self.topics or name in self.unlisted:
                self.topics.setdefault(name, self.unlisted.pop(name, None) or self.topics[name])
                out[name] = _Future(
                    error=KafkaError(KafkaError.TOPIC_ALREADY_EXISTS, f"{name} already exists")
                )
            else:
                partitions = request.num_partitions
                factor = request.replication_factor
                self.topics[name] = FakeTopic(
                    self.defaults[0] if partitions == -1 else partitions,
                    self.defaults[1] if factor == -1 else factor,
                    dict(request.config or {}),
                )
                out[name] = _Future(None)
        return out


class FakeKube:
    """Status patches and Events, recorded; shaped like adapters/kube.Kube."""

    def __init__(self, cluster: FakeCluster | None = None) -> None:
        self.cluster = cluster
        self.writes: Counter[str] = Counter()
        self.patches: list[tuple[str, str, dict[str, Any]]] = []
        self.events: list[tuple[str, str, str, str]] = []  # (name, type, reason, message)

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        self.writes["status"] += 1
        self.patches.append((namespace, name, copy.deepcopy(dict(status))))
        if self.cluster is not None:
            self.cluster.set_status(namespace, name, status)
        return True

    def post_event(self, ref: Mapping[str, str], type_: str, reason: str, message: str) -> None:
        self.writes["event"] += 1
        self.events.append((ref["name"], type_, reason, message))

    def ping(self) -> None:
        pass

    def reasons(self, name: str | None = None) -> list[tuple[str, str]]:
        return [(t, r) for n, t, r, _ in self.events if name is None or n == name]


def manifest(
    name: str,
    publish: list[dict[str, Any] | str] | None = None,
    subscribe: list[str] | None = None,
    namespace: str = "agents",
    node: str | None = None,
) -> dict[str, Any]:
    topics = [{"name": p} if isinstance(p, str) else p for p in publish or []]
    return {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "node": node or name,
            "eventBus": {"publishTopics": topics, "subscribeTopics": list(subscribe or [])},
        },
    }


class FakeCluster:
    """NodeContract bodies as the watch delivers them: `view` is the reconciler's view."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies: dict[tuple[str, str], dict[str, Any]] = {}
        for body in bodies:
            self.apply(body)

    def apply(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        self.bodies[(meta["namespace"], meta["name"])] = copy.deepcopy(body)

    def delete(self, namespace: str, name: str) -> None:
        del self.bodies[(namespace, name)]

    def set_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        body = self.bodies.get((namespace, name))
        if body is not None:
            body["status"] = copy.deepcopy(dict(status))

    def status(self, name: str, namespace: str = "agents") -> dict[str, Any]:
        return self.bodies[(namespace, name)].get("status") or {}

    def condition(self, name: str, kind: str, namespace: str = "agents") -> dict[str, Any]:
        found = [c for c in self.status(name, namespace).get("conditions", []) if c["type"] == kind]
        assert found, f"{namespace}/{name} has no {kind} condition"
        return dict(found[0])

    def view(self) -> list[Record]:
        return [record_of(body) for body in self.bodies.values()]
