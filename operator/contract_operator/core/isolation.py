"""`plan()` with failure isolated per contract: the planner is pure and should never raise,
but if it does on one contract, every other contract is still planned."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..model.contract import Contract
from .planner import Plan, PlanOptions, plan
from .snapshot import BrokerSnapshot, CreateResult

log = logging.getLogger("contract_operator.controller.reconciler")


def plan_isolated(
    contracts: Sequence[Contract],
    snapshot: BrokerSnapshot | None,
    options: PlanOptions,
    *,
    outcome: CreateResult | None = None,
    broker_error: str | None = None,
    owners: Mapping[str, str] | None = None,
) -> tuple[Plan, dict[str, str]]:
    """`plan()`, but a contract the planner raises on is set aside with the error, not fatal.

    If planning all together raises, the contracts are planned one by one to find the ones
    it chokes on, and the rest are planned together as usual.
    """
    kw: dict[str, Any] = {"outcome": outcome, "broker_error": broker_error, "owners": owners}
    try:
        return plan(contracts, snapshot, options, **kw), {}
    except Exception:
        log.exception("planning failed; planning each contract alone to isolate the cause")
    failed: dict[str, str] = {}
    for contract in contracts:
        try:
            plan([contract], snapshot, options, **kw)
        except Exception as exc:
            failed[contract.key] = f"{type(exc).__name__}: {exc}"
    rest = [c for c in contracts if c.key not in failed]
    try:
        result = plan(rest, snapshot, options, **kw)
    except Exception as exc:  # only fails together: nothing can be decided this cycle
        reason = f"{type(exc).__name__}: {exc}"
        return Plan((), (), (), broker_error), {c.key: reason for c in contracts}
    return result, failed
