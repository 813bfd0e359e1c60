"""The only code that talks to the Kafka-API broker: batched reads and `create_topics`, no more.

Create-only is enforced by construction: this adapter never calls alter_configs,
incremental_alter_configs, create_partitions, delete_topics, or any call that changes a
consumer group (alter/delete offsets, delete groups); reading groups is ListGroups,
DescribeGroups and OffsetFetch. Tests assert that the AdminClient methods it touches are
exactly the read calls and `create_topics`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

from ..core.adopt import GroupReading
from ..core.snapshot import (
    BrokerSnapshot,
    ClusterSettings,
    CreateResult,
    ObservedTopic,
    TopicRequest,
)
from .broker_settings import BrokerError as BrokerError
from .broker_settings import BrokerSettings as BrokerSettings
from .create_requests import create_batches, kafka_reason, new_topic, refused_locally

log = logging.getLogger(__name__)

# CreateTopics refusals that the same request will meet again: not worth re-sending every cycle.
# INVALID_REPLICATION_FACTOR is not one of them: Kafka answers it when fewer brokers are
# registered than the factor asks for, which a broker coming back cures (so it backs off, up
# to TRANSIENT_RETRY_CAP_SECONDS, instead of waiting an hour).
PERMANENT_CREATE_ERRORS = frozenset(
    {
        KafkaError.INVALID_CONFIG,
        KafkaError.INVALID_PARTITIONS,
        KafkaError.INVALID_REPLICA_ASSIGNMENT,
        KafkaError.POLICY_VIOLATION,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.INVALID_REQUEST,
        KafkaError.UNSUPPORTED_VERSION,
    }
)
# Topics per DescribeConfigs request: bounds the memory one answer takes (see
# Broker._describe_configs) and what the reconcile loop re-reads per resync.
DESCRIBE_BATCH = 2000
# How long a cycle may spend at least learning what a create made (Broker.describe_topics; the
# broker timeout if longer): a broker that does not know the new topics yet is asked again.
AFTER_CREATE_SECONDS = 2.0
# Groups per DescribeGroups request when reading consumer groups (Broker.consumer_groups).
GROUP_BATCH = 100
# The topic named in the Metadata request that finds the brokers' ids (any name would do).
CLUSTER_PROBE_TOPIC = "__consumer_offsets"
# librdkafka's own codes whose message names the real cause of a failed connection.
_CAUSE_CODES = frozenset(
    {KafkaError._TRANSPORT, KafkaError._AUTHENTICATION, KafkaError._SSL, KafkaError._RESOLVE}
)


class Broker:
    """Batched, create-only access to the broker. Thread-safe counters of admin requests."""

    def __init__(self, settings: BrokerSettings, admin: Any | None = None) -> None:
        self.settings = settings
        self._cause: str | None = None  # librdkafka's last connection error, for messages
        if admin is None:
            conf = settings.client_config()
            conf["error_cb"] = self._on_error
            admin = AdminClient(conf)
        self._admin = admin
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def _count(self, operation: str, error: bool = False) -> None:
        with self._lock:
            (self.errors if error else self.requests)[operation] += 1

    def _where(self) -> str:
        return f"broker {self.settings.bootstrap_servers} ({self.settings.security_protocol})"

    def _on_error(self, error: KafkaError) -> None:
        """librdkafka's error callback: keep the latest real cause of a connection failure."""
        if error.code() in _CAUSE_CODES:
            self._cause = self._redact(error.str())

    def _redact(self, text: str) -> str:
        secret = self.settings.sasl_password
        return text.replace(secret, "***") if secret else text

    def _unreachable(self, exc: KafkaException, timeout: float) -> BrokerError:
        """The error for a failed Metadata request, with the transport's real cause if known."""
        with_cause = getattr(self._admin, "poll", None)
        if with_cause is not None:
            self._cause = None
            with_cause(0)  # serves the error callback: TLS and SASL failures arrive there
        cause = f" (cause: {self._cause})" if self._cause else ""
        return BrokerError(
            f"cannot reach {self._where()} within {timeout:g} s: {kafka_reason(exc)}{cause}; "
            "check the address, that the broker is up, and the security settings"
        )

    def _list_topics(self) -> dict[str, Any]:
        """One Metadata request: every topic the broker lists without an error, by name."""
        timeout = self.settings.timeout_s
        self._count("metadata")
        try:
            metadata = self._admin.list_topics(timeout=timeout)
        except KafkaException as exc:
            self._count("metadata", error=True)
            raise self._unreachable(exc, timeout) from exc
        return {name: t for name, t in metadata.topics.items() if t.error is None}

    def topic_names(self) -> frozenset[str]:
        """Every topic the broker lists (one Metadata request)."""
        return frozenset(self._list_topics())

    def describe(
        self,
        names: Iterable[str],
        keys: Collection[str] | None = None,
        reuse: Mapping[str, ObservedTopic] | None = None,
        cluster: ClusterSettings | None = None,
    ) -> BrokerSnapshot:
        """Partitions, replication factor and configs of `names`, in batched requests.

        One Metadata request lists every topic (its replica lists give the replication
        factor), then DescribeConfigs requests (DESCRIBE_BATCH topics each) cover the named
        topics that exist and are not in `reuse`.
        With `keys`, only those config entries are kept: a broker reports ~30 per topic, and
        at 10,000 topics keeping them all would dominate the operator's memory. Topics in
        `reuse` keep the configs described there (partitions and replicas are always fresh):
        DescribeConfigs is the costly half, ~0.2 ms of CPU per topic.
        """
        listed = self._list_topics()
        wanted = sorted(set(names) & listed.keys())
        reuse = reuse or {}
        fresh = [name for name in wanted if name not in reuse]
        # No declared key at all: nothing to compare, so no DescribeConfigs request.
        configs = self._describe_configs(fresh, keys) if fresh and keys != set() else {}
        # Topic ids (DescribeTopics): a topic deleted and re-created under the same name gets
        # a new one, which nothing else in the metadata reveals. Read with the configs, for
        # the topics whose configs are read this cycle (new ones, then a rotation of at most
        # DESCRIBE_BATCH per resync); the others keep the id they were read with.
        ids = {n: t.topic_id for n, t in self.describe_topics(fresh).items()} if fresh else {}
        ids.update({n: reuse[n].topic_id for n in wanted if n in reuse and n not in ids})
        topics = {}
        for name in wanted:
            partitions = listed[name].partitions
            replication = max((len(p.replicas) for p in partitions.values()), default=0)
            if name in configs or name not in reuse:
                values, dynamic = configs.get(name, ({}, frozenset()))
            else:
                values, dynamic = dict(reuse[name].config), reuse[name].dynamic
            topics[name] = ObservedTopic(
                name, len(partitions), replication, values, dynamic, ids.get(name)
            )
        return BrokerSnapshot(
            topics=topics, all_names=frozenset(listed), cluster=cluster or ClusterSettings()
        )

    def _describe_configs(
        self, names: Sequence[str], keys: Collection[str] | None = None
    ) -> dict[str, tuple[dict[str, str | None], frozenset[str]]]:
        """Configs of `names`, DESCRIBE_BATCH topics per request, each answer reduced to the
        wanted keys before the next request: a broker that ignores the requested config names
        answers with every entry of every topic (~30 objects each), and at 10,000 topics one
        such answer alone would hold ~200 MB."""
        out: dict[str, tuple[dict[str, str | None], frozenset[str]]] = {}
        for start in range(0, len(names), DESCRIBE_BATCH):
            out.update(self._describe_batch(names[start : start + DESCRIBE_BATCH], keys))
        return out

    def _describe_batch(
        self, names: Sequence[str], keys: Collection[str] | None
    ) -> dict[str, tuple[dict[str, str | None], frozenset[str]]]:
        timeout = self.settings.timeout_s
        self._count("describe_configs")
        # Naming the keys asks the broker for those entries only (Kafka and Redpanda honour
        # it; a broker that ignores it returns all, which `keys` then filters here).
        wanted = {k: "" for k in keys} if keys else None
        futures = self._admin.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, n, set_config=wanted) for n in names],
            request_timeout=timeout,
        )
        out: dict[str, tuple[dict[str, str | None], frozenset[str]]] = {}
        refused: dict[str, str] = {}
        for resource, future in futures.items():
            try:
                entries = future.result(timeout=timeout + 1)
            except KafkaException as exc:
                code = _code(exc)
                if code == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    continue  # deleted between Metadata and DescribeConfigs: simply absent
                if code is None or code < 0:  # the client's own error: the request failed
                    self._count("describe_configs", error=True)
                    raise BrokerError(
                        f"{self._where()} failed to describe configs of {resource.name}: "
                        f"{kafka_reason(exc)}"
                    ) from exc
                refused[resource.name] = kafka_reason(exc)  # the broker's answer for this topic
                continue
            if keys is not None:
                entries = {k: e for k, e in entries.items() if k in keys}
            values = {k: e.value for k, e in entries.items()}
            dynamic = frozenset(
                k for k, e in entries.items() if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
            )
            out[resource.name] = (values, dynamic)
        if refused:
            self._count("describe_configs", error=True)
            first, reason = next(iter(refused.items()))
            # One topic the broker will not describe (e.g. no DescribeConfigs ACL on it): its
            # declared keys show as unverifiable on that topic alone, never the whole fleet.
            log.warning(
                "%s refused to describe the configs of %d topic(s), e.g. %s: %s",
                self._where(),
                len(refused),
                first,
                reason,
            )
        return out

    def _send(
        self, requests: list[NewTopic], failed: dict[str, str], permanent: set[str]
    ) -> dict[str, Any]:
        """One CreateTopics request; the futures by topic name.

        The client library checks every topic of a request before sending any (partitions
        within 1..100000, ...), and one refused topic refuses the whole request. The request
        is then split in halves until the refused topics stand alone, so every other topic is
        still sent: a few extra requests for a poisoned batch, none for a clean one.
        """
        timeout = self.settings.timeout_s
        self._count("create_topics")
        try:
            futures: dict[str, Any] = self._admin.create_topics(
                requests, operation_timeout=timeout, request_timeout=timeout
            )
            return futures
        except (KafkaException, ValueError, TypeError) as exc:
            if len(requests) == 1:
                topic = requests[0].topic
                failed[topic] = f"the Kafka client refuses this request: {refused_locally(exc)}"
                permanent.add(topic)
                return {}
        middle = len(requests) // 2
        return {
            **self._send(requests[:middle], failed, permanent),
            **self._send(requests[middle:], failed, permanent),
        }

    def create_missing(self, topics: Sequence[TopicRequest]) -> CreateResult:
        """Create `topics` in as few CreateTopics requests as the broker takes (see
        create_batches). Existing topics are never touched.

        A topic whose request the client library refuses to build (a value out of its range)
        fails alone, permanently; the others are still sent.
        """
        if not topics:
            return CreateResult()
        timeout = self.settings.timeout_s
        failed: dict[str, str] = {}
        permanent: set[str] = set()
        requests = []
        for t in topics:
            try:
                requests.append(new_topic(t))
            except (ValueError, TypeError) as exc:
                failed[t.name] = f"the Kafka client refuses this request: {exc}"
                permanent.add(t.name)
        futures: dict[str, Any] = {}
        for batch in create_batches(requests):
            futures.update(self._send(batch, failed, permanent))
        created, existed = set(), set()
        for name, future in futures.items():
            try:
                future.result(timeout=timeout + 1)
                created.add(name)
            except KafkaException as exc:
                code = _code(exc)
                if code == KafkaError.TOPIC_ALREADY_EXISTS:
                    existed.add(name)
                    continue
                failed[name] = kafka_reason(exc)
                if code in PERMANENT_CREATE_ERRORS:
                    permanent.add(name)
            except Exception as exc:  # a timed-out future: the request never completed
                failed[name] = f"no answer from {self._where()} within {timeout:g} s ({exc!r})"
        if failed:
            self._count("create_topics", error=True)
        return CreateResult(frozenset(created), frozenset(existed), failed, frozenset(permanent))

    def after_create(
        self, outcome: CreateResult, keys: Collection[str] | None = None
    ) -> BrokerSnapshot:
        """What the broker holds after `outcome`, to merge into the cycle's snapshot.

        The created topics: partitions, replication factor and topic id in one request (what
        the cluster made of values left to it), so the first status is complete. Topics that
        already existed (another creator won the race): described in full, configs included,
        since they are now compared with the declaration like any existing topic.
        """
        topics: dict[str, ObservedTopic] = {}
        names: set[str] = set()
        if outcome.created:
            # Up to the broker timeout: every created topic described means its first status
            # is its last (a topic described later would be a second write, for its id).
            budget = max(AFTER_CREATE_SECONDS, self.settings.timeout_s)
            topics.update(self.describe_topics(outcome.created, budget_s=budget))
            names |= outcome.created
        if outcome.already_existed:
            raced = self.describe(outcome.already_existed, keys)
            topics.update(raced.topics)
            names |= raced.all_names
        return BrokerSnapshot(topics, frozenset(names))

    def describe_topics(
        self, names: Collection[str], budget_s: float | None = None
    ) -> dict[str, ObservedTopic]:
        """Partitions, replication factor and topic id of `names` (Metadata requests).

        No configs: this is what a create made of values left to the cluster (-1), read
        right after it so the first status carries them. A broker's metadata trails the
        controller by a moment, and librdkafka keeps asking about a topic its broker does
        not know yet until the request times out: with `budget_s`, each request gets what is
        left of that budget and unknown topics are asked again 0.25 s later until it is spent.
        A topic still unknown (or an unanswered request) is left out: the next cycle's
        describe has it. The budget bounds what a slow broker can add to a cycle.
        """
        from confluent_kafka import TopicCollection

        deadline = time.monotonic() + (budget_s or self.settings.timeout_s)
        out: dict[str, ObservedTopic] = {}
        pending = sorted(names)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            futures: dict[str, Any] = {}
            try:
                # At most DESCRIBE_BATCH names a request: asked for 10,000 at once, Kafka 4.4
                # answers UNKNOWN_TOPIC_OR_PART for thousands of topics it has.
                for start in range(0, len(pending), DESCRIBE_BATCH):
                    self._count("describe_topics")
                    futures.update(
                        self._admin.describe_topics(
                            TopicCollection(pending[start : start + DESCRIBE_BATCH]),
                            request_timeout=max(0.2, left),
                        )
                    )
            except KafkaException:
                self._count("describe_topics", error=True)
                return out
            for name, future in futures.items():
                try:
                    d = future.result(timeout=max(0.2, left) + 1)
                except Exception:
                    continue
                replication = max((len(p.replicas) for p in d.partitions), default=0)
                out[name] = ObservedTopic(
                    name, len(d.partitions), replication, topic_id=kafka_topic_id(d.topic_id)
                )
            pending = [n for n in pending if n not in out]
            if pending and budget_s is None:
                break
            if pending:
                time.sleep(0.25)
        return out

    def cluster_settings(self) -> ClusterSettings:
        """The broker-wide defaults that change what a contract means, from one broker's
        DescribeConfigs (Kafka keeps them alike on every broker). Needs DESCRIBE_CONFIGS on
        the cluster; without it (or from a broker that does not report them) the values are
        None and the rules that need them stay quiet."""
        timeout = self.settings.timeout_s
        try:
            # Metadata for one topic lists every broker too, without the whole topic list.
            brokers = sorted(self._admin.list_topics(CLUSTER_PROBE_TOPIC, timeout=timeout).brokers)
        except KafkaException:
            return ClusterSettings()
        if not brokers:
            return ClusterSettings()
        self._count("describe_configs")
        wanted = {"default.replication.factor": "", "auto.create.topics.enable": ""}
        resource = ConfigResource(ConfigResource.Type.BROKER, str(brokers[0]), set_config=wanted)
        try:
            (future,) = self._admin.describe_configs([resource], request_timeout=timeout).values()
            entries = future.result(timeout=timeout + 1)
        except Exception:  # refused (no ACL) or unanswered: unknown, never an error
            self._count("describe_configs", error=True)
            return ClusterSettings()
        factor = getattr(entries.get("default.replication.factor"), "value", None)
        auto = getattr(entries.get("auto.create.topics.enable"), "value", None)
        return ClusterSettings(
            default_replication_factor=int(factor) if factor and factor.isdigit() else None,
            auto_create_topics=None if auto is None else auto.strip().lower() == "true",
        )

    def end_offsets(self, names: Iterable[str]) -> dict[str, int | None]:
        """Each topic's end offsets summed over its partitions (0: never written), read-only.

        One Metadata request for the partition counts, then one ListOffsets request (latest)
        for every partition of every named topic. A topic that is gone or whose offsets the
        broker refuses maps to None: this is a hint, never a reason to fail.
        """
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        wanted = set(names)
        if not wanted:
            return {}
        timeout = self.settings.timeout_s
        listed = self._list_topics()
        requests = {
            TopicPartition(name, p): OffsetSpec.latest()  # type: ignore[no-untyped-call]
            for name in sorted(wanted & listed.keys())
            for p in listed[name].partitions
        }
        out: dict[str, int | None] = dict.fromkeys(wanted)
        if not requests:
            return out
        self._count("list_offsets")
        futures = self._admin.list_offsets(requests, request_timeout=timeout)
        totals: dict[str, int] = {}
        refused: set[str] = set()
        for tp, future in futures.items():
            try:
                totals[tp.topic] = totals.get(tp.topic, 0) + max(
                    0, future.result(timeout=timeout + 1).offset
                )
            except Exception:  # a refused or unanswered partition: no hint for that topic
                refused.add(tp.topic)
        if refused:
            self._count("list_offsets", error=True)
        out.update({name: total for name, total in totals.items() if name not in refused})
        return out

    def consumer_groups(self) -> GroupReading:
        """Every consumer group and the topics it reads, read-only: one ListGroups request,
        DescribeGroups (GROUP_BATCH groups each) for the members' assignments, and one
        OffsetFetch per group (librdkafka sends one group per request), all in flight at once.

        A group the broker refuses to describe (no DESCRIBE ACL on it) is named in
        `unreadable` with the broker's reason, never guessed.
        """
        from confluent_kafka import ConsumerGroupTopicPartitions

        timeout = self.settings.timeout_s
        self._count("list_groups")
        try:
            listed = self._admin.list_consumer_groups(request_timeout=timeout).result(
                timeout=timeout + 1
            )
        except KafkaException as exc:
            self._count("list_groups", error=True)
            raise BrokerError(
                f"{self._where()} failed to list consumer groups: {kafka_reason(exc)}"
            ) from exc
        ids = sorted(g.group_id for g in listed.valid)
        topics: dict[str, set[str]] = {g: set() for g in ids}
        unreadable: dict[str, str] = {}
        offsets: dict[str, Any] = {}
        for group in ids:
            self._count("offset_fetch")
            offsets.update(
                self._admin.list_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
                )
            )
        described: dict[str, Any] = {}
        for start in range(0, len(ids), GROUP_BATCH):
            self._count("describe_groups")
            described.update(
                self._admin.describe_consumer_groups(
                    ids[start : start + GROUP_BATCH], request_timeout=timeout
                )
            )
        for group, future in offsets.items():
            try:
                found = future.result(timeout=timeout + 1).topic_partitions or []
                topics[group].update(tp.topic for tp in found if tp.offset >= 0)
            except KafkaException as exc:
                unreadable[group] = kafka_reason(exc)
        for group, future in described.items():
            try:
                for member in future.result(timeout=timeout + 1).members:
                    assigned = member.assignment.topic_partitions if member.assignment else []
                    topics[group].update(tp.topic for tp in assigned)
            except KafkaException as exc:
                unreadable.setdefault(group, kafka_reason(exc))
        if unreadable:
            self._count("offset_fetch", error=True)
        return GroupReading(
            {g: frozenset(t) for g, t in topics.items() if g not in unreadable}, unreadable
        )


def kafka_topic_id(uuid: Any) -> str | None:
    """A topic id as Kafka prints it (base64url, no padding); librdkafka's str() uses the
    standard alphabet. None for an absent or all-zero id."""
    if uuid is None:
        return None
    text = str(uuid).replace("+", "-").replace("/", "_").rstrip("=")
    return None if text.strip("A") == "" else text


def _code(exc: KafkaException) -> Any:
    err = exc.args[0] if exc.args else None
    return err.code() if isinstance(err, KafkaError) else None
