"""Who owns each topic, kept across cycles so a later declaration never takes a topic over
(see core/wiring._conflict): the contract that created it, or won it before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..core.planner import Plan, TopicState
from .records import Record

# A published topic in one of these states is on the broker under that contract's ownership.
OWNED_STATES = frozenset({TopicState.CREATED, TopicState.PRESENT, TopicState.DRIFTED})


class Owners:
    def __init__(self) -> None:
        self._owners: dict[str, str] = {}  # topic -> contract key

    def of(self, records: Sequence[Record], first_cycle: bool) -> dict[str, str]:
        """As remembered; on the first cycle also as the statuses say (a restarted operator
        learns it from the contract whose status shows the topic on the broker). New
        contracts have no status yet, so later cycles need not look."""
        owners = dict(self._owners)
        for r in records if first_cycle else ():
            # A status is anyone's to patch: whatever it holds, it must not stop the cycle.
            entries = (r.status or {}).get("topics")
            for entry in entries if isinstance(entries, list) else ():
                if (
                    isinstance(entry, Mapping)
                    and entry.get("role") == "publish"
                    and entry.get("state") in OWNED_STATES
                ):
                    owners.setdefault(str(entry.get("name")), r.key)
        return owners

    def remember(self, result: Plan, owners: Mapping[str, str]) -> None:
        """Owners after this cycle: whoever the plan says has the topic on the broker, and the
        previous owners that still declare it (e.g. while the broker cannot be read)."""
        declared = {
            (cp.contract.key, t.name): t.state
            for cp in result.contracts
            for t in cp.topics
            if t.role == "publish"
        }
        kept = {
            topic: key
            for topic, key in owners.items()
            if declared.get((key, topic)) not in (None, TopicState.CONFLICT, TopicState.INVALID)
        }
        kept.update(
            {topic: key for (key, topic), state in declared.items() if state in OWNED_STATES}
        )
        self._owners = kept
