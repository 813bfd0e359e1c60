"""Topics on the broker that look like ours but that no contract publishes: left behind after a
rename or a removed node, invisible until someone lists them.

Pure and cheap (one pass over the broker's topic names), so the operator can run it every
resync for a gauge and a log line, and `report` / `graph` can show the same list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .naming import NamingRules, parse_topic

if TYPE_CHECKING:
    from ..model.contract import Contract

NO_PRODUCER = ""  # group key when the naming pattern has no producer segment
SUMMARY_NAMES = 5


@dataclass(frozen=True)
class UnownedTopic:
    """A topic on the broker that matches the naming rules and that no contract publishes."""

    name: str
    kind: str | None
    producer: str | None
    # Contracts (keys) that still subscribe to it: their wire is broken although the topic
    # exists, which is how a rename that forgot a consumer looks.
    subscribers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unowned:
    """The unowned topics, sorted by producer segment then name."""

    topics: tuple[UnownedTopic, ...] = ()

    def __len__(self) -> int:
        return len(self.topics)

    def __bool__(self) -> bool:
        return bool(self.topics)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(t.name for t in self.topics)

    @property
    def by_producer(self) -> dict[str, tuple[UnownedTopic, ...]]:
        """Producer segment -> its unowned topics ("" when the pattern has no producer)."""
        groups: dict[str, list[UnownedTopic]] = {}
        for topic in self.topics:
            groups.setdefault(topic.producer or NO_PRODUCER, []).append(topic)
        return {producer: tuple(topics) for producer, topics in groups.items()}

    def summary(self, limit: int = SUMMARY_NAMES) -> str:
        """One line for a log: how many, per producer, and the first few names."""
        if not self.topics:
            return "no unowned topics"
        groups = ", ".join(
            f"{producer or '(no producer)'}: {len(topics)}"
            for producer, topics in self.by_producer.items()
        )
        names = ", ".join(t.name for t in self.topics[:limit])
        more = f" and {len(self.topics) - limit} more" if len(self.topics) > limit else ""
        still = sum(1 for t in self.topics if t.subscribers)
        subscribed = f"; {still} still subscribed to" if still else ""
        return f"{len(self.topics)} unowned topics ({groups}){subscribed}: {names}{more}"


def unowned_topics(
    contracts: Iterable[Contract],
    broker_names: Iterable[str],
    rules: NamingRules | None = None,
    *,
    producers: Collection[str] | None = None,
) -> Unowned:
    """Topics in `broker_names` (e.g. `BrokerSnapshot.all_names`) that match the naming
    pattern and an allowed kind but that no contract in `contracts` publishes.

    A topic counts as owned when any contract declares it in its publish list, even a
    declaration that breaks a rule (conflict, foreign producer): that contract's own error
    already reports it. Names outside the pattern (broker internals such as
    `__consumer_offsets`, other teams' topics) are not ours and never listed.
    Each result names the contracts that still subscribe to it.

    `producers` narrows the answer to topics under those producer segments (plus any topic a
    contract subscribes to), for a view of part of the fleet (e.g. some namespaces): the rest
    of the broker belongs to contracts that were not read, not to nobody.
    """
    rules = rules or NamingRules()
    published: set[str] = set()
    subscribers: dict[str, list[str]] = {}
    for contract in contracts:
        published.update(t.name for t in contract.published)
        for name in contract.subscribed:
            subscribers.setdefault(name, []).append(contract.key)
    found = []
    for name in set(broker_names) - published:
        parts = parse_topic(name, rules)
        if parts is None or (rules.kinds and parts.kind not in rules.kinds):
            continue
        if producers is not None and parts.producer not in producers and name not in subscribers:
            continue
        found.append(
            UnownedTopic(name, parts.kind, parts.producer, tuple(sorted(subscribers.get(name, ()))))
        )
    found.sort(key=lambda t: (t.producer or NO_PRODUCER, t.name))
    return Unowned(tuple(found))


def liveness(end_offset: int | None) -> str:
    """A cheap hint from a topic's summed end offsets: never written, or written to (its data
    may have expired since: the end offset only grows)."""
    if end_offset is None:
        return "unknown"
    return "empty (never written)" if end_offset == 0 else f"written to (end offset {end_offset})"


def with_liveness(unowned: Unowned, end_offsets: Mapping[str, int | None] | None) -> dict[str, str]:
    """Topic name -> liveness hint, for the topics `end_offsets` covers."""
    if not end_offsets:
        return {}
    return {t.name: liveness(end_offsets.get(t.name)) for t in unowned.topics}
