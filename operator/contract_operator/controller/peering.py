"""Leader gate for several replicas: only the replica kopf's peering keeps active reconciles.

kopf pauses its own watchers on a replica that sees a live peer of higher priority, but our
reconcile loop runs on its own timer; it checks the same peering object before each cycle so a
paused replica never writes status from a frozen view. Each replica draws a random priority,
so exactly one is active and the others stand by (kopf pauses *all* replicas on a tie).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Mapping
from typing import Any

from kubernetes import client

log = logging.getLogger(__name__)
PEERING_GROUP, PEERING_VERSION = "kopf.dev", "v1"


def own_identity() -> str:
    """The pod name in a cluster (POD_ID, set by the chart), else host and pid."""
    return os.environ.get("POD_ID") or f"{socket.gethostname()}@{os.getpid()}"


def draw_priority() -> int:
    return random.SystemRandom().randint(1, 1_000_000)


def outranked(
    peers: Mapping[str, Mapping[str, Any]], identity: str, priority: int, now: dt.datetime
) -> bool:
    """True when another live peer has a priority at least ours (kopf pauses on a tie too)."""
    for peer_id, info in peers.items():
        if peer_id == identity or not isinstance(info, Mapping):
            continue
        try:
            seen = dt.datetime.fromisoformat(str(info["lastseen"]))
            lifetime = dt.timedelta(seconds=int(info.get("lifetime", 60)))
            other = int(info.get("priority", 0))
        except (KeyError, ValueError):
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=dt.UTC)
        if seen + lifetime > now and other >= priority:
            return True
    return False


class PeeringGate:
    """Reads the kopf peering object named `name` (cluster-wide or in `namespace`)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        name: str,
        identity: str,
        priority: int,
        namespace: str | None,
    ) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self.name, self.identity, self.priority, self.namespace = (
            name,
            identity,
            priority,
            namespace,
        )

    def paused(self) -> bool:
        body: Any  # the client returns the object as a plain dict
        try:
            if self.namespace:
                body = self._api.get_namespaced_custom_object(
                    PEERING_GROUP, PEERING_VERSION, self.namespace, "kopfpeerings", self.name
                )
            else:
                body = self._api.get_cluster_custom_object(
                    PEERING_GROUP, PEERING_VERSION, "clusterkopfpeerings", self.name
                )
        except client.ApiException as exc:
            # kopf itself refuses to run without the peering object; mirror that caution.
            log.warning("cannot read peering %s: %s; standing by", self.name, exc.reason)
            return True
        peers = body.get("status") or {}
        return outranked(peers, self.identity, self.priority, dt.datetime.now(dt.UTC))
