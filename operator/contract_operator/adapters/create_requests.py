"""What one CreateTopics request carries: the client library's request objects, with -1 for a
value left to the cluster, cut into batches the broker's controller accepts."""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from ..core.snapshot import TopicRequest

# Kafka's controller refuses a CreateTopics whose metadata records exceed 10,000 ("Unable to
# perform excessively large batch operation", POLICY_VIOLATION): one record per topic, one per
# partition, one per config entry. 9,000 per request leaves room for the estimate.
CREATE_RECORDS_PER_REQUEST = 9000
# Partitions assumed for a topic that leaves them to the cluster (num.partitions is unknown).
DEFAULT_PARTITIONS_GUESS = 12


def create_batches(requests: Sequence[NewTopic]) -> list[list[NewTopic]]:
    """`requests` in order, cut so that no request carries more than CREATE_RECORDS_PER_REQUEST
    metadata records: 10,000 new topics are two requests, not one the broker refuses."""
    batches: list[list[NewTopic]] = []
    current: list[NewTopic] = []
    records = 0
    for request in requests:
        partitions = (
            request.num_partitions if request.num_partitions > 0 else (DEFAULT_PARTITIONS_GUESS)
        )
        cost = 1 + partitions + len(request.config or {})
        if current and records + cost > CREATE_RECORDS_PER_REQUEST:
            batches.append(current)
            current, records = [], 0
        current.append(request)
        records += cost
    if current:
        batches.append(current)
    return batches


def refused_locally(exc: Exception) -> str:
    return kafka_reason(exc) if isinstance(exc, KafkaException) else str(exc)


def new_topic(request: TopicRequest) -> NewTopic:
    """The client library's request object for one topic; raises ValueError for values the
    library refuses before anything is sent (e.g. partitions outside 1..100000)."""
    # -1 asks the broker for its own default (KIP-464, CreateTopics v4+): an omitted value
    # means the cluster's default, never a guess such as 1.
    return NewTopic(
        request.name,
        num_partitions=-1 if request.partitions is None else request.partitions,
        replication_factor=-1 if request.replication_factor is None else request.replication_factor,
        config=dict(request.config),
    )


def kafka_reason(exc: KafkaException) -> str:
    """ "POLICY_VIOLATION: <the broker's words>", or the exception's text."""
    err = exc.args[0] if exc.args else None
    if isinstance(err, KafkaError):
        return f"{err.name()}: {err.str()}"
    return str(exc)
