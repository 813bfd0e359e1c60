"""Reading the broker each cycle: one describe of the declared topics, with config reads
rotated so a resync at 10,000 topics stays one bounded request, and the broker-wide defaults
read rarely (they change what a contract means, but seldom change)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from ..adapters.broker import DESCRIBE_BATCH, Broker, BrokerError
from ..core.declared import declared_keys, declared_names
from ..core.planner import AUTO_CREATE_WARNING
from ..core.snapshot import BrokerSnapshot, ClusterSettings, ObservedTopic
from ..model.contract import Contract
from . import metrics
from .memory import without_gc

log = logging.getLogger("contract_operator.controller.reconciler")

# How often the broker-wide defaults (default.replication.factor, auto.create.topics.enable)
# are read again (every 5 minutes while they cannot be read, e.g. without the ACL).
CLUSTER_SETTINGS_SECONDS = 3600.0
CLUSTER_SETTINGS_UNREADABLE_SECONDS = 300.0


@dataclass(frozen=True)
class Observation:
    """One cycle's read of the broker: the snapshot, or why there is none."""

    snapshot: BrokerSnapshot | None
    error: str | None
    names: set[str]
    keys: set[str]
    configs_read: int = 0


class Observer:
    def __init__(self, broker: Broker, resync_seconds: float) -> None:
        self.broker = broker
        self.resync_seconds = resync_seconds
        # The broker as last read: the admission webhook answers from it, never from the broker.
        self.last_snapshot: BrokerSnapshot | None = None
        # When each topic's configs were last read, and the declared keys known then.
        self._described_at: dict[str, float] = {}
        self._described_keys: frozenset[str] = frozenset()
        self._declared_memo: tuple[list[Contract], set[str], set[str]] | None = None
        self._cluster = ClusterSettings()  # the broker-wide defaults, as last read
        self._cluster_at = float("-inf")

    async def observe(self, contracts: list[Contract]) -> Observation:
        """Describe what `contracts` declare; the cluster settings once the broker answered
        (so an outage costs no second timeout)."""
        names, keys = self.declared(contracts)
        reuse = self.config_reuse(names, keys)
        try:
            snapshot = await asyncio.to_thread(
                without_gc(self.broker.describe), names, keys, reuse, self._cluster
            )
        except BrokerError as exc:
            return Observation(None, str(exc), names, keys)
        configs_read = self.note_described(snapshot, reuse, keys)
        snapshot = replace(snapshot, cluster=await self.cluster_settings())
        self.last_snapshot = snapshot
        return Observation(snapshot, None, names, keys, configs_read)

    def declared(self, contracts: list[Contract]) -> tuple[set[str], set[str]]:
        """Topic names the contracts publish or subscribe to, and the config keys they declare;
        the last answer again while the contracts are the very same objects (an idle resync)."""
        memo = self._declared_memo
        if (
            memo is not None
            and len(memo[0]) == len(contracts)
            and all(a is b for a, b in zip(memo[0], contracts, strict=True))
        ):
            return memo[1], memo[2]
        names, keys = declared_names(contracts), declared_keys(contracts)
        self._declared_memo = (contracts, names, keys)
        return names, keys

    def config_reuse(
        self, names: Collection[str], keys: Collection[str]
    ) -> dict[str, ObservedTopic] | None:
        """The configs from the last snapshot this cycle may keep; None to read them all.

        Read each cycle: topics never described (new ones), and of the others those read
        longest ago, once they are a resync interval old, at most DESCRIBE_BATCH of them (one
        request). Up to DESCRIBE_BATCH declared topics, every resync re-reads every config,
        so drift made on the broker shows within one interval; beyond, a topic's configs are
        re-read every ceil(topics / DESCRIBE_BATCH) intervals, and a resync at 10,000 topics
        stays one bounded request (partitions and replication factor are always fresh). A
        newly declared config key reads everything again.
        """
        last = self.last_snapshot
        if last is None or not set(keys) <= self._described_keys:
            return None
        clock = time.monotonic()
        never = float("-inf")
        due = [
            name
            for name in names
            if name in last.topics
            and clock - self._described_at.get(name, never) >= self.resync_seconds
        ]
        due.sort(key=lambda name: self._described_at.get(name, never))
        refresh = set(due[:DESCRIBE_BATCH])
        return {name: t for name, t in last.topics.items() if name not in refresh}

    def note_described(
        self,
        snapshot: BrokerSnapshot,
        reuse: Mapping[str, ObservedTopic] | None,
        keys: Collection[str] | None,
    ) -> int:
        """Remember when the configs in `snapshot` (all but the reused ones) were read."""
        clock = time.monotonic()
        kept = reuse or {}
        read = [name for name in snapshot.topics if name not in kept]
        for name in read:
            self._described_at[name] = clock
        if keys is not None:
            if reuse is None:
                self._described_keys = frozenset(keys)
            # Topics no longer declared (or gone from the broker) need no date.
            for name in [n for n in self._described_at if n not in snapshot.topics]:
                del self._described_at[name]
        return len(read)

    async def cluster_settings(self) -> ClusterSettings:
        """The broker-wide defaults, read at start and then every CLUSTER_SETTINGS_SECONDS
        (one DescribeConfigs)."""
        clock = time.monotonic()
        readable = self._cluster.auto_create_topics is not None
        every = CLUSTER_SETTINGS_SECONDS if readable else CLUSTER_SETTINGS_UNREADABLE_SECONDS
        if clock - self._cluster_at < every:
            return self._cluster
        cluster = await asyncio.to_thread(self.broker.cluster_settings)
        self._cluster_at = clock
        if cluster.auto_create_topics is not None:
            metrics.AUTO_CREATE.set(1 if cluster.auto_create_topics else 0)
        if cluster.auto_create_topics and not self._cluster.auto_create_topics:
            log.warning("%s", AUTO_CREATE_WARNING.message)
        self._cluster = cluster
        return cluster
