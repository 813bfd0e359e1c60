"""The Kubernetes writes the reconcile loop makes: status patches and Events. Nothing else."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from typing import Any

import urllib3
from kubernetes import client, config

from ..model.contract import API_VERSION, GROUP, KIND, PLURAL, VERSION

log = logging.getLogger(__name__)
COMPONENT = "contract-operator"


def now() -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes its own timestamps."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_client(pool_size: int | None = None) -> client.ApiClient:
    """In-cluster credentials when running in a pod, otherwise the kubeconfig (KUBECONFIG).

    `pool_size` sizes the HTTP connection pool to the writers that share it: a pool smaller
    than the concurrency discards and re-opens connections on every burst of writes.
    """
    configuration = client.Configuration()
    if pool_size:
        configuration.connection_pool_maxsize = pool_size
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return client.ApiClient(configuration)
    except config.ConfigException:
        pass
    try:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError) as exc:
        raise KubeConfigError(
            f"no Kubernetes credentials: not running in a pod, and the kubeconfig could not be "
            f"used ({exc}); set KUBECONFIG or run `kubectl config current-context` to check"
        ) from None
    return client.ApiClient(configuration)


def is_outage(exc: BaseException) -> bool:
    """True when the apiserver itself is away (refused, timed out, 5xx, throttled), as opposed
    to refusing this one request (403, 404, 422): an outage is retried and logged once."""
    if isinstance(exc, client.ApiException):
        return exc.status in (None, 0, 429) or (exc.status or 0) >= 500
    return isinstance(exc, urllib3.exceptions.HTTPError | OSError | TimeoutError)


def describe_error(exc: BaseException) -> str:
    """One line for a failed request, never a traceback."""
    if isinstance(exc, client.ApiException):
        return f"{exc.status} {exc.reason}"
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    return f"{type(exc).__name__}: {exc}"[:300]


# Every write asks the apiserver to refuse fields it does not know (instead of pruning them with
# a Warning header): a field the operator writes and the server drops would be a silent bug.
FIELD_VALIDATION = "Strict"


class KubeConfigError(Exception):
    """Neither in-cluster credentials nor a usable kubeconfig."""


# Connect and read timeouts of one write: a hung apiserver must not hold a writer forever.
REQUEST_TIMEOUT = (3.0, 15.0)
# Aggregated Events remembered (LRU): enough for every contract's few reasons at 10,000.
MAX_EVENT_KEYS = 50_000


class Kube:
    """Status writes and Events for NodeContracts; thread-safe counters for metrics/benchmarks.

    Both raise on failure; the caller decides what a failure means for its contract.
    """

    def __init__(self, api_client: client.ApiClient | None = None, pool_size: int = 12) -> None:
        self.api_client = api_client or load_client(pool_size)
        self._api = self.api_client
        self._custom = client.CustomObjectsApi(self._api)
        self._core = client.CoreV1Api(self._api)
        self._lock = threading.Lock()
        self.writes: Counter[str] = Counter()
        # (namespace, name, uid, type, reason) -> (Event name, count): repeats patch the count
        # and last timestamp of one Event, as the kubelet does, instead of piling up objects.
        self._events: OrderedDict[tuple[str, ...], tuple[str, int]] = OrderedDict()

    def _count(self, what: str) -> None:
        with self._lock:
            self.writes[what] += 1

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        """Merge-patch `.status`; False if the object is gone (deleted meanwhile)."""
        self._count("status")
        try:
            self._custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                {"status": dict(status)},
                field_validation=FIELD_VALIDATION,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def post_event(
        self,
        ref: Mapping[str, str],
        type_: str,
        reason: str,
        message: str,
    ) -> None:
        """A core/v1 Event on a NodeContract; a repeat of the same reason bumps its count."""
        key = (ref["namespace"], ref["name"], ref.get("uid", ""), type_, reason)
        stamp = now()
        with self._lock:
            seen = self._events.get(key)
        if seen is not None:
            event_name, count = seen
            self._count("event_patch")
            try:
                self._core.patch_namespaced_event(
                    event_name,
                    ref["namespace"],
                    {"count": count + 1, "lastTimestamp": stamp, "message": message[:1024]},
                    field_validation=FIELD_VALIDATION,
                    _request_timeout=REQUEST_TIMEOUT,
                )
                self._remember(key, event_name, count + 1)
                return
            except client.ApiException as exc:
                if exc.status != 404:  # expired (Events live one hour): post a new one
                    raise
        self._count("event")
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{ref['name']}.", namespace=ref["namespace"]
            ),
            involved_object=client.V1ObjectReference(
                api_version=API_VERSION,
                kind=KIND,
                name=ref["name"],
                namespace=ref["namespace"],
                uid=ref.get("uid"),
            ),
            type=type_,
            reason=reason,
            message=message[:1024],
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            first_timestamp=stamp,
            last_timestamp=stamp,
            count=1,
        )
        created = self._core.create_namespaced_event(
            ref["namespace"],
            body,
            field_validation=FIELD_VALIDATION,
            _request_timeout=REQUEST_TIMEOUT,
        )
        self._remember(key, str(created.metadata.name), 1)

    def _remember(self, key: tuple[str, ...], event_name: str, count: int) -> None:
        with self._lock:
            self._events[key] = (event_name, count)
            self._events.move_to_end(key)
            while len(self._events) > MAX_EVENT_KEYS:
                self._events.popitem(last=False)

    def ping(self) -> None:
        """A cheap authenticated request (GET /version); raises when the apiserver is away."""
        client.VersionApi(self._api).get_code(_request_timeout=REQUEST_TIMEOUT)
