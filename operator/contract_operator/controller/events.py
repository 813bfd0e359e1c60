"""Posting Events: hints, never fatal. Posted after every status of the cycle is written and
in the background, so neither Ready nor the next cycle waits for them (at 10,000 new contracts
they are half of the apiserver requests), and never under the write lock."""

from __future__ import annotations

import asyncio

from ..adapters.kube import Kube, is_outage
from ..core.status import Transition
from . import metrics
from .cycle import CycleReport
from .outages import ApiserverWatch
from .records import Record


class EventPoster:
    def __init__(self, kube: Kube, posters: int, apiserver: ApiserverWatch) -> None:
        self.kube = kube
        self.apiserver = apiserver
        self._posters = asyncio.Semaphore(posters)
        self._posting: set[asyncio.Task[None]] = set()  # Events still being posted

    def post_later(self, events: list[tuple[Record, Transition]], report: CycleReport) -> None:
        if not events:
            return
        task = asyncio.create_task(self._post_all(events, report), name="post events")
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    async def _post_all(self, events: list[tuple[Record, Transition]], report: CycleReport) -> None:
        await asyncio.gather(*(self.post(record, event, report) for record, event in events))

    async def post(self, record: Record, event: Transition, report: CycleReport) -> None:
        async with self._posters:
            if report.apiserver_away:
                return
            try:
                await asyncio.to_thread(
                    self.kube.post_event, record.ref, event.type, event.reason, event.message
                )
                report.events += 1
            except Exception as exc:  # Events are hints: never fatal, never a traceback
                report.apiserver_away = report.apiserver_away or is_outage(exc)
                self.apiserver.failed(exc, f"cannot post Event {event.reason} on {record.key}")
                metrics.contract_failure("EventFailed", 1)

    def cancel(self) -> None:
        """Stop posting (the loop is stopping): Events are hints, the next start re-derives
        them from the statuses."""
        for task in list(self._posting):
            task.cancel()
