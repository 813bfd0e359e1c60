"""What the broker has, as plain values: the planner's only view of the outside world."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ObservedTopic:
    """One topic as the broker describes it.

    `config` holds every config key the broker reported for the topic (value may be None for
    sensitive keys); `dynamic` names the keys set on the topic itself rather than inherited
    from broker defaults.
    """

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str | None] = field(default_factory=dict)
    dynamic: frozenset[str] = frozenset()
    # Kafka's topic id (base64url, as kafka-topics.sh prints it), when the broker reported it:
    # a topic deleted and re-created under the same name gets a new one.
    topic_id: str | None = None


@dataclass(frozen=True)
class ClusterSettings:
    """Broker-wide settings that change what a contract means (None: not readable)."""

    default_replication_factor: int | None = None
    # Kafka's default is true: a consumer's metadata request for a missing topic creates it,
    # so a subscription to a typo "works" and the broken wire hides on the broker.
    auto_create_topics: bool | None = None


@dataclass(frozen=True)
class BrokerSnapshot:
    """A consistent-enough picture of the broker taken in one batched pass.

    `topics` describes the topics the contracts care about; `all_names` is every topic name
    the broker listed, so the planner can recognise "a topic that used to exist".
    """

    topics: Mapping[str, ObservedTopic] = field(default_factory=dict)
    all_names: frozenset[str] = frozenset()
    cluster: ClusterSettings = field(default_factory=ClusterSettings)

    def get(self, name: str) -> ObservedTopic | None:
        return self.topics.get(name)

    def merged(self, other: BrokerSnapshot) -> BrokerSnapshot:
        """This snapshot updated with a later, partial one (e.g. topics described after a race)."""
        return BrokerSnapshot(
            {**self.topics, **other.topics}, self.all_names | other.all_names, self.cluster
        )


@dataclass(frozen=True)
class TopicRequest:
    """A topic to create, exactly as declared by the contract that owns it."""

    name: str
    partitions: int | None  # None asks the broker for its default (KIP-464)
    replication_factor: int | None
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateResult:
    """What one CreateTopics request did."""

    created: frozenset[str] = frozenset()
    # Created by someone else between our describe and our create: a race, not an error.
    already_existed: frozenset[str] = frozenset()
    failed: Mapping[str, str] = field(default_factory=dict)
    # Of `failed`: refusals that will not change by retrying the same request (an invalid
    # config, a replication factor the cluster cannot place, a policy, a value the client
    # library refuses). The loop does not re-send them until the declaration changes.
    permanent: frozenset[str] = frozenset()
