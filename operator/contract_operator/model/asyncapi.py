"""AsyncAPI documents as contracts: 2.x and 3.0 read (model/asyncapi_write.py writes 3.0).

A topic is a channel (`address` the topic name); a published topic is a `send` operation and a
subscribed one a `receive` (in 2.x, `subscribe` means the application sends). Partitions,
replicas and configs travel in the Kafka channel binding; a config value the binding's schema
would type differently than written (e.g. `retention.ms: "7d"`, or `"0100"`) goes to the
binding's `x-eventbus-config` instead, so a write and a read give back exactly the contract.
The contracts a document holds are named in `info.x-eventbus`; a document without it is one
contract whose node is its title.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from contract_operator.model.contract import API_VERSION, KIND, NODE_PATTERN

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
EXTENSION = "x-eventbus"
CONFIG_EXTENSION = "x-eventbus-config"
CONTRACT_EXTENSION = "x-eventbus-contract"  # on an operation: the key of its contract
_MAX_REF_DEPTH = 32


class AsyncAPIError(ValueError):
    """A document this converter cannot read; the message says what to change."""


def is_asyncapi(doc: Any) -> bool:
    return isinstance(doc, Mapping) and "asyncapi" in doc


# --- AsyncAPI 2.x / 3.0 -> contract documents --------------------------------------------------


def _resolve(doc: Mapping[str, Any], node: Any, key: str = "") -> tuple[Any, str]:
    """`node` with local `$ref`s followed, and the last key of the path it was found under."""
    for _ in range(_MAX_REF_DEPTH):
        if not (isinstance(node, Mapping) and "$ref" in node):
            return node, key
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise AsyncAPIError(f"$ref {ref!r} points outside the document: inline it")
        node = doc
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                raise AsyncAPIError(f"$ref {ref!r} points at nothing in the document")
            node = node[key]
    raise AsyncAPIError(f"$ref chain longer than {_MAX_REF_DEPTH}: a cycle?")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AsyncAPIError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _config(kafka: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _mapping(kafka.get("topicConfiguration"), "topicConfiguration").items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = value  # an int or a string; the model refuses anything else by name
    out.update(_mapping(kafka.get(CONFIG_EXTENSION), CONFIG_EXTENSION))
    return out


def _topic(doc: Mapping[str, Any], channel: Any, cid: str) -> tuple[str, dict[str, Any]]:
    """The topic name (the Kafka binding's `topic`, else the address, else the channel's
    name) and its declaration."""
    channel, cid = _resolve(doc, channel, cid)
    if not isinstance(channel, Mapping):
        raise AsyncAPIError(f"channel {cid!r} is not a mapping")
    bindings, _ = _resolve(doc, channel.get("bindings"))
    kafka, _ = _resolve(doc, _mapping(bindings, f"channel {cid!r} bindings").get("kafka"))
    kafka = _mapping(kafka, f"channel {cid!r} bindings.kafka")
    name = kafka.get("topic") or channel.get("address") or cid
    if not isinstance(name, str):
        raise AsyncAPIError(f"channel {cid!r}: the topic name must be a string")
    declared: dict[str, Any] = {"name": name}
    for ours, theirs in (("partitions", "partitions"), ("replicationFactor", "replicas")):
        if kafka.get(theirs) is not None:
            declared[ours] = kafka[theirs]
    config = _config(kafka)
    if config:
        declared["config"] = config
    return name, declared


def _roles(doc: Mapping[str, Any]) -> Iterator[tuple[str | None, str, str, dict[str, Any]]]:
    """(contract key or None, send|receive, topic, declaration) for every operation."""
    version = str(doc.get("asyncapi"))
    if version.startswith("3."):
        _mapping(doc.get("channels"), "channels")
        for oid, op in _mapping(doc.get("operations"), "operations").items():
            op, _ = _resolve(doc, op, oid)
            action = op.get("action") if isinstance(op, Mapping) else None
            if action not in ("send", "receive"):
                raise AsyncAPIError(f"operation {oid!r}: action must be send or receive")
            ref = op.get("channel")
            if not (isinstance(ref, Mapping) and isinstance(ref.get("$ref"), str)):
                raise AsyncAPIError(f"operation {oid!r}: channel must be a $ref to a channel")
            cid = ref["$ref"].rsplit("/", 1)[-1]
            yield (op.get(CONTRACT_EXTENSION), action, *_topic(doc, ref, cid))
    elif version.startswith("2."):
        for cid, channel in _mapping(doc.get("channels"), "channels").items():
            channel, _ = _resolve(doc, channel, cid)
            # 2.x names operations from the client's side: `subscribe` is what the
            # application sends, `publish` what it receives.
            for verb, action in (("subscribe", "send"), ("publish", "receive")):
                if isinstance(channel, Mapping) and verb in channel:
                    op, _ = _resolve(doc, channel[verb])
                    key = op.get(CONTRACT_EXTENSION) if isinstance(op, Mapping) else None
                    yield (key, action, *_topic(doc, channel, cid))
    else:
        raise AsyncAPIError(f"AsyncAPI version {version!r} is not read: use 2.x or 3.0")


def _identities(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    info = _mapping(doc.get("info"), "info")
    ours = info.get(EXTENSION)
    listed = ours.get("contracts") if isinstance(ours, Mapping) else None
    if listed is not None:
        fields = ("node", "name", "namespace")
        if not isinstance(listed, list) or not all(
            isinstance(c, Mapping)
            and isinstance(c.get("node"), str)
            and all(isinstance(c.get(f), str) for f in fields if f in c)
            for c in listed
        ):
            raise AsyncAPIError(
                f"info.{EXTENSION}.contracts must be a list of {{node, name, namespace}} strings"
            )
        return [{f: c[f] for f in fields if f in c} for c in listed]
    title = str(info.get("title") or "")
    node = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    if not re.match(NODE_PATTERN, node):
        raise AsyncAPIError(
            f"cannot tell the node from info.title {title!r}: add info.{EXTENSION}.contracts: "
            "[{node: NAME}] (a lowercase DNS label)"
        )
    return [{"node": node}]


def _key(identity: Mapping[str, str]) -> str:
    name = identity.get("name") or identity["node"]
    return f"{identity['namespace']}/{name}" if identity.get("namespace") else name


def _document(identity: Mapping[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """A manifest when the contract had a name (it was one), else a contract.yaml shape."""
    if not identity.get("name"):
        return body
    metadata = {k: identity[k] for k in ("name", "namespace") if identity.get(k)}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": body}


def contract_documents(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The contract documents (manifests or contract.yaml shapes) an AsyncAPI document holds."""
    identities = _identities(doc)
    keys = [_key(i) for i in identities]
    publish: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in keys}
    subscribe: dict[str, list[str]] = {k: [] for k in keys}
    for key, action, name, declared in _roles(doc):
        if key is not None and not isinstance(key, str):
            raise AsyncAPIError(f"{CONTRACT_EXTENSION} must be a contract's key, got {key!r}")
        if key is None and not keys:
            raise AsyncAPIError(f"info.{EXTENSION}.contracts is empty but operations exist")
        key = key if key is not None else keys[0]
        if key not in publish:
            raise AsyncAPIError(f"an operation names contract {key!r}, not in info.{EXTENSION}")
        if action == "send":
            publish[key].setdefault(name, declared)
        elif name not in subscribe[key]:
            subscribe[key].append(name)
    return [
        _document(
            identity,
            {
                "node": identity["node"],
                "eventBus": {
                    "publishTopics": list(publish[key].values()),
                    "subscribeTopics": subscribe[key],
                },
            },
        )
        for identity, key in zip(identities, keys, strict=True)
    ]
