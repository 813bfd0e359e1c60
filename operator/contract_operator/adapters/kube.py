"""The Kubernetes writes the reconcile loop makes: status patches and Events. Nothing else."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from kubernetes import client, config

from ..model.contract import API_VERSION, GROUP, KIND, PLURAL, VERSION

log = logging.getLogger(__name__)
COMPONENT = "contract-operator"


def now() -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes its own timestamps."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, otherwise the kubeconfig (KUBECONFIG)."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        return client.ApiClient()
    except config.ConfigException:
        pass
    try:
        api: client.ApiClient = config.new_client_from_config()  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError) as exc:
        raise KubeConfigError(
            f"no Kubernetes credentials: not running in a pod, and the kubeconfig could not be "
            f"used ({exc}); set KUBECONFIG or run `kubectl config current-context` to check"
        ) from None
    return api


class KubeConfigError(Exception):
    """Neither in-cluster credentials nor a usable kubeconfig."""


class Kube:
    """Status writes and Events for NodeContracts; thread-safe counters for metrics/benchmarks."""

    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        self.api_client = api_client or load_client()
        self._api = self.api_client
        self._custom = client.CustomObjectsApi(self._api)
        self._core = client.CoreV1Api(self._api)
        self._lock = threading.Lock()
        self.writes: Counter[str] = Counter()

    def _count(self, what: str) -> None:
        with self._lock:
            self.writes[what] += 1

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        """Merge-patch `.status`; False if the object is gone (deleted meanwhile)."""
        self._count("status")
        try:
            self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, name, {"status": dict(status)}
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
        """A core/v1 Event on a NodeContract. Failures are logged, never fatal: Events are hints."""
        self._count("event")
        stamp = now()
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
        try:
            self._core.create_namespaced_event(ref["namespace"], body)
        except client.ApiException as exc:
            log.warning(
                "could not post event %s on %s/%s: %s",
                reason,
                ref["namespace"],
                ref["name"],
                exc.reason,
            )
