"""A linear start for kopf with thousands of indexed objects.

When an operator with an index starts, kopf gives every listed object a toggle in one
ToggleSet, and each object's worker waits on that set until every object is indexed (so no
handler sees a half-filled index). Adding or dropping a toggle wakes *every* waiter
(`notify_all`), although a waiter only waits for the set's overall state to change: with
10,000 NodeContracts that is on the order of 10^8 wake-ups. Measured on the testbed, a
restarted operator indexed about 30 contracts a second and its first reconcile came many
minutes after the start.

Waking the waiters only when the set's state actually changes is equivalent for them and
makes the start linear. kopf is pinned (pyproject.toml); `install()` checks that the class
still has the shape this relies on and otherwise leaves kopf as it is, with a warning.
"""

from __future__ import annotations

import logging
from typing import Any

from kopf._cogs.aiokits import aiotoggles

log = logging.getLogger(__name__)


async def _make_toggle(
    self: Any, __val: bool = False, *, name: str | None = None
) -> aiotoggles.Toggle:
    toggle = aiotoggles.Toggle(__val, name=name, condition=self._condition)
    async with self._condition:
        before = self.is_on()
        self._toggles.add(toggle)
        if self.is_on() != before:
            self._condition.notify_all()
    return toggle


async def _drop_toggle(self: Any, toggle: aiotoggles.Toggle) -> None:
    async with self._condition:
        before = self.is_on()
        self._toggles.discard(toggle)
        if self.is_on() != before:
            self._condition.notify_all()


async def _drop_toggles(self: Any, toggles: Any) -> None:
    async with self._condition:
        before = self.is_on()
        self._toggles.difference_update(toggles)
        if self.is_on() != before:
            self._condition.notify_all()


def install() -> bool:
    """Patch kopf's ToggleSet (idempotent); False when kopf no longer looks as expected."""
    cls = aiotoggles.ToggleSet
    if getattr(cls, "_contract_operator_linear", False):
        return True
    probe = cls(all)
    if not all(hasattr(probe, a) for a in ("_condition", "_toggles", "_fn")) or not all(
        hasattr(cls, m) for m in ("make_toggle", "drop_toggle", "drop_toggles")
    ):
        log.warning(
            "kopf's ToggleSet changed shape; starting without the linear-start fix "
            "(a restart with thousands of NodeContracts may take minutes to index)"
        )
        return False
    cls.make_toggle = _make_toggle  # type: ignore[method-assign]
    cls.drop_toggle = _drop_toggle  # type: ignore[method-assign]
    cls.drop_toggles = _drop_toggles  # type: ignore[method-assign]
    cls._contract_operator_linear = True  # type: ignore[attr-defined]
    return True
