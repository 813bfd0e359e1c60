"""Contracts as AsyncAPI 3.0 documents (the reading side, and what the extensions mean, is in
model/asyncapi.py).

A topic is a channel (`address` the topic name); a published topic is a `send` operation and a
subscribed one a `receive`. Partitions, replicas and configs travel in the Kafka channel
binding; a config value the binding's schema would type differently than written (e.g.
`retention.ms: "7d"`, or `"0100"`) goes to the binding's `x-eventbus-config` instead, so a
write and a read give back exactly the contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from contract_operator.model.asyncapi import (
    ASYNCAPI_VERSION,
    CONFIG_EXTENSION,
    CONTRACT_EXTENSION,
    EXTENSION,
    KAFKA_BINDING_VERSION,
)
from contract_operator.model.contract import Contract, PublishTopic

# topicConfiguration entries the Kafka binding types, with the least value it admits.
_TYPED_INTS = {"retention.ms": -1, "retention.bytes": -1, "delete.retention.ms": 0}
_TYPED_INTS["max.message.bytes"] = 0
_TYPED_BOOLS = {"confluent.key.schema.validation", "confluent.value.schema.validation"}
_POLICIES = {"compact", "delete"}
_INT = re.compile(r"^-?[0-9]+$")


def _typed(key: str, value: str) -> Any:
    """The binding's type for a config value when it gives back `value` exactly, else None."""
    if key in _TYPED_INTS:
        ok = _INT.match(value) and str(int(value)) == value and int(value) >= _TYPED_INTS[key]
        return int(value) if ok else None
    if key == "cleanup.policy":
        parts = value.split(",")
        return parts if value and all(p in _POLICIES for p in parts) else None
    if key in _TYPED_BOOLS:
        return value == "true" if value in ("true", "false") else None
    return value


def _binding(topic: PublishTopic | None, name: str) -> dict[str, Any]:
    kafka: dict[str, Any] = {"topic": name}
    if topic is not None:
        if topic.partitions is not None:
            kafka["partitions"] = topic.partitions
        if topic.replication_factor is not None:
            kafka["replicas"] = topic.replication_factor
        typed, raw = {}, {}
        for key, value in topic.config.items():
            converted = _typed(key, value)
            if converted is None:
                raw[key] = value
            else:
                typed[key] = converted
        if typed:
            kafka["topicConfiguration"] = typed
        if raw:
            kafka[CONFIG_EXTENSION] = raw
    kafka["bindingVersion"] = KAFKA_BINDING_VERSION
    return kafka


def _identity(contract: Contract) -> dict[str, str]:
    out = {"node": contract.node}
    if contract.shape == "manifest":
        out["name"] = contract.name
        if contract.namespace:
            out["namespace"] = contract.namespace
    return out


def _settings(topic: PublishTopic | None) -> tuple[Any, ...]:
    if topic is None:
        return ()
    return (topic.partitions, topic.replication_factor, tuple(sorted(topic.config.items())))


def to_asyncapi(contracts: Sequence[Contract], title: str | None = None) -> dict[str, Any]:
    """One AsyncAPI 3.0 document for `contracts` (one contract: that node's document)."""
    channels: dict[str, Any] = {}
    ids: dict[tuple[str, tuple[Any, ...]], str] = {}
    operations: dict[str, Any] = {}

    def channel(name: str, topic: PublishTopic | None) -> str:
        """The channel of `name` with these settings (a second set gets its own channel)."""
        key = (name, _settings(topic))
        if key not in ids:
            cid, n = name, 1
            while cid in channels:
                n += 1
                cid = f"{name}-{n}"
            ids[key] = cid
            channels[cid] = {"address": name, "bindings": {"kafka": _binding(topic, name)}}
        return ids[key]

    for contract in contracts:
        declared = {t.name: t for t in contract.published}
        roles = [("send", t.name) for t in contract.published]
        roles += [("receive", s) for s in contract.subscribed]
        for action, name in roles:
            # A subscriber shares its publisher's channel when this document has one.
            settings = declared.get(name) if action == "send" else None
            cid = channel(name, settings) if action == "send" else _reader_channel(ids, name)
            cid = cid or channel(name, None)
            op = {"action": action, "channel": {"$ref": f"#/channels/{_escape(cid)}"}}
            if len(contracts) > 1:
                op[CONTRACT_EXTENSION] = contract.key
                operations[f"{contract.key.replace('/', '.')}.{action}.{cid}"] = op
            else:
                operations[f"{action}.{cid}"] = op
    info: dict[str, Any] = {
        "title": title or (contracts[0].node if len(contracts) == 1 else "event bus"),
        "version": "1.0.0",
        EXTENSION: {"contracts": [_identity(c) for c in contracts]},
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "channels": channels,
        "operations": operations,
    }


def _reader_channel(ids: Mapping[tuple[str, tuple[Any, ...]], str], name: str) -> str | None:
    return next((cid for (topic, _), cid in ids.items() if topic == name), None)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
