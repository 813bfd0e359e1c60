"""AsyncAPI both ways: export -> import gives back every contract exactly; 2.x and 3.0 are read
the way their authors meant; documents are contract sources with wiring checked across them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from contract_operator.core.checks import check_contracts
from contract_operator.model.asyncapi_write import to_asyncapi
from contract_operator.model.contract import Contract, ContractError
from contract_operator.model.loader import load_paths

from .test_contract_fuzz import SPECS
from .test_crd_model_agree import crd_accepts

COMPLETE = "onex.evt.router.routing-complete.v1"


def _contract(spec: dict[str, Any], index: int, shape: str) -> Contract | None:
    doc: dict[str, Any] = dict(spec)
    if shape == "manifest":
        metadata = (
            {"name": f"c{index}", "namespace": "fuzz"} if index % 2 else {"name": f"c{index}"}
        )
        doc = {
            "apiVersion": "eventbus.dev/v1alpha1",
            "kind": "NodeContract",
            "metadata": metadata,
            "spec": spec,
        }
    try:
        return Contract.from_manifest(doc, "fuzz")
    except ContractError:
        return None


def _read_back(docs: list[dict[str, Any]], fmt: str) -> list[Contract]:
    """The documents written to files and read by the one loader, as `validate` would."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for index, doc in enumerate(docs):
            path = Path(tmp) / f"d{index}.asyncapi.{fmt}"
            path.write_text(
                json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc, sort_keys=False)
            )
            paths.append(path)
        loaded = load_paths(paths)
    assert not loaded.problems, loaded.problems
    return loaded.contracts


def _same(a: Contract, b: Contract) -> bool:
    return (a.name, a.namespace, a.shape, a.spec) == (b.name, b.namespace, b.shape, b.spec)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    specs=st.lists(SPECS, min_size=1, max_size=3),
    shapes=st.lists(st.sampled_from(["manifest", "file"]), min_size=3, max_size=3),
    fmt=st.sampled_from(["yaml", "json"]),
)
def test_export_then_import_gives_back_every_contract_exactly(
    specs: list[dict[str, Any]], shapes: list[str], fmt: str
) -> None:
    assume(all(crd_accepts(spec) for spec in specs))
    contracts = [c for i, s in enumerate(specs) if (c := _contract(s, i, shapes[i])) is not None]
    assume(contracts)
    # One document per contract...
    for contract in contracts:
        (back,) = _read_back([to_asyncapi([contract])], fmt)
        assert _same(back, contract), (contract.spec, back.spec)
    # ...and one for the bus, when the contracts' keys are distinct (the loader refuses twins).
    if len({c.key for c in contracts}) == len(contracts):
        back_all = _read_back([to_asyncapi(contracts)], fmt)
        assert len(back_all) == len(contracts)
        assert all(_same(b, c) for b, c in zip(back_all, contracts, strict=True))


def _load(tmp_path: Path, **docs: str) -> Any:
    for name, text in docs.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return load_paths([tmp_path])


V2 = """
asyncapi: 2.6.0
info: {title: Router Service, version: 1.0.0}
channels:
  routing-complete:                  # a channel name that is not the topic
    subscribe: {message: {payload: {type: string}}}   # 2.x: the application sends
    bindings:
      kafka: {topic: onex.evt.router-service.routing-complete.v1, partitions: 6, replicas: 3,
              topicConfiguration: {retention.ms: 604800000, cleanup.policy: [delete]},
              bindingVersion: 0.4.0}
  onex.cmd.gateway.route-request.v1:
    publish: {$ref: '#/components/operationTraits/any'}   # 2.x: the application receives
  shared:
    $ref: '#/components/channels/shared'
components:
  operationTraits: {any: {}}
  channels:
    shared:
      publish: {}
      bindings: {kafka: {topic: onex.evt.billing.paid.v1}}
"""


def test_asyncapi_2_subscribe_is_what_the_application_sends(tmp_path: Path) -> None:
    (contract,) = _load(tmp_path, router=V2).contracts
    assert contract.node == "router-service"
    (topic,) = contract.published
    assert topic.name == "onex.evt.router-service.routing-complete.v1"  # the binding's topic
    assert (topic.partitions, topic.replication_factor) == (6, 3)
    assert topic.config == {"retention.ms": "604800000", "cleanup.policy": "delete"}
    assert contract.subscribed == ["onex.cmd.gateway.route-request.v1", "onex.evt.billing.paid.v1"]


V3_FOREIGN = """
asyncapi: 3.0.0
info: {title: notifier, version: 2.1.0}
channels:
  completions:
    address: onex.evt.router.routing_complete.v1
  alerts:
    address: ignored-address
    bindings: {kafka: {topic: onex.evt.notifier.alert-sent.v1, replicas: 3}}
operations:
  onCompletion: {action: receive, channel: {$ref: '#/channels/completions'}}
  sendAlert: {action: send, channel: {$ref: '#/channels/alerts'}}
"""


def test_asyncapi_3_documents_are_wired_across_documents_with_near_misses(tmp_path: Path) -> None:
    router = yaml.safe_dump(
        to_asyncapi(
            [
                Contract.from_manifest(
                    {"node": "router", "event_bus": {"publish_topics": [{"name": COMPLETE}]}}, "r"
                )
            ]
        )
    )
    loaded = _load(tmp_path, router=router, notifier=V3_FOREIGN)
    notifier = next(c for c in loaded.contracts if c.node == "notifier")
    assert [t.name for t in notifier.published] == ["onex.evt.notifier.alert-sent.v1"]
    assert notifier.published[0].replication_factor == 3
    problems = check_contracts(loaded.contracts)
    (wire,) = [p for p in problems if p.code == "broken-wire"]
    assert COMPLETE in wire.message and wire.source.endswith("notifier.yaml")


OPS = "asyncapi: 3.0.0\ninfo: {title: a}\noperations: "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("asyncapi: 1.2.0\ninfo: {title: x}", "version '1.2.0' is not read"),
        ("asyncapi: 3.0.0\ninfo: {title: '***'}", "cannot tell the node"),
        (
            OPS + "{o: {action: send, channel: {$ref: 'other.yaml#/c'}}}",
            "points outside",
        ),
        (
            OPS + "{o: {action: publish, channel: {$ref: '#/c'}}}",
            "send or receive",
        ),
        (
            OPS + "{o: {action: send, channel: {$ref: '#/nope'}}}",
            "points at nothing",
        ),
        ("asyncapi: 3.0.0\ninfo: {title: a}\nchannels: [1]", "channels must be a mapping"),
        (
            "asyncapi: 3.0.0\ninfo: {title: a, x-eventbus: {contracts: [{node: 1}]}}",
            "x-eventbus.contracts",
        ),
        ("asyncapi: 3.0.0\ninfo: a", "info must be a mapping"),
    ],
)
def test_documents_that_cannot_be_read_are_one_clear_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    loaded = _load(tmp_path, doc=text)
    (problem,) = loaded.problems
    assert problem.code == "asyncapi" and message in problem.message, problem.message


def test_an_asyncapi_json_file_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"asyncapi": "3.0.0", "info": {"title": "a"}, "info": {"title": "b"}}')
    (problem,) = load_paths([path]).problems
    assert problem.code == "json-syntax" and "duplicate key 'info'" in problem.message


def test_config_values_the_binding_would_type_otherwise_are_kept_verbatim() -> None:
    config = {
        "retention.ms": "7d",
        "retention.bytes": "-1",
        "cleanup.policy": "compact,delete",
        "max.message.bytes": "0100",
        "segment.ms": "100",
    }
    contract = Contract.from_manifest(
        {"node": "router", "event_bus": {"publish_topics": [{"name": COMPLETE, "config": config}]}},
        "r",
    )
    kafka = to_asyncapi([contract])["channels"][COMPLETE]["bindings"]["kafka"]
    assert kafka["topicConfiguration"] == {
        "retention.bytes": -1,
        "cleanup.policy": ["compact", "delete"],
        "segment.ms": "100",
    }
    assert kafka["x-eventbus-config"] == {"retention.ms": "7d", "max.message.bytes": "0100"}


TYPED_KEYS = [
    "retention.ms",
    "retention.bytes",
    "delete.retention.ms",
    "max.message.bytes",
    "cleanup.policy",
    "confluent.key.schema.validation",
    "segment.ms",
]
TRICKY = ["0100", "-0", "+5", "-2", "-1", "7", "true", "True", "compact,delete", "delete, compact"]


@settings(max_examples=300, deadline=None)
@given(
    config=st.dictionaries(
        st.sampled_from(TYPED_KEYS),
        # Mostly the values at the edge of a type, some random ones of the same letters.
        st.one_of(
            *[st.sampled_from(TRICKY)] * 3, st.text("0123456789-,acdeflmoprtuTF", max_size=8)
        ),
        min_size=3,
        max_size=len(TYPED_KEYS),
    )
)
@example(config={"confluent.key.schema.validation": "True", "retention.ms": "0100"})
def test_every_config_value_survives_the_bindings_types(config: dict[str, str]) -> None:
    topic = {"name": COMPLETE, "config": config}
    contract = Contract.from_manifest(
        {"node": "router", "event_bus": {"publish_topics": [topic]}}, "r"
    )
    (back,) = _read_back([to_asyncapi([contract])], "yaml")
    assert back.published[0].config == contract.published[0].config


_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from(["send", "receive", "#/channels/c", "x", "3.0.0", "2.6.0"]),
)
_JUNK = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "$ref",
                    "action",
                    "channel",
                    "address",
                    "bindings",
                    "kafka",
                    "topic",
                    "partitions",
                    "replicas",
                    "topicConfiguration",
                    "x-eventbus-config",
                    "x-eventbus-contract",
                    "subscribe",
                    "publish",
                    "c",
                    "contracts",
                    "node",
                    "name",
                    "x-eventbus",
                    "title",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


_CHANNEL = st.fixed_dictionaries(
    {},
    optional={
        "address": _JUNK,
        "bindings": st.fixed_dictionaries({"kafka": _JUNK}),
        "subscribe": _JUNK,
        "publish": _JUNK,
    },
)
_OPERATION = st.fixed_dictionaries(
    {"action": st.sampled_from(["send", "receive"]), "channel": st.just({"$ref": "#/channels/c"})},
    optional={"x-eventbus-contract": _JUNK},
)


@settings(max_examples=400, deadline=None)
@given(
    version=st.sampled_from(["3.0.0", "2.6.0", 3, None]),
    info=st.one_of(_JUNK, st.just({"title": "a"})),
    channels=st.one_of(_JUNK, st.fixed_dictionaries({"c": _CHANNEL})),
    operations=st.one_of(_JUNK, st.dictionaries(st.sampled_from("op"), _OPERATION)),
)
@example(  # found by reading the code: an operation naming its contract with a list
    version="3.0.0",
    info={"title": "a"},
    channels={"c": {}},
    operations={
        "o": {"action": "send", "channel": {"$ref": "#/channels/c"}, "x-eventbus-contract": ["x"]}
    },
)
def test_any_document_is_read_or_refused_with_an_asyncapi_error(
    version: Any, info: Any, channels: Any, operations: Any
) -> None:
    from contract_operator.model.asyncapi import AsyncAPIError, contract_documents

    doc = {"asyncapi": version, "info": info, "channels": channels, "operations": operations}
    try:
        documents = contract_documents(doc)
    except AsyncAPIError as exc:
        assert str(exc)
        return
    for document in documents:  # whatever it read, the model judges with a clean error
        try:
            Contract.from_manifest(document, "junk")
        except ContractError as exc:
            assert exc.errors


def test_a_directory_yields_asyncapi_json_files_but_no_other_json(tmp_path: Path) -> None:
    doc = to_asyncapi([Contract.from_manifest({"node": "router", "event_bus": {}}, "r")])
    (tmp_path / "router.asyncapi.json").write_text(json.dumps(doc))
    (tmp_path / "package.json").write_text('{"name": "not a contract"}')
    loaded = load_paths([tmp_path])
    assert [c.node for c in loaded.contracts] == ["router"] and not loaded.problems
