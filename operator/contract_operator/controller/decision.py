"""The cycle's decision: the planner (isolated per contract, in a worker thread so watches,
admission and probes keep answering), and the last plan again when nothing changed — an idle
resync at 10,000 contracts then costs no planning at all."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from ..core.isolation import plan_isolated
from ..core.planner import Plan, PlanOptions
from ..core.snapshot import BrokerSnapshot, CreateResult
from ..model.contract import Contract
from .memory import without_gc

Planned = tuple[Plan, dict[str, str]]  # the plan, and contract key -> why it failed to plan


class Decider:
    def __init__(self, options: PlanOptions) -> None:
        self.options = options
        self._memo: (
            tuple[list[Contract], BrokerSnapshot | None, Planned, Mapping[str, str]] | None
        ) = None

    async def plan(
        self,
        contracts: list[Contract],
        snapshot: BrokerSnapshot | None,
        broker_error: str | None,
        owners: Mapping[str, str],
    ) -> Planned:
        """The plan for this cycle; the last one again when neither a contract (the very same
        objects), the broker nor the owners changed."""
        memo = self._memo
        if (
            memo is not None
            and broker_error is None
            and memo[1] == snapshot
            and memo[3] == owners
            and len(memo[0]) == len(contracts)
            and all(a is b for a, b in zip(memo[0], contracts, strict=True))
        ):
            return memo[2]
        planned = await asyncio.to_thread(
            without_gc(plan_isolated),
            contracts,
            snapshot,
            self.options,
            broker_error=broker_error,
            owners=owners,
        )
        self._memo = (contracts, snapshot, planned, owners) if broker_error is None else None
        return planned

    def replan(
        self,
        contracts: list[Contract],
        snapshot: BrokerSnapshot | None,
        owners: Mapping[str, str],
        *,
        outcome: CreateResult | None = None,
        broker_error: str | None = None,
    ) -> Planned:
        """Plan again after creating (blocking: run in a worker thread), never memoised."""
        return without_gc(plan_isolated)(
            contracts,
            snapshot,
            self.options,
            outcome=outcome,
            broker_error=broker_error,
            owners=owners,
        )
