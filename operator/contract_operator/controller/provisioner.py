"""Sending creates through the refusal book (core/refusals.py): a topic refused before is held
back until its retry time (or until its declaration changes), and said so in its status."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from ..adapters.broker import Broker
from ..core.refusals import RefusalBook
from ..core.snapshot import CreateResult, TopicRequest
from . import metrics

log = logging.getLogger("contract_operator.controller.reconciler")


class Provisioner:
    def __init__(self, broker: Broker, retry_seconds: float) -> None:
        self.broker = broker
        self.refusals = RefusalBook(retry_seconds)

    def create(self, requests: Sequence[TopicRequest]) -> CreateResult:
        """Create what is missing, except topics whose retry time has not come (blocking: run
        in a worker thread). A refusal is logged once, when first met or when it changes."""
        clock = time.monotonic()
        send, held = self.refusals.split(requests, clock)
        outcome = self.broker.create_missing(send) if send else CreateResult()
        for new in self.refusals.record(send, outcome, clock):
            log.warning(
                "cannot create %s: %s (%s)",
                new.name,
                new.message,
                "not retried until its declaration changes"
                if new.permanent
                else f"retrying with back-off, next in {new.delay:g} s",
            )
        metrics.contract_failure("CreateFailed", len(outcome.failed))
        return self.refusals.with_held(outcome, held)
