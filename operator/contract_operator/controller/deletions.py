"""Contracts that left since the last cycle: deleted (their topics stay: the operator never
deletes one, and says so once) or let go (no longer matching --selector: another instance
takes them over)."""

from __future__ import annotations

import logging

from ..core.status import Transition
from .cycle import CycleReport
from .events import EventPoster
from .records import Record
from .statuses import StatusWriter

log = logging.getLogger("contract_operator.controller.reconciler")
NAMED_TOPICS = 5  # in the TopicsKept message


def topics_kept(record: Record) -> Transition | None:
    kept = [t.name for t in record.contract.published] if record.contract else []
    if not kept:
        return None
    more = " ..." if len(kept) > NAMED_TOPICS else ""
    return Transition(
        "Normal",
        "TopicsKept",
        f"NodeContract deleted; its topics stay on the broker "
        f"({', '.join(kept[:NAMED_TOPICS])}{more}): contract-operator never deletes topics",
    )


def not_selected(selector: str) -> Transition:
    return Transition(
        "Normal",
        "NotSelected",
        f"no longer matches this operator's --selector ({selector}): its status is no longer "
        "updated and its topics stay on the broker; the instance whose selector matches its "
        "labels takes it over",
    )


class Departures:
    def __init__(self, selector: str, statuses: StatusWriter, events: EventPoster) -> None:
        self.selector = selector
        self.statuses = statuses
        self.events = events
        self._seen: dict[str, Record] = {}  # by key: the contracts managed last cycle

    def note(self, listed: list[Record], report: CycleReport) -> None:
        """Forget contracts deleted or no longer selected since the last cycle, telling each
        (once) that its topics stay. The Events go out in the background, like the cycle's
        others: a selector change that lets 10,000 contracts go must not hold the cycle."""
        current = {r.key: r for r in listed}
        events: list[tuple[Record, Transition]] = []
        for key, gone in self._seen.items():
            now_listed = current.get(key)
            same = now_listed is not None and now_listed.uid == gone.uid
            if same and now_listed is not None and now_listed.selected:
                continue
            self.statuses.forget(gone)
            if same:
                log.info("%s no longer matches --selector: let go, its topics stay", key)
                events.append((gone, not_selected(self.selector)))
            elif (event := topics_kept(gone)) is not None:
                events.append((gone, event))
        self._seen = {k: r for k, r in current.items() if r.selected}
        self.events.post_later(events, report)
