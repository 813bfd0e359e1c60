"""Settling each contract's status: build the desired status from its plan, write it only when
it changed, and queue the Events its transitions call for. Whatever fails here fails for that
contract alone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from ..adapters.kube import Kube, is_outage
from ..core.planner import ContractPlan
from ..core.status import Transition, desired_status, invalid_spec_status, needs_write, transitions
from . import metrics
from .cycle import CycleReport
from .health import Health
from .outages import ApiserverWatch
from .records import Record

log = logging.getLogger("contract_operator.controller.reconciler")

PLAN_FAILED_FIX = (
    "The error is the operator's; the contract is retried every cycle. "
    "Please report it with the contract."
)


class StatusWriter:
    def __init__(self, kube: Kube, writers: int, apiserver: ApiserverWatch, health: Health) -> None:
        self.kube = kube
        self.apiserver = apiserver
        self.health = health
        self._writers = asyncio.Semaphore(writers)
        # The status we last wrote, by uid: the watch may not have delivered it back yet, and
        # comparing with it is what keeps an unchanged status from being written twice.
        self._written: dict[str, Mapping[str, Any]] = {}
        # key -> (record, plan) last settled with success: the same pair needs no new status.
        self._settled: dict[str, tuple[Record, ContractPlan | None]] = {}

    def forget(self, record: Record) -> None:
        """A contract deleted or let go: nothing of it is kept."""
        self._written.pop(record.uid or record.key, None)
        self._settled.pop(record.key, None)

    async def settle(
        self,
        record: Record,
        contract_plan: ContractPlan | None,
        plan_error: str | None,
        stamp: str,
        report: CycleReport,
        events: list[tuple[Record, Transition]],
    ) -> None:
        """Write one contract's status (if it changed) and queue its Events."""
        settled = self._settled.get(record.key)
        if (
            settled is not None
            and settled[0] is record
            and contract_plan is not None
            and settled[1] is contract_plan
            and report.broker_error is None
        ):
            return  # same object, same plan: the status written last time still holds
        self._settled.pop(record.key, None)
        try:
            previous = self._previous(record)
            if report.broker_grace and previous:
                return  # a short broker flap: keep what the contract says until it lasts
            desired = self._desired(record, contract_plan, plan_error, previous, stamp, report)
            created = contract_plan.created if contract_plan is not None else ()
            news = transitions(previous, desired, created)
        except Exception as exc:
            log.exception("cannot build the status of %s", record.key)
            report.failed_contracts += 1
            metrics.contract_failure("StatusFailed", 1)
            self.health.note_error(f"{record.key}: {type(exc).__name__}: {exc}")
            return
        if needs_write(previous, desired) and not await self.write(record, desired, report):
            return  # Events follow the status they describe; both are retried next cycle
        events.extend((record, event) for event in news)
        if plan_error is None and not report.broker_grace:
            self._settled[record.key] = (record, contract_plan)

    def _previous(self, record: Record) -> Mapping[str, Any] | None:
        """The status to compare with: ours until the watch has delivered it back."""
        uid = record.uid or record.key
        written = self._written.get(uid)
        if written is not None and record.status and not needs_write(record.status, written):
            # The watch has delivered what we wrote: keep one copy (the record's), not two.
            del self._written[uid]
            written = None
        return written or record.status

    @staticmethod
    def _desired(
        record: Record,
        contract_plan: ContractPlan | None,
        plan_error: str | None,
        previous: Mapping[str, Any] | None,
        stamp: str,
        report: CycleReport,
    ) -> dict[str, Any]:
        if plan_error is not None:
            report.failed_contracts += 1
            return invalid_spec_status(
                f"the operator could not plan this contract ({plan_error})",
                previous,
                generation=record.generation,
                now=stamp,
                reason="PlanFailed",
                fix=PLAN_FAILED_FIX,
            )
        if contract_plan is None:
            return invalid_spec_status(
                record.error or "unreadable", previous, generation=record.generation, now=stamp
            )
        return desired_status(
            contract_plan,
            previous,
            generation=record.generation,
            now=stamp,
            broker_error=report.broker_error,
        )

    async def write(self, record: Record, desired: dict[str, Any], report: CycleReport) -> bool:
        async with self._writers:
            if report.apiserver_away:
                # Seen away in this cycle: the remaining writes wait for the next cycle instead
                # of each waiting out its own timeout (10,000 of them would take hours).
                report.write_errors += 1
                return False
            try:
                written = await asyncio.to_thread(
                    self.kube.patch_status, record.namespace, record.name, desired
                )
            except Exception as exc:
                report.write_errors += 1
                report.failed_contracts += 1
                report.apiserver_away = report.apiserver_away or is_outage(exc)
                self.apiserver.failed(exc, f"cannot write the status of {record.key}")
                metrics.contract_failure("StatusWriteFailed", 1)
                return False
            if not written:
                return False
            self._written[record.uid or record.key] = desired
            report.status_writes += 1
            return True
