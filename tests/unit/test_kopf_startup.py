"""kopf's start with many indexed objects: waiters wake when the toggle set's state changes,
not once per object (controller/kopf_startup.py)."""

from __future__ import annotations

import asyncio

from kopf._cogs.aiokits import aiotoggles

from contract_operator.controller import kopf_startup

OBJECTS = 300  # one toggle and one waiting worker per listed object, as kopf does


async def _start_like_kopf(objects: int) -> tuple[int, bool]:
    """`objects` workers wait for the index; their toggles are dropped one by one.

    Returns how often a waiter re-checked the set, and whether any woke too early."""
    indexed = aiotoggles.ToggleSet(all)
    checks = 0
    early = False
    real_is_on = indexed.is_on

    def counting_is_on() -> bool:
        nonlocal checks
        checks += 1
        return real_is_on()

    indexed.is_on = counting_is_on  # type: ignore[method-assign]
    toggles = [await indexed.make_toggle(name=str(i)) for i in range(objects)]
    dropped = 0

    async def worker() -> None:
        nonlocal early
        await indexed.wait_for(True)
        early = early or dropped < objects

    workers = [asyncio.create_task(worker()) for _ in range(objects)]
    await asyncio.sleep(0)
    for toggle in toggles:
        dropped += 1
        await indexed.drop_toggle(toggle)
        await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*workers), 30)
    return checks, early


def test_waiters_wake_once_when_the_last_object_is_indexed() -> None:
    assert kopf_startup.install()
    checks, early = asyncio.run(_start_like_kopf(OBJECTS))
    assert not early
    # Linear: a few checks per object. kopf's own notify_all re-checks every waiter on every
    # drop: about OBJECTS**2 / 2 (45,000 here).
    assert checks < 10 * OBJECTS, checks


def test_install_is_idempotent_and_keeps_the_toggle_semantics() -> None:
    assert kopf_startup.install() and kopf_startup.install()

    async def scenario() -> list[bool]:
        paused = aiotoggles.ToggleSet(any)  # kopf's other use: peering pauses
        states = [paused.is_on()]
        toggle = await paused.make_toggle(True, name="peer")
        states.append(paused.is_on())
        await toggle.turn_to(False)
        states.append(paused.is_on())
        await paused.drop_toggles([toggle])
        states.append(paused.is_on())
        return states

    assert asyncio.run(scenario()) == [False, True, False, False]
