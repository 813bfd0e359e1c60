"""Contracts written back out as documents the loader reads: a NodeContract manifest (camelCase)
or a contract.yaml (snake_case). Omitted values stay omitted, so "the cluster's default" keeps
its meaning through a write and a read."""

from __future__ import annotations

from typing import Any, Literal

from contract_operator.model.contract import API_VERSION, KIND, ContractSpec
from contract_operator.model.field_errors import CAMEL_TO_SNAKE

Shape = Literal["manifest", "file"]


def _topic(topic: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": topic.name}
    if topic.partitions is not None:
        out["partitions"] = topic.partitions
    if topic.replication_factor is not None:
        out["replicationFactor"] = topic.replication_factor
    if topic.config:
        out["config"] = dict(topic.config)
    return out


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            CAMEL_TO_SNAKE.get(k, k): v if k == "config" else _snake(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def spec_document(spec: ContractSpec) -> dict[str, Any]:
    """The spec in manifest spelling (camelCase)."""
    bus: dict[str, Any] = {}
    bus["publishTopics"] = [_topic(t) for t in spec.event_bus.publish_topics]
    bus["subscribeTopics"] = list(spec.event_bus.subscribe_topics)
    return {"node": spec.node, "eventBus": bus}


def contract_document(
    spec: ContractSpec,
    shape: Shape = "manifest",
    name: str | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """A document `model.loader` parses back into `spec` (and `name` / `namespace`)."""
    body = spec_document(spec)
    if shape == "file":
        return _snake(body)  # type: ignore[no-any-return]
    metadata: dict[str, Any] = {"name": name or spec.node}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": body}
