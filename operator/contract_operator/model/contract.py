"""One pydantic model for a node's contract, read from a NodeContract manifest or a contract.yaml.

The patterns below and the limits in model/limits.py are the CRD's admission rules
(crds/nodecontract.yaml); the model enforces the same ones so that `validate` in CI rejects
exactly what the apiserver would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from contract_operator.model.field_errors import (
    CAMEL_TO_SNAKE,
    field_errors,
    snake_path,
)
from contract_operator.model.field_errors import ContractError as ContractError
from contract_operator.model.field_errors import FieldError as FieldError
from contract_operator.model.limits import (
    MAX_CONFIG_ENTRIES,
    MAX_CONFIG_VALUE_LENGTH,
    MAX_PARTITIONS,
    MAX_PUBLISH_TOPICS,
    MAX_REPLICATION_FACTOR,
    MAX_SUBSCRIBE_TOPICS,
    MIN_PARTITIONS,
    MIN_REPLICATION_FACTOR,
    NODE_MAX_LENGTH,
    TOPIC_NAME_MAX_LENGTH,
)

GROUP = "eventbus.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "NodeContract"
PLURAL = "nodecontracts"
PAUSED_ANNOTATION = f"{GROUP}/paused"

# Kafka-legal topic names: 1-249 of [a-zA-Z0-9._-], except "." and "..". Written without
# lookarounds so the apiserver's RE2 accepts the same pattern.
TOPIC_NAME_PATTERN = r"^([a-zA-Z0-9._-]*[a-zA-Z0-9_-][a-zA-Z0-9._-]*|\.{3,})$"
NODE_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
# Kafka and Redpanda topic config names (retention.ms, redpanda.remote.read, ...); the CRD's CEL
# rule on `config` carries the same pattern.
CONFIG_KEY_PATTERN = r"^[a-z0-9]+([._-][a-z0-9]+)*$"

_TOPIC_NAME_RE = re.compile(TOPIC_NAME_PATTERN)
_NODE_RE = re.compile(NODE_PATTERN)
_CONFIG_KEY_RE = re.compile(CONFIG_KEY_PATTERN)


def _topic_name(name: str) -> str:
    if len(name) > TOPIC_NAME_MAX_LENGTH or not _TOPIC_NAME_RE.match(name):
        raise PydanticCustomError(
            "topic_name",
            "{name} is not a legal Kafka topic name: use 1-249 characters from "
            "a-z A-Z 0-9 . _ - (and not '.' or '..')",
            {"name": repr(name)},
        )
    return name


def _node_name(node: str) -> str:
    if len(node) > NODE_MAX_LENGTH or not _NODE_RE.match(node):
        raise PydanticCustomError(
            "node_name",
            "{node} is not a valid node (producer segment): use 1-63 characters from "
            "a-z 0-9 and '-', starting and ending with a letter or digit",
            {"node": repr(node)},
        )
    return node


def _config_values(value: Any) -> Any:
    """YAML users write `retention.ms: 604800000`; Kafka wants strings, so integers are read as
    strings (the CRD accepts int-or-string). Booleans and floats are rejected, as the CRD does,
    because their string form is ambiguous (True vs true, 1e3 vs 1000)."""
    if not isinstance(value, Mapping):
        return value
    out: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and not _CONFIG_KEY_RE.match(key):
            raise PydanticCustomError(
                "config_key",
                "config key {key} is not a topic config name: use the lowercase dotted name "
                "Kafka documents, e.g. retention.ms",
                {"key": repr(key)},
            )
        if isinstance(item, bool | float):
            raise PydanticCustomError(
                "config_value",
                "config {key}: {item} is not a string or an integer; quote it, "
                "e.g. {key}: {quoted}",
                {"key": str(key), "item": repr(item), "quoted": f'"{str(item).lower()}"'},
            )
        out[key] = str(item) if isinstance(item, int) else item
    return out


def _drop_nulls(value: Any) -> Any:
    """The apiserver drops null fields before defaulting; treating null as unset here keeps the
    model and the CRD in agreement (and `subscribe_topics:` with nothing under it is harmless)."""
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if v is not None}
    return value


TopicName = Annotated[StrictStr, AfterValidator(_topic_name)]
NodeName = Annotated[StrictStr, AfterValidator(_node_name)]
ConfigValue = Annotated[StrictStr, StringConstraints(max_length=MAX_CONFIG_VALUE_LENGTH)]
TopicConfig = Annotated[
    dict[StrictStr, ConfigValue],
    BeforeValidator(_config_values),
    Field(max_length=MAX_CONFIG_ENTRIES),
]


def _aliases(camel: str) -> AliasChoices:
    return AliasChoices(camel, CAMEL_TO_SNAKE[camel])


class _Strict(BaseModel):
    # Unknown keys are rejected so a typo such as `replication_factr` is caught in CI; the
    # apiserver would prune it silently instead.
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_unset(cls, data: Any) -> Any:
        return _drop_nulls(data)


class PublishTopic(_Strict):
    """A topic the node publishes; the publisher owns its settings.

    Omitted partitions / replication factor (None) mean the cluster's default: the create
    request asks the broker for its own default, and they are never compared for drift.
    """

    name: TopicName
    partitions: StrictInt | None = Field(default=None, ge=MIN_PARTITIONS, le=MAX_PARTITIONS)
    replication_factor: StrictInt | None = Field(
        default=None,
        ge=MIN_REPLICATION_FACTOR,
        le=MAX_REPLICATION_FACTOR,
        validation_alias=_aliases("replicationFactor"),
    )
    config: TopicConfig = Field(default_factory=dict)


def _first_duplicate(names: list[str]) -> tuple[str, int, int] | None:
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            return name, seen[name], index
        seen[name] = index
    return None


def _duplicate_error(names: list[str]) -> None:
    duplicate = _first_duplicate(names)
    if duplicate is not None:
        name, first, again = duplicate
        raise PydanticCustomError(
            "duplicate_topic",
            "{name} is listed twice (items {first} and {again})",
            {"name": name, "first": first, "again": again},
        )


class EventBus(_Strict):
    """What the node publishes and subscribes to."""

    publish_topics: list[PublishTopic] = Field(
        default_factory=list,
        max_length=MAX_PUBLISH_TOPICS,
        validation_alias=_aliases("publishTopics"),
    )
    subscribe_topics: list[TopicName] = Field(
        default_factory=list,
        max_length=MAX_SUBSCRIBE_TOPICS,
        validation_alias=_aliases("subscribeTopics"),
    )

    @field_validator("publish_topics")
    @classmethod
    def _unique_publish(cls, topics: list[PublishTopic]) -> list[PublishTopic]:
        _duplicate_error([t.name for t in topics])
        return topics

    @field_validator("subscribe_topics")
    @classmethod
    def _unique_subscribe(cls, topics: list[str]) -> list[str]:
        _duplicate_error(topics)
        return topics


class ContractSpec(_Strict):
    """The node and its event-bus surface (a NodeContract's spec, or a whole contract.yaml)."""

    node: NodeName
    event_bus: EventBus = Field(validation_alias=_aliases("eventBus"))


class _Metadata(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    name: StrictStr
    namespace: StrictStr | None = None
    creation_timestamp: datetime | StrictStr | None = Field(
        default=None, validation_alias=AliasChoices("creationTimestamp", "creation_timestamp")
    )
    generation: StrictInt | None = None
    uid: StrictStr | None = None
    annotations: dict[str, Any] | None = None


class _Manifest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    api_version: Literal["eventbus.dev/v1alpha1"] = Field(
        validation_alias=AliasChoices("apiVersion", "api_version")
    )
    kind: Literal["NodeContract"]
    metadata: _Metadata
    spec: ContractSpec


def is_manifest(obj: Mapping[str, Any]) -> bool:
    """A manifest is any document with Kubernetes object keys; otherwise it is a contract.yaml."""
    return any(key in obj for key in ("apiVersion", "kind", "metadata", "spec"))


class Contract(BaseModel):
    """A node's contract plus where it came from."""

    model_config = ConfigDict(frozen=True)

    name: str
    namespace: str | None
    spec: ContractSpec
    source: str  # file path, or "namespace/name" for cluster objects
    created: str | None = None  # creationTimestamp: the oldest declaration wins a conflict
    generation: int | None = None
    uid: str | None = None
    # Field paths in problems are spelled the way the author wrote the document.
    shape: Literal["manifest", "file"] = "manifest"
    # The annotation eventbus.dev/paused: "true": nothing is created for this contract (its
    # drift and wiring are still reported) until the annotation is removed.
    paused: bool = False
    # The annotation's value as written when it is neither "true" nor "false": the contract is
    # then paused (creating is the step that cannot be undone) and warned about.
    pause_unclear: str | None = None

    @property
    def key(self) -> str:
        """Identity across the set: "namespace/name", or the name when there is no namespace."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def node(self) -> str:
        return self.spec.node

    @property
    def published(self) -> list[PublishTopic]:
        return self.spec.event_bus.publish_topics

    @property
    def subscribed(self) -> list[str]:
        return self.spec.event_bus.subscribe_topics

    def field_path(self, role: Literal["publish", "subscribe"], index: int) -> str:
        """The path of the index-th published (its name) or subscribed topic."""
        if role == "publish":
            path = f"spec.eventBus.publishTopics[{index}].name"
        else:
            path = f"spec.eventBus.subscribeTopics[{index}]"
        return path if self.shape == "manifest" else snake_path(path.removeprefix("spec."))

    @classmethod
    def from_manifest(cls, obj: Any, source: str) -> Contract:
        """Read a NodeContract manifest or a contract.yaml document; raise ContractError."""
        if not isinstance(obj, Mapping):
            raise ContractError(
                source,
                [
                    FieldError(
                        "",
                        "not-a-mapping",
                        f"expected a mapping, got {type(obj).__name__}",
                        "A contract is a NodeContract manifest or a mapping with `node` "
                        "and `event_bus`.",
                    )
                ],
            )
        if is_manifest(obj):
            try:
                manifest = _Manifest.model_validate(obj)
            except ValidationError as exc:
                raise ContractError(source, field_errors(exc, "manifest")) from None
            meta = manifest.metadata
            return cls(
                name=meta.name,
                namespace=meta.namespace,
                spec=manifest.spec,
                source=source,
                created=_timestamp(meta.creation_timestamp),
                generation=meta.generation,
                uid=meta.uid,
                shape="manifest",
                **_pause((meta.annotations or {}).get(PAUSED_ANNOTATION)),
            )
        try:
            spec = ContractSpec.model_validate(obj)
        except ValidationError as exc:
            raise ContractError(source, field_errors(exc, "file")) from None
        return cls(name=spec.node, namespace=None, spec=spec, source=source, shape="file")


def _pause(value: object) -> dict[str, Any]:
    """The pause annotation read: "true" pauses, "false" or none does not, and anything else
    pauses too, marked unclear (a user who wrote `paused: "yes"` meant it)."""
    if value is None:
        return {"paused": False}
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return {"paused": text == "true"}
    return {"paused": True, "pause_unclear": str(value)}


def _timestamp(value: datetime | str | None) -> str | None:
    """RFC 3339 in UTC with a Z, so timestamps compare correctly as strings."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
