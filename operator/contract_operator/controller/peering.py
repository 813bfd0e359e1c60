"""Leader gate for several replicas: only the replica kopf's peering keeps active reconciles.

kopf pauses its own watchers on a replica that sees a live peer of higher priority, but our
reconcile loop runs on its own timer; it checks the same peering objects before each cycle so a
paused replica never writes status from a frozen view. Each replica draws a random priority,
so exactly one is active and the others stand by (kopf pauses *all* replicas on a tie).

An operator watching several namespaces keeps one peering object per namespace, and kopf
pauses the whole operator when it is outranked in any one of them (one pause toggle per
namespace, joined with any()); so does the gate. A missing or unreadable object pauses too:
kopf stays paused until it has seen the object of every namespace.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes import client

log = logging.getLogger(__name__)
PEERING_GROUP, PEERING_VERSION = "kopf.dev", "v1"
KOPF_DEFAULT_LIFETIME = 60  # what kopf assumes for a peer that states no lifetime


def own_identity() -> str:
    """The pod name in a cluster (POD_ID, set by the chart), else host and pid."""
    return os.environ.get("POD_ID") or f"{socket.gethostname()}@{os.getpid()}"


def draw_priority() -> int:
    return random.SystemRandom().randint(1, 1_000_000)


def live_rival(
    peers: Mapping[str, Any], identity: str, priority: int, now: dt.datetime
) -> str | None:
    """The first other live peer with a priority at least ours (kopf pauses on a tie too)."""
    for peer_id, info in peers.items():
        if peer_id == identity or not isinstance(info, Mapping):
            continue
        try:
            seen = dt.datetime.fromisoformat(str(info["lastseen"]))
            lifetime = dt.timedelta(seconds=int(info.get("lifetime", KOPF_DEFAULT_LIFETIME)))
            other = int(info.get("priority", 0))
        except (KeyError, TypeError, ValueError):
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=dt.UTC)
        if seen + lifetime > now and other >= priority:
            return str(peer_id)
    return None


def outranked(peers: Mapping[str, Any], identity: str, priority: int, now: dt.datetime) -> bool:
    """True when another live peer has a priority at least ours."""
    return live_rival(peers, identity, priority, now) is not None


def standby_reason(
    objects: Mapping[str, Mapping[str, Any] | None],
    identity: str,
    priority: int,
    now: dt.datetime,
) -> str | None:
    """Why this replica must stand by, or None when it is the active one.

    `objects` maps each place ("" for cluster-wide, else a namespace) to its peering object,
    or None when it could not be read.
    """
    for where, body in objects.items():
        place = f"in namespace {where}" if where else "cluster-wide"
        if body is None:
            return f"peering object {place} cannot be read"
        status = body.get("status")
        rival = live_rival(status if isinstance(status, Mapping) else {}, identity, priority, now)
        if rival is not None:
            return f"outranked {place} by {rival}"
    return None


class PeeringGate:
    """Reads the kopf peering object `name` cluster-wide, or in each of `namespaces`."""

    def __init__(
        self,
        api_client: client.ApiClient,
        name: str,
        identity: str,
        priority: int,
        namespaces: Sequence[str],
    ) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self.name, self.identity, self.priority = name, identity, priority
        self.namespaces = tuple(namespaces)
        self._reason: str | None = "starting"  # the last verdict, to log only its changes

    def _read(self, namespace: str) -> Mapping[str, Any] | None:
        body: Any  # the client returns the object as a plain dict
        try:
            if namespace:
                body = self._api.get_namespaced_custom_object(
                    PEERING_GROUP, PEERING_VERSION, namespace, "kopfpeerings", self.name
                )
            else:
                body = self._api.get_cluster_custom_object(
                    PEERING_GROUP, PEERING_VERSION, "clusterkopfpeerings", self.name
                )
        except client.ApiException as exc:
            # kopf itself stays paused without the peering object; mirror that caution.
            log.warning("cannot read peering %s %s: %s", self.name, namespace, exc.reason)
            return None
        return body if isinstance(body, Mapping) else None

    def paused(self) -> bool:
        objects = {ns: self._read(ns) for ns in self.namespaces or ("",)}
        reason = standby_reason(objects, self.identity, self.priority, dt.datetime.now(dt.UTC))
        if reason != self._reason:
            if reason is None:
                log.info(
                    "active: %s (priority %d) leads peering %s",
                    self.identity,
                    self.priority,
                    self.name,
                )
            else:
                log.info("standing by: %s", reason)
            self._reason = reason
        return reason is not None
