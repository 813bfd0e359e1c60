"""Leader gate for several replicas: only the replica kopf's peering keeps active reconciles.

kopf pauses its own watchers on a replica that sees a live peer of higher priority, but our
reconcile loop runs on its own timer; it checks the same peering objects before each cycle so a
paused replica never writes status from a frozen view. Each replica draws a random priority,
so exactly one is active and the others stand by (kopf pauses *all* replicas on a tie).

An operator watching several namespaces keeps one peering object per namespace, and kopf
pauses the whole operator when it is outranked in any one of them (one pause toggle per
namespace, joined with any()); so does the gate. A missing or unreadable object pauses too:
kopf stays paused until it has seen the object of every namespace.

A paused kopf stops its watches; on resuming it lists again, which adds and updates index
entries but never removes those of objects deleted meanwhile. So on becoming active the gate
lists the NodeContracts once and the loop's view skips the ones that are gone: a contract
deleted while this replica stood by must not keep publishing its topics from memory.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import urllib3
from kubernetes import client

from ..model.contract import GROUP, PLURAL, VERSION

log = logging.getLogger(__name__)
PEERING_GROUP, PEERING_VERSION = "kopf.dev", "v1"
KOPF_DEFAULT_LIFETIME = 60  # what kopf assumes for a peer that states no lifetime
LIST_PAGE = 500
REQUEST_TIMEOUT = (3.0, 15.0)  # connect, read: a hung apiserver must not hold the gate forever


class Identified(Protocol):
    @property
    def uid(self) -> str | None: ...


R = TypeVar("R", bound=Identified)


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
    """Reads the kopf peering object `name` cluster-wide, or in each of `namespaces`.

    `paused` is the reconcile loop's gate (called in a worker thread before each cycle);
    `live` wraps the loop's view of the contracts.
    """

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
        self._view: Callable[[], Iterable[Identified]] | None = None
        self._gone: frozenset[str] = frozenset()  # uids of contracts deleted while standing by

    def live(self, view: Callable[[], Iterable[R]]) -> Callable[[], Iterator[R]]:
        """`view` without the contracts found deleted when this replica last became active."""
        self._view = view

        def live_view() -> Iterator[R]:
            gone = self._gone
            return (record for record in view() if record.uid not in gone)

        return live_view

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
        if reason is None and self._reason is not None and not self._forget_deleted():
            reason = "cannot list the NodeContracts to forget those deleted while standing by"
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

    def _forget_deleted(self) -> bool:
        """Called in a worker thread: the view is read first, the list after it, so a contract
        in the view but not in the list was deleted (never one created meanwhile). Reading
        kopf's index off its loop can skip an entry (a forgotten ghost, the old behaviour) or
        raise, never invent one."""
        if self._view is None:
            return True
        try:
            seen = {r.uid for r in self._view() if r.uid}
        except RuntimeError:  # the index changed under us; try again on the next check
            return False
        try:
            listed = self._listed_uids()
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("cannot list NodeContracts: %s; standing by", exc)
            return False
        gone = seen - listed
        if gone:
            log.info("forgetting %d NodeContract(s) deleted while standing by", len(gone))
        self._gone = self._gone | gone
        return True

    def _listed_uids(self) -> set[str]:
        uids: set[str] = set()
        for namespace in self.namespaces or ("",):
            token: str | None = None
            while True:
                page: Any = (
                    self._api.list_namespaced_custom_object(
                        GROUP, VERSION, namespace, PLURAL, **self._paging(token)
                    )
                    if namespace
                    else self._api.list_cluster_custom_object(
                        GROUP, VERSION, PLURAL, **self._paging(token)
                    )
                )
                uids |= {str(item["metadata"]["uid"]) for item in page.get("items") or []}
                token = (page.get("metadata") or {}).get("continue")
                if not token:
                    break
        return uids

    @staticmethod
    def _paging(token: str | None) -> dict[str, Any]:
        paging: dict[str, Any] = {"limit": LIST_PAGE, "_request_timeout": REQUEST_TIMEOUT}
        if token:
            paging["_continue"] = token
        return paging
