"""Topics deleted and re-created under the same name: their data and every consumer group's
offsets are gone, and nothing but the topic id tells.

Two sources, both pure: what the operator recorded in a contract's status (`topicId`, and
`previousTopicId` once it saw the id change), and the broker's current ids. A recorded id that
differs from the broker's is a re-creation the operator has not seen yet (it is stopped, or
has not run a cycle since).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contract_operator.core.snapshot import BrokerSnapshot


@dataclass(frozen=True)
class RecordedId:
    """One status.topics[] entry's identity, as the operator last wrote it."""

    contract: str
    topic: str
    topic_id: str | None
    previous_topic_id: str | None = None


@dataclass(frozen=True)
class Recreated:
    contract: str
    topic: str
    old_id: str
    new_id: str | None  # None: only recorded; the broker was not read

    @property
    def message(self) -> str:
        now = f" -> {self.new_id}" if self.new_id else ""
        return (
            f"deleted and re-created (topic id {self.old_id}{now}): the data it held and "
            "every consumer group's offsets on it are gone"
        )


def recorded_ids(items: Iterable[Mapping[str, object]]) -> list[RecordedId]:
    """The ids in NodeContract objects' statuses. A status is anyone's to patch: whatever
    it holds is read defensively, never trusted to have a shape."""
    out: list[RecordedId] = []
    for obj in items:
        meta = obj.get("metadata")
        status = obj.get("status")
        if not isinstance(meta, Mapping) or not isinstance(status, Mapping):
            continue
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        entries = status.get("topics")
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                continue
            tid, prev = entry.get("topicId"), entry.get("previousTopicId")
            out.append(
                RecordedId(
                    key,
                    str(entry["name"]),
                    tid if isinstance(tid, str) else None,
                    prev if isinstance(prev, str) else None,
                )
            )
    return out


def recreated_topics(
    recorded: Iterable[RecordedId], snapshot: BrokerSnapshot | None
) -> tuple[Recreated, ...]:
    """Each (contract, topic) whose topic was re-created: as the operator recorded it, or
    because the broker's id now differs from the recorded one. Sorted by topic."""
    found: dict[tuple[str, str], Recreated] = {}
    for r in recorded:
        observed = snapshot.topics.get(r.topic) if snapshot is not None else None
        current = observed.topic_id if observed is not None else None
        if r.topic_id and current and current != r.topic_id:
            found[r.contract, r.topic] = Recreated(r.contract, r.topic, r.topic_id, current)
        elif r.previous_topic_id:
            found[r.contract, r.topic] = Recreated(
                r.contract, r.topic, r.previous_topic_id, r.topic_id
            )
    return tuple(sorted(found.values(), key=lambda x: (x.topic, x.contract)))
