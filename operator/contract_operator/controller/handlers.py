"""kopf wiring, kept thin: an index holds every NodeContract, events wake the reconcile loop.

No finalizers and no handler-progress annotations: deleting a NodeContract is never blocked
by the operator (and never deletes a topic), and the only writes are the loop's status patches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import kopf

from ..core.selectors import Selector
from ..model.contract import GROUP, PLURAL, VERSION
from . import kopf_startup
from .admission import EventHook, register_admission
from .admission_settings import AdmissionSettings
from .reconciler import Reconciler
from .records import Record, record_of, unselected_record_of

log = logging.getLogger(__name__)
# Short and flat, and long enough in total (10 minutes): when the series runs out, kopf
# escalates, and a watch that escalates a connection error is not restarted.
WATCH_BACKOFFS = (0.5, 1, 1, 1, *([2] * 300))


def build_registry(
    make_reconciler: Callable[[Callable[[], Iterable[Record]]], Reconciler],
    peering_lifetime: int = 60,
    admission: AdmissionSettings | None = None,
    selector: Selector | None = None,
) -> kopf.OperatorRegistry:
    kopf_startup.install()  # a restart with 10,000 contracts indexes in seconds, not minutes
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # No CRD/namespace scanning: the resource is known, and it would need more RBAC.
        settings.scanning.disabled = True
        # Our Events are posted by the loop; kopf's own per-handler log Events would be noise.
        settings.posting.enabled = False
        settings.watching.server_timeout = 270
        settings.watching.client_timeout = 300
        # After an apiserver restart the watch must come back within seconds: kopf's default
        # back-off (1, 1, 2, 3, 5, 8, 13, 21 s) leaves a contract applied meanwhile unseen for
        # up to 21 s. Short, flat retries keep the gap under ~2 s.
        settings.networking.error_backoffs = WATCH_BACKOFFS
        # kopf keeps a worker task per object for this long after its last event; our handlers
        # only update the index, so short-lived workers keep 10,000 contracts from holding
        # 10,000 idle tasks (and their memory) after a burst.
        settings.batching.idle_timeout = 0.5
        settings.watching.reconnect_backoff = 0.5
        settings.networking.request_timeout = 30
        settings.networking.connect_timeout = 5
        # How soon a standby replaces a replica that died without a goodbye (SIGKILL, node loss).
        settings.peering.lifetime = peering_lifetime

    @kopf.index(GROUP, VERSION, PLURAL, id="nodecontracts", registry=registry)
    async def nodecontracts(body: kopf.Body, **_: Any) -> dict[str, Record]:
        # Async on purpose, like `changed`: kopf runs sync handlers in a thread pool, a needless
        # hop per watch event when thousands of contracts are listed at start.
        if selector is not None and not selector.matches(body.metadata.labels):
            # Not this instance's: no status, no topic; its identity stays in the index so
            # that one that stops matching is let go, not taken for deleted.
            return {f"{body.metadata.namespace}/{body.metadata.name}": unselected_record_of(body)}
        record = record_of(body)
        return {record.key: record}

    hooks: list[EventHook] = []  # more work per watch event, in this one handler

    # kopf passes indices to handlers as keyword arguments (see start_loop).
    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)  # type: ignore[arg-type]
    async def changed(
        memo: kopf.Memo, body: kopf.Body, nodecontracts: kopf.Index[str, Record], **_: Any
    ) -> None:
        # kopf calls event handlers only once the index holds the initial listing.
        memo.reconciler.wake()
        for hook in hooks:
            hook(body, nodecontracts)

    # kopf passes indices to activities as keyword arguments; its ActivityFn protocol
    # does not list them, hence the ignore.
    @kopf.on.startup(registry=registry)  # type: ignore[arg-type]
    async def start_loop(memo: kopf.Memo, nodecontracts: kopf.Index[str, Record], **_: Any) -> None:
        def view() -> Iterator[Record]:
            for store in list(nodecontracts.values()):
                yield from store

        memo.reconciler = make_reconciler(view)
        memo.loop_task = asyncio.create_task(memo.reconciler.run(), name="reconcile loop")
        memo.reconciler.health.loop_task = memo.loop_task  # a dead loop fails liveness

    @kopf.on.cleanup(registry=registry)
    async def stop_loop(memo: kopf.Memo, **_: Any) -> None:
        task = getattr(memo, "loop_task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    admission_view = register_admission(registry, admission)
    if admission_view is not None:
        hooks.append(admission_view)
    return registry
