"""Small builders for contracts and broker snapshots used by the pure-logic tests."""

from __future__ import annotations

from typing import Any

from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic
from contract_operator.model.contract import Contract


def contract(
    name: str,
    node: str | None = None,
    publish: list[dict[str, Any] | str] = (),  # type: ignore[assignment]
    subscribe: list[str] = (),  # type: ignore[assignment]
    namespace: str = "agents",
    created: str = "2026-01-01T00:00:00Z",
) -> Contract:
    topics = [{"name": p} if isinstance(p, str) else p for p in publish]
    return Contract.from_manifest(
        {
            "apiVersion": "eventbus.dev/v1alpha1",
            "kind": "NodeContract",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": created,
                "generation": 1,
                "uid": f"uid-{name}",
            },
            "spec": {
                "node": node or name,
                "eventBus": {"publishTopics": topics, "subscribeTopics": list(subscribe)},
            },
        },
        source=f"{namespace}/{name}",
    )


def broker(*topics: ObservedTopic, extra: tuple[str, ...] = ()) -> BrokerSnapshot:
    return BrokerSnapshot(
        {t.name: t for t in topics}, frozenset(t.name for t in topics) | frozenset(extra)
    )


def observed(
    name: str, partitions: int = 1, replication_factor: int = 1, **config: str
) -> ObservedTopic:
    return ObservedTopic(name, partitions, replication_factor, dict(config))
