"""One batching reconcile loop: a broker snapshot per cycle, the planner, batched creates,
and status writes only where something changed.

kopf handlers only keep the view of all NodeContracts current and `wake()` this loop; a timer
wakes it too, so out-of-band changes on the broker are seen without any change to a CR.

The loop batches I/O, but failure stays per contract and per topic (as controller-runtime's
workqueue does per key): a contract the planner chokes on, a topic the broker or the client
library refuses, a status write or Event the apiserver drops — each marks that contract alone
and every other contract is planned, created and written in the same cycle.

This module is the cycle's order only; each part is a module named for its job: observation
(reading the broker), decision (the planner and its memo), ownership, provisioner (creates
through the refusal book), identity (re-created topics), statuses, events, deletions,
unowned_watch and outages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping

from ..adapters.broker import Broker, BrokerError
from ..adapters.kube import Kube, now
from ..adapters.provision import provision
from ..core.declared import names_of
from ..core.isolation import plan_isolated
from ..core.planner import Plan
from ..core.snapshot import BrokerSnapshot, CreateResult
from ..core.status import Transition
from ..model.contract import Contract
from . import metrics
from .cycle import CycleReport
from .decision import Decider, Planned
from .deletions import Departures
from .events import EventPoster
from .health import Health
from .identity import TopicIdentity
from .memory import give_back_memory
from .observation import Observation, Observer
from .outages import ApiserverWatch, BrokerGrace
from .ownership import Owners
from .provisioner import Provisioner
from .records import Record, record_of, unselected_record_of
from .settings import OperatorSettings
from .statuses import StatusWriter
from .unowned_watch import UnownedWatch

__all__ = [
    "CycleReport",
    "Reconciler",
    "Record",
    "plan_isolated",
    "record_of",
    "unselected_record_of",
]

log = logging.getLogger(__name__)

LOGGED_NAMES = 20  # topic names in one log line; each contract's status names its own
# The first cycle's wait when no contract is listed at all (see Reconciler.run).
EMPTY_START_SECONDS = 5.0


class Reconciler:
    def __init__(
        self,
        settings: OperatorSettings,
        broker: Broker,
        kube: Kube,
        view: Callable[[], Iterable[Record]],
        gate: Callable[[], bool] | None = None,
        health: Health | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.kube = kube
        self.health = health or Health(settings)
        self._view = view
        self._paused = gate  # returns True while another replica is the active one
        self._wake = asyncio.Event()
        self._woken = False  # kopf's first event: every listed contract is in the view
        self._indexed = 0  # contracts in the view while waiting for that first event
        self.observer = Observer(broker, settings.resync_seconds)
        self.decider = Decider(settings.plan_options)
        self.owners = Owners()
        self.provisioner = Provisioner(broker, settings.retry_seconds)
        self.identity = TopicIdentity()
        self.broker_grace = BrokerGrace(settings.broker_grace_seconds)
        self.apiserver = ApiserverWatch(self.health, settings.retry_seconds)
        self.statuses = StatusWriter(kube, settings.status_writers, self.apiserver, self.health)
        self.events = EventPoster(kube, settings.event_posters, self.apiserver)
        self.departures = Departures(settings.selector, self.statuses, self.events)
        self.unowned = UnownedWatch(
            settings.plan_options.rules, settings.resync_seconds, bool(settings.namespaces)
        )
        self.cycles = 0

    @property
    def last_snapshot(self) -> BrokerSnapshot | None:
        """The broker as last read: the admission webhook answers from it, never the broker."""
        return self.observer.last_snapshot

    def wake(self) -> None:
        self._woken = True
        self._wake.set()

    async def run(self) -> None:
        """Forever: wait for a change or the timer, coalesce the burst, reconcile once.

        The first cycle waits for the first watch event: kopf delivers it only after the
        initial listing, so the first plan sees every contract, not half of them. A cluster
        with no contract yet has no event to wait for: while the view stays empty the first
        cycle comes after EMPTY_START_SECONDS (so a fresh install is Ready in seconds, not
        after a resync interval); one that fills meanwhile waits for its listing as usual.
        """
        try:
            await self._loop(min(self.settings.resync_seconds, EMPTY_START_SECONDS))
        finally:
            self.events.cancel()

    async def _loop(self, timeout: float | None) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            if self._still_listing():
                timeout = self.settings.retry_seconds
                continue
            await asyncio.sleep(self.settings.batch_window_seconds)
            self._wake.clear()
            ok = await self._cycle()
            timeout = self.settings.resync_seconds if ok else self.settings.retry_seconds

    def _still_listing(self) -> bool:
        """The timer fired while kopf is still indexing the initial listing (it calls the
        event handler that wakes this loop only once every contract is indexed): a cycle now
        would judge a fleet of which part is missing, e.g. report broken wires whose
        publishers are simply not indexed yet. A listing that grows keeps liveness true; one
        that stalls lets it fail."""
        indexed = 0 if self._woken else sum(1 for _ in self._view())
        if indexed and indexed != self._indexed:
            self._indexed = indexed
            self.health.listing_grew()
        return bool(indexed)

    async def _cycle(self) -> bool:
        """One cycle, or standing by; a bug of ours is logged and the next cycle retries."""
        self.health.cycle_started()
        ok = False
        try:
            if self._paused is not None and await asyncio.to_thread(self._paused):
                log.debug("standing by: another replica is active")
                self.health.cycle_finished(ok=True, standby=True)
                return False  # look again after retry_seconds
            report = await self.reconcile_once()
            ok = report.broker_error is None and not report.write_errors
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("reconcile failed; retrying in %s s", self.settings.retry_seconds)
            metrics.contract_failure("Internal", 1)
            self.health.note_error(f"{type(exc).__name__}: {exc}")
        self.health.cycle_finished(ok=ok)
        return ok

    async def reconcile_once(self) -> CycleReport:
        started, cpu_started = time.monotonic(), time.process_time()
        listed = list(self._view())
        records = [r for r in listed if r.selected]
        contracts = [r.contract for r in records if r.contract is not None]
        seen = await self.observer.observe(contracts)
        described = time.monotonic()
        grace = self.broker_grace.in_grace(seen.error)
        owners = self.owners.of(records, first_cycle=self.cycles == 0)
        if self.cycles == 0:
            self.identity.learn(records)
        (result, failed) = await self.decider.plan(contracts, seen.snapshot, seen.error, owners)
        planned = time.monotonic()
        outcome, snapshot, broker_error = CreateResult(), seen.snapshot, seen.error
        if result.to_create and snapshot is not None:
            (result, failed), outcome, snapshot, broker_error = await self._provision(
                contracts, snapshot, result, owners, seen
            )
        self._log_outcome(outcome, broker_error, grace, failed)
        self.owners.remember(result, owners)
        created_at = time.monotonic()
        report = CycleReport(
            len(records),
            outcome.created,
            broker_error=broker_error,
            plan=result,
            broker_grace=grace,
        )
        await self._settle_all(records, result, failed, snapshot, outcome, report)
        self.departures.note(listed, report)
        if snapshot is not None:
            await self.unowned.maybe(contracts, snapshot, described)
        self.apiserver.answered(bool(report.status_writes + report.events))
        report.seconds = time.monotonic() - started
        metrics.observe_cycle(
            result, report.seconds, self.broker, self.kube, time.process_time() - cpu_started
        )
        self.cycles += 1
        busy = bool(report.status_writes or report.created or report.failed_contracts)
        if busy or self.cycles == 1:
            await asyncio.to_thread(give_back_memory)  # ctypes drops the GIL: probes answer
        self._log_cycle(report, busy, seen, started, described, planned, created_at)
        return report

    async def _provision(
        self,
        contracts: list[Contract],
        snapshot: BrokerSnapshot,
        result: Plan,
        owners: Mapping[str, str],
        seen: Observation,
    ) -> tuple[Planned, CreateResult, BrokerSnapshot | None, str | None]:
        """Create what the plan says is missing and plan again with the actual values."""

        def replan(merged: BrokerSnapshot, outcome: CreateResult) -> Planned:
            return self.decider.replan(contracts, merged, owners, outcome=outcome)

        try:
            done = await asyncio.to_thread(
                provision,
                self.broker,
                result.to_create,
                snapshot,
                replan,
                create=self.provisioner.create,
                keys=seen.keys,
            )
        except BrokerError as exc:
            error = str(exc)
            planned = await asyncio.to_thread(
                self.decider.replan, contracts, None, owners, broker_error=error
            )
            return planned, CreateResult(), snapshot, error
        # What a racing creator made was described in full: its configs count as read.
        raced = {n: t for n, t in done.made.topics.items() if n in done.outcome.already_existed}
        self.observer.note_described(BrokerSnapshot(raced), None, None)
        return done.result, done.outcome, done.snapshot, None

    async def _settle_all(
        self,
        records: list[Record],
        result: Plan,
        failed: Mapping[str, str],
        snapshot: BrokerSnapshot | None,
        outcome: CreateResult,
        report: CycleReport,
    ) -> None:
        """Every contract's status, then its Events in the background."""
        stamp = now()
        fresh = self.identity.note(snapshot, outcome) if snapshot is not None else {}
        plans = {cp.contract.key: self.identity.annotate(cp) for cp in result.contracts}
        events: list[tuple[Record, Transition]] = [
            (r, Transition("Warning", "TopicRecreated", fresh[name]))
            for r in records
            if r.contract is not None
            for name in names_of(r.contract)
            if name in fresh
        ]
        await asyncio.gather(
            *(
                self.statuses.settle(r, plans.get(r.key), failed.get(r.key), stamp, report, events)
                for r in records
            )
        )
        self.events.post_later(events, report)

    def _log_outcome(
        self,
        outcome: CreateResult,
        broker_error: str | None,
        grace: bool,
        failed: Mapping[str, str],
    ) -> None:
        if outcome.created:
            # Named in full up to a screenful; a burst of 10,000 would be one 300 KB line.
            new = sorted(outcome.created)
            more = f" and {len(new) - LOGGED_NAMES} more" if len(new) > LOGGED_NAMES else ""
            log.info("created %d topic(s): %s%s", len(new), ", ".join(new[:LOGGED_NAMES]), more)
        if broker_error and not grace:
            log.warning("%s", broker_error)
        for key, reason in failed.items():
            log.error("cannot plan %s: %s", key, reason)
        metrics.contract_failure("PlanFailed", len(failed))

    def _log_cycle(self, report: CycleReport, busy: bool, seen: Observation, *marks: float) -> None:
        started, described, planned, created_at = marks
        log.log(
            logging.INFO if busy else logging.DEBUG,  # an idle resync says nothing at INFO
            "cycle %d: %d contracts in %.2f s (describe %.2f, %d configs; plan %.2f, create %.2f, "
            "statuses %.2f): %d created, %d status writes, %d events, %d failed",
            self.cycles,
            report.contracts,
            report.seconds,
            described - started,
            seen.configs_read,
            planned - described,
            created_at - planned,
            report.seconds - (created_at - started),
            len(report.created),
            report.status_writes,
            report.events,
            report.failed_contracts,
        )
