"""One batching reconcile loop: a broker snapshot per cycle, the planner, batched creates,
and status writes only where something changed.

kopf handlers only keep the view of all NodeContracts current and `wake()` this loop; a timer
wakes it too, so out-of-band changes on the broker are seen without any change to a CR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiException

from ..adapters.broker import Broker, BrokerError
from ..adapters.kube import Kube, now
from ..core.planner import ContractPlan, Plan, plan
from ..core.snapshot import BrokerSnapshot, CreateResult
from ..core.status import (
    Transition,
    desired_status,
    invalid_spec_status,
    needs_write,
    transitions,
)
from ..model.contract import Contract, ContractError
from . import metrics
from .settings import OperatorSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """One NodeContract as the watch last delivered it, parsed once by the index handler."""

    namespace: str
    name: str
    uid: str | None
    generation: int | None
    status: Mapping[str, Any] | None
    contract: Contract | None
    error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ref(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name, "uid": self.uid or ""}


def record_of(body: Mapping[str, Any]) -> Record:
    """Parse a NodeContract body with the one parser; a bad spec becomes a Record with an error."""
    meta = body.get("metadata") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    status = body.get("status")
    try:
        contract: Contract | None = Contract.from_manifest(dict(body), source=f"{namespace}/{name}")
        error = None
    except ContractError as exc:
        contract = None
        error = "; ".join(f"{e.field or 'document'}: {e.message}" for e in exc.errors)
    return Record(
        namespace,
        name,
        meta.get("uid"),
        meta.get("generation"),
        dict(status) if isinstance(status, Mapping) else None,
        contract,
        error,
    )


@dataclass
class CycleReport:
    """What one reconcile did: for logs, metrics, tests and the benchmark."""

    contracts: int = 0
    created: frozenset[str] = frozenset()
    status_writes: int = 0
    write_errors: int = 0
    events: int = 0
    broker_error: str | None = None
    seconds: float = 0.0
    plan: Plan | None = field(default=None, repr=False)


class Reconciler:
    def __init__(
        self,
        settings: OperatorSettings,
        broker: Broker,
        kube: Kube,
        view: Callable[[], Iterable[Record]],
        gate: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.kube = kube
        self._view = view
        self._paused = gate  # returns True while another replica is the active one
        self._wake = asyncio.Event()
        # The status we last wrote, by uid: the watch may not have delivered it back yet, and
        # comparing with it is what keeps an unchanged status from being written twice.
        self._written: dict[str, Mapping[str, Any]] = {}
        self._seen: dict[str, Record] = {}  # by key, to notice deletions
        self._writers = asyncio.Semaphore(8)
        self._posters = asyncio.Semaphore(4)
        self.cycles = 0
        # The broker as last read: the admission webhook answers from it, never from the broker.
        self.last_snapshot: BrokerSnapshot | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Forever: wait for a change or the timer, coalesce the burst, reconcile once.

        The first cycle waits for the first watch event: kopf delivers it only after the
        initial listing, so the first plan sees every contract, not half of them.
        """
        timeout: float | None = None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            await asyncio.sleep(self.settings.batch_window_seconds)
            self._wake.clear()
            try:
                if self._paused is not None and await asyncio.to_thread(self._paused):
                    log.debug("standing by: another replica is active")
                    timeout = self.settings.retry_seconds
                    continue
                report = await self.reconcile_once()
                ok = report.broker_error is None and not report.write_errors
            except Exception:  # keep the operator alive; the next cycle retries
                log.exception("reconcile failed; retrying in %s s", self.settings.retry_seconds)
                ok = False
            timeout = self.settings.resync_seconds if ok else self.settings.retry_seconds

    async def reconcile_once(self) -> CycleReport:
        started = time.monotonic()
        records = list(self._view())
        contracts = [r.contract for r in records if r.contract is not None]
        names = {t.name for c in contracts for t in c.published}
        names |= {s for c in contracts for s in c.subscribed}
        options = self.settings.plan_options

        snapshot: BrokerSnapshot | None
        broker_error: str | None = None
        try:
            snapshot = await asyncio.to_thread(self.broker.describe, names)
        except BrokerError as exc:
            snapshot, broker_error = None, str(exc)
        if snapshot is not None:
            self.last_snapshot = snapshot
        result = plan(contracts, snapshot, options, broker_error=broker_error)

        outcome = CreateResult()
        if result.to_create and snapshot is not None:
            try:
                outcome = await asyncio.to_thread(self.broker.create_missing, result.to_create)
                if outcome.already_existed:  # a race with another creator: compare what is there
                    raced = await asyncio.to_thread(self.broker.describe, outcome.already_existed)
                    snapshot = snapshot.merged(raced)
                result = plan(contracts, snapshot, options, outcome=outcome)
            except BrokerError as exc:
                broker_error = str(exc)
                result = plan(contracts, None, options, broker_error=broker_error)
        if outcome.created:
            log.info(
                "created %d topic(s): %s", len(outcome.created), ", ".join(sorted(outcome.created))
            )
        for name, reason in outcome.failed.items():
            log.warning("could not create %s: %s", name, reason)
        if broker_error:
            log.warning("%s", broker_error)

        report = CycleReport(len(records), outcome.created, broker_error=broker_error, plan=result)
        stamp = now()
        plans = {cp.contract.key: cp for cp in result.contracts}
        await asyncio.gather(
            *(self._settle(r, plans.get(r.key), stamp, broker_error, report) for r in records)
        )
        await self._forget_deleted(records, report)
        report.seconds = time.monotonic() - started
        metrics.observe_cycle(result, report.seconds, self.broker, self.kube)
        self.cycles += 1
        log.debug("cycle %d: %s", self.cycles, report)
        return report

    async def _settle(
        self,
        record: Record,
        contract_plan: ContractPlan | None,
        stamp: str,
        broker_error: str | None,
        report: CycleReport,
    ) -> None:
        previous = self._written.get(record.uid or record.key) or record.status
        if contract_plan is None:
            desired = invalid_spec_status(
                record.error or "unreadable", previous, generation=record.generation, now=stamp
            )
        else:
            desired = desired_status(
                contract_plan,
                previous,
                generation=record.generation,
                now=stamp,
                broker_error=broker_error,
            )
        created = contract_plan.created if contract_plan is not None else ()
        events = transitions(previous, desired, created)
        if needs_write(previous, desired):
            await self._write(record, desired, report)
        # Events are hints posted after the write, concurrently and never under the write lock.
        await asyncio.gather(*(self._post(record.ref, event) for event in events))
        report.events += len(events)

    async def _write(self, record: Record, desired: dict[str, Any], report: CycleReport) -> None:
        async with self._writers:
            try:
                written = await asyncio.to_thread(
                    self.kube.patch_status, record.namespace, record.name, desired
                )
            except ApiException as exc:
                # One contract's failed write must not stop the others; the next cycle retries.
                log.warning("cannot write status of %s: %s %s", record.key, exc.status, exc.reason)
                report.write_errors += 1
                return
            if not written:
                return
            self._written[record.uid or record.key] = desired
            report.status_writes += 1

    async def _post(self, ref: Mapping[str, str], event: Transition) -> None:
        async with self._posters:
            await asyncio.to_thread(
                self.kube.post_event, ref, event.type, event.reason, event.message
            )

    async def _forget_deleted(self, records: list[Record], report: CycleReport) -> None:
        current = {r.key: r for r in records}
        for key, gone in self._seen.items():
            if key in current and current[key].uid == gone.uid:
                continue
            self._written.pop(gone.uid or key, None)
            kept = [t.name for t in gone.contract.published] if gone.contract else []
            if kept:
                await self._post(
                    gone.ref,
                    Transition(
                        "Normal",
                        "TopicsKept",
                        f"NodeContract deleted; its topics stay on the broker "
                        f"({', '.join(kept[:5])}{' ...' if len(kept) > 5 else ''}): "
                        "contract-operator never deletes topics",
                    ),
                )
                report.events += 1
        self._seen = current
