"""Probes that tell the truth: /healthz (liveness) and /readyz (readiness).

Liveness answers "is the reconcile loop still turning?": it fails when no cycle has finished
for `stall_seconds` (a cycle stuck on a call that never returns, or a loop that died), so the
kubelet restarts the pod. A broker or apiserver outage does not fail it: cycles still finish,
and a restart would not bring either back.

Readiness answers "is this operator doing its job?": it has listed the NodeContracts (the first
cycle ran) and the apiserver answers. It gates nothing in the chart but makes an unhealthy
replica visible in `kubectl get pods`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import metrics

if TYPE_CHECKING:
    from .settings import OperatorSettings

log = logging.getLogger(__name__)
PING_TTL_SECONDS = 5.0  # readiness asks the apiserver at most this often


class Health:
    """What the probes and the metrics say about the loop; fed by the reconciler."""

    def __init__(
        self,
        settings: OperatorSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stall_seconds = float(settings.stall_seconds or 60.0)
        self._clock = clock
        self.started = clock()
        self.cycle_began: float | None = None  # set while a cycle runs
        self.last_finished: float | None = None
        self.last_indexed: float | None = None  # the initial listing grew (before any cycle)
        self.last_ok: bool | None = None
        self.listed = False
        self.last_error: str | None = None
        self.apiserver_detail: str | None = None  # why the apiserver is thought unreachable
        self.loop_task: asyncio.Task[Any] | None = None
        self._ping: Callable[[], None] | None = None
        self._pinged_at: float | None = None

    # -- fed by the loop -------------------------------------------------------------------

    def cycle_started(self) -> None:
        self.cycle_began = self._clock()
        self.listed = True  # the first cycle starts once kopf has listed every contract

    def cycle_finished(self, *, ok: bool, standby: bool = False) -> None:
        self.last_finished = self._clock()
        self.cycle_began = None
        if not standby:
            self.last_ok = ok
            metrics.cycle_finished(ok)

    def listing_grew(self) -> None:
        """kopf is still indexing a large initial listing, and getting on: alive, not stuck."""
        self.last_indexed = self._clock()

    def note_error(self, error: str) -> None:
        self.last_error = error

    def apiserver(self, *, reachable: bool, detail: str | None = None) -> None:
        self.apiserver_detail = None if reachable else (detail or "unreachable")
        self._pinged_at = self._clock()

    def use_ping(self, ping: Callable[[], None]) -> None:
        """A cheap apiserver request for readiness when the loop has had nothing to write."""
        self._ping = ping

    # -- read by the probes ----------------------------------------------------------------

    def live(self) -> tuple[bool, dict[str, Any]]:
        clock = self._clock()
        since = clock - max(
            t for t in (self.started, self.last_finished, self.last_indexed) if t is not None
        )
        detail: dict[str, Any] = {
            "secondsSinceLastCycle": round(since, 1),
            "stallSeconds": self.stall_seconds,
            "lastCycleOk": self.last_ok,
        }
        if self.cycle_began is not None:
            detail["cycleRunningSeconds"] = round(clock - self.cycle_began, 1)
        if self.loop_task is not None and self.loop_task.done():
            detail["reason"] = "the reconcile loop has stopped"
            return False, detail
        if since > self.stall_seconds:
            detail["reason"] = (
                f"no reconcile cycle finished for {since:.0f} s (limit {self.stall_seconds:g} s)"
            )
            return False, detail
        return True, detail

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        clock = self._clock()
        stale = self._pinged_at is None or clock - self._pinged_at > PING_TTL_SECONDS
        if self._ping is not None and stale:
            try:
                await asyncio.wait_for(asyncio.to_thread(self._ping), timeout=5)
                self.apiserver(reachable=True)
            except Exception as exc:
                self.apiserver(reachable=False, detail=f"{type(exc).__name__}: {exc}"[:200])
        detail: dict[str, Any] = {"listed": self.listed, "apiserver": self.apiserver_detail or "ok"}
        if not self.listed:
            detail["reason"] = "the NodeContracts have not been listed yet"
            return False, detail
        if self.apiserver_detail is not None:
            detail["reason"] = f"the apiserver is unreachable: {self.apiserver_detail}"
            return False, detail
        return True, detail


async def serve(health: Health, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    """Start the probe server; the caller keeps the runner and cleans it up on shutdown."""

    async def healthz(_: web.Request) -> web.Response:
        ok, detail = health.live()
        return _answer(ok, detail)

    async def readyz(_: web.Request) -> web.Response:
        ok, detail = await health.ready()
        return _answer(ok, detail)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("probes on :%d (/healthz liveness, /readyz readiness)", port)
    return runner


def _answer(ok: bool, detail: dict[str, Any]) -> web.Response:
    return web.Response(
        status=200 if ok else 503,
        text=json.dumps({"ok": ok, **detail}) + "\n",
        content_type="application/json",
    )
