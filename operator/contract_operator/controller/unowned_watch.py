"""Once per full resync: topics matching the naming rules that no contract publishes (left
behind after a rename?). A gauge always; a log line when the set changes."""

from __future__ import annotations

import asyncio
import logging

from ..core.naming import NamingRules
from ..core.snapshot import BrokerSnapshot
from ..core.unowned import unowned_topics
from ..model.contract import Contract
from . import metrics

log = logging.getLogger("contract_operator.controller.reconciler")


class UnownedWatch:
    def __init__(self, rules: NamingRules, resync_seconds: float, scoped: bool) -> None:
        self.rules = rules
        self.resync_seconds = resync_seconds
        # Watching some namespaces, the rest of the broker may belong to contracts elsewhere:
        # only the producer segments in view (and topics they subscribe to) are judged.
        self.scoped = scoped
        self._at = float("-inf")
        self._unowned: frozenset[str] = frozenset()  # as last logged

    async def maybe(self, contracts: list[Contract], snapshot: BrokerSnapshot, at: float) -> None:
        if at - self._at < self.resync_seconds:
            return
        self._at = at
        producers = {c.node for c in contracts} if self.scoped else None
        try:
            found = await asyncio.to_thread(
                unowned_topics, contracts, snapshot.all_names, self.rules, producers=producers
            )
        except Exception:  # a report, never a reason to stop the loop
            log.exception("cannot list unowned topics")
            return
        metrics.UNOWNED.set(len(found))
        if found.names != self._unowned:
            self._unowned = found.names
            log.info("%s", found.summary())
