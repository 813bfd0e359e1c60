"""Read the NodeContracts in the cluster (read-only), for `report` and `graph` without PATHs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes import client

from ..core.recreated import RecordedId, recorded_ids
from ..model.contract import GROUP, PLURAL, VERSION
from ..model.loader import LoadResult, load_objects
from .kube import load_client

FAILED = "Failed"
TIMEOUT_S = 30


class ClusterError(Exception):
    """The apiserver could not be read; the message says what to check."""


@dataclass(frozen=True)
class ClusterContracts:
    """Contracts read from the cluster, and what the operator last recorded about them."""

    loaded: LoadResult
    # (contract key, topic) -> message, for topics the operator's last status marks Failed:
    # the broker refused them, which a fresh plan alone would call "missing".
    failures: Mapping[tuple[str, str], str] = field(default_factory=dict)
    namespaces: tuple[str, ...] = ()
    # Each status.topics[] entry's topic id (and the one before a re-creation the operator saw).
    recorded_ids: tuple[RecordedId, ...] = ()


def list_nodecontracts(
    namespaces: Iterable[str] = (), api_client: client.ApiClient | None = None
) -> ClusterContracts:
    """Every NodeContract in `namespaces` (all namespaces when empty), parsed by the one parser.

    One LIST per namespace (or one cluster-wide LIST). A spec the parser rejects becomes a
    Problem, as in `validate`; it never hides the others.
    """
    api = client.CustomObjectsApi(api_client or load_client())
    items: list[dict[str, Any]] = []
    wanted = sorted(set(namespaces))
    try:
        if wanted:
            for ns in wanted:
                listed: Any = api.list_namespaced_custom_object(
                    GROUP, VERSION, ns, PLURAL, _request_timeout=TIMEOUT_S
                )
                items += listed["items"]
        else:
            listed = api.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, _request_timeout=TIMEOUT_S
            )
            items = listed["items"]
    except client.ApiException as exc:
        if exc.status == 404:
            raise ClusterError(
                f"the cluster has no {PLURAL}.{GROUP} resource: install the CRD "
                "(crds/nodecontract.yaml or the Helm chart) first"
            ) from None
        if exc.status in (401, 403):
            raise ClusterError(
                f"not allowed to list {PLURAL}.{GROUP} ({exc.status} {exc.reason}): "
                "check the kubeconfig's user and its RBAC (get/list on nodecontracts)"
            ) from None
        raise ClusterError(f"listing {PLURAL}.{GROUP} failed: {exc.status} {exc.reason}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        host = api.api_client.configuration.host
        raise ClusterError(
            f"cannot reach the Kubernetes API server at {host}: {exc}; check KUBECONFIG and "
            "`kubectl config current-context`"
        ) from None
    items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"].get("name", "")))
    loaded = load_objects((obj, _source(obj)) for obj in items)
    return ClusterContracts(loaded, _failures(items), tuple(wanted), tuple(recorded_ids(items)))


def _source(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _failures(items: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    out = {}
    for obj in items:
        key = _source(obj)
        for topic in ((obj.get("status") or {}).get("topics")) or []:
            if isinstance(topic, Mapping) and topic.get("state") == FAILED and topic.get("name"):
                out[key, str(topic["name"])] = str(topic.get("message") or "the broker refused it")
    return out
