"""Outages of the two servers the operator talks to, each noticed and told once.

The broker: a flap shorter than the grace period rewrites no status and posts no Event; a
longer outage flips every contract once (and recovers once). The apiserver: one warning when
it goes away, one line when statuses are written again; probes say so meanwhile.
"""

from __future__ import annotations

import logging
import time

from ..adapters.kube import describe_error, is_outage
from .health import Health

log = logging.getLogger("contract_operator.controller.reconciler")


class BrokerGrace:
    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self._away_since: float | None = None

    def in_grace(self, broker_error: str | None) -> bool:
        """True while the broker has been away for less than the grace period."""
        if broker_error is None:
            if self._away_since is not None:
                log.info("the broker answers again")
            self._away_since = None
            return False
        clock = time.monotonic()
        if self._away_since is None:
            self._away_since = clock
            if self.grace_seconds > 0:
                log.warning(
                    "%s; statuses are kept for up to %g s while it comes back",
                    broker_error,
                    self.grace_seconds,
                )
        return clock - self._away_since < self.grace_seconds


class ApiserverWatch:
    def __init__(self, health: Health, retry_seconds: float) -> None:
        self.health = health
        self.retry_seconds = retry_seconds
        self._away: str | None = None  # set during an outage: logged once

    def failed(self, exc: BaseException, what: str) -> None:
        """Log a failed apiserver request: an outage once, a per-object refusal each time."""
        detail = describe_error(exc)
        if is_outage(exc):
            if self._away is None:
                log.warning(
                    "the apiserver is unreachable (%s): %s; retrying every %g s",
                    detail,
                    what,
                    self.retry_seconds,
                )
            self._away = detail
            self.health.apiserver(reachable=False, detail=detail)
        else:
            log.warning("%s: %s", what, detail)

    def answered(self, wrote_anything: bool) -> None:
        if self._away is not None and wrote_anything:
            log.info("the apiserver answers again; statuses are being brought up to date")
            self._away = None
            self.health.apiserver(reachable=True)
