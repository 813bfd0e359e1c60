"""crds/nodecontract.yaml and the pydantic model must accept and reject exactly the same specs."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from contract_operator.adapters.create_requests import new_topic
from contract_operator.core.snapshot import TopicRequest
from contract_operator.model import contract as model
from contract_operator.model import limits
from contract_operator.model.contract import Contract, ContractError

from .client import client_library

ROOT = Path(__file__).resolve().parents[2]
CRD = yaml.safe_load((ROOT / "crds" / "nodecontract.yaml").read_text())
CHART_CRD = yaml.safe_load(
    (ROOT / "helm" / "contract-operator" / "crds" / "nodecontract.yaml").read_text()
)
(VERSION,) = CRD["spec"]["versions"]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]
SPEC = SCHEMA["properties"]["spec"]
EVENT_BUS = SPEC["properties"]["eventBus"]
PUBLISH = EVENT_BUS["properties"]["publishTopics"]
SUBSCRIBE = EVENT_BUS["properties"]["subscribeTopics"]
TOPIC = PUBLISH["items"]


def test_crd_names_and_version_are_the_public_ones() -> None:
    names = CRD["spec"]["names"]
    assert (CRD["spec"]["group"], VERSION["name"]) == (model.GROUP, model.VERSION)
    assert model.API_VERSION == "eventbus.dev/v1alpha1"
    assert CRD["metadata"]["name"] == f"{model.PLURAL}.{model.GROUP}"
    assert (names["kind"], names["plural"], names["shortNames"]) == (
        model.KIND,
        model.PLURAL,
        ["nc"],
    )
    assert CRD["spec"]["scope"] == "Namespaced"
    assert VERSION["served"] and VERSION["storage"] and VERSION["subresources"] == {"status": {}}


def _spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]  # type: ignore[no-any-return]


def _limits_in(spec: dict[str, Any]) -> dict[str, Any]:
    """Every limit the CRD schema carries, by the name of the model constant it must equal."""
    bus = spec["properties"]["eventBus"]["properties"]
    topic = bus["publishTopics"]["items"]["properties"]
    return {
        "TOPIC_NAME_MAX_LENGTH": topic["name"]["maxLength"],
        "SUBSCRIBED_NAME_MAX_LENGTH": bus["subscribeTopics"]["items"]["maxLength"],
        "NODE_MAX_LENGTH": spec["properties"]["node"]["maxLength"],
        "MIN_PARTITIONS": topic["partitions"]["minimum"],
        "MAX_PARTITIONS": topic["partitions"]["maximum"],
        "MIN_REPLICATION_FACTOR": topic["replicationFactor"]["minimum"],
        "MAX_REPLICATION_FACTOR": topic["replicationFactor"]["maximum"],
        "MAX_CONFIG_ENTRIES": topic["config"]["maxProperties"],
        "MAX_CONFIG_VALUE_LENGTH": topic["config"]["additionalProperties"]["maxLength"],
        "MAX_PUBLISH_TOPICS": bus["publishTopics"]["maxItems"],
        "MAX_SUBSCRIBE_TOPICS": bus["subscribeTopics"]["maxItems"],
    }


MODEL_LIMITS = {
    **{name: getattr(limits, name) for name in dir(limits) if name.isupper() and "_" in name},
    "SUBSCRIBED_NAME_MAX_LENGTH": limits.TOPIC_NAME_MAX_LENGTH,
}


@pytest.mark.parametrize("crd", [CRD, CHART_CRD], ids=["crds", "chart"])
def test_crd_limits_equal_the_model_limits(crd: dict[str, Any]) -> None:
    found = _limits_in(_spec_schema(crd))
    assert found == {name: MODEL_LIMITS[name] for name in found}


def client_builds(request: TopicRequest) -> None:
    """Hand the create request to the client library, which checks ranges before sending
    (NewTopic itself accepts anything): raises ValueError for a value it refuses."""
    client_library().create_topics([new_topic(request)], request_timeout=0.1, operation_timeout=0)


def test_the_model_enforces_each_limit_it_shares_with_the_crd() -> None:
    topic = {"name": "a"}
    for field, good, bad, limit in (
        ("partitions", limits.MAX_PARTITIONS, limits.MAX_PARTITIONS + 1, limits.MAX_PARTITIONS),
        (
            "replicationFactor",
            limits.MAX_REPLICATION_FACTOR,
            limits.MAX_REPLICATION_FACTOR + 1,
            limits.MAX_REPLICATION_FACTOR,
        ),
        (
            "config",
            {"a": "x" * limits.MAX_CONFIG_VALUE_LENGTH},
            {"a": "x" * (limits.MAX_CONFIG_VALUE_LENGTH + 1)},
            limits.MAX_CONFIG_VALUE_LENGTH,
        ),
    ):
        assert model_accepts(pub(**{field: good}))
        with pytest.raises(ContractError) as info:
            Contract.from_manifest(
                {"node": "a", "eventBus": {"publishTopics": [topic | {field: bad}]}}, "t"
            )
        # The message names the limit and why it exists.
        assert f"most {limit}" in str(info.value) or f"to {limit}" in str(info.value)


def test_the_client_library_accepts_every_admitted_partition_count_and_factor() -> None:
    for partitions in (limits.MIN_PARTITIONS, limits.MAX_PARTITIONS, None):
        for factor in (limits.MIN_REPLICATION_FACTOR, limits.MAX_REPLICATION_FACTOR, None):
            client_builds(TopicRequest("a", partitions, factor, {"a": "x" * 4096}))
    with pytest.raises(ValueError, match="100000"):
        client_builds(TopicRequest("a", limits.MAX_PARTITIONS + 1, None))


def test_model_constants_equal_the_crd_values() -> None:
    name = TOPIC["properties"]["name"]
    assert name["pattern"] == model.TOPIC_NAME_PATTERN
    assert SUBSCRIBE["items"]["pattern"] == model.TOPIC_NAME_PATTERN
    assert SPEC["properties"]["node"]["pattern"] == model.NODE_PATTERN
    assert set(SPEC["required"]) == {"node", "eventBus"}
    assert TOPIC["required"] == ["name"]


def test_no_defaults_omitted_means_the_cluster_default() -> None:
    # A default here would create unreplicated topics on a three-broker cluster and report
    # drift forever where the cluster raises the factor: neither the CRD nor the model has one.
    topic = model.PublishTopic.model_validate({"name": "a"})
    assert "default" not in TOPIC["properties"]["partitions"]
    assert "default" not in TOPIC["properties"]["replicationFactor"]
    assert (topic.partitions, topic.replication_factor) == (None, None)


def test_list_semantics_reject_duplicates_at_admission() -> None:
    assert PUBLISH["x-kubernetes-list-type"] == "map"
    assert PUBLISH["x-kubernetes-list-map-keys"] == ["name"]
    assert SUBSCRIBE["x-kubernetes-list-type"] == "set"


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for v in node.values() for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


def test_crd_patterns_are_re2_compatible() -> None:
    # The apiserver compiles patterns with Go's RE2: no lookarounds, no backreferences.
    patterns = _patterns(SCHEMA)
    assert len(patterns) == 3
    for pattern in patterns:
        assert not re.search(r"\(\?[=!<]|\\[1-9]", pattern), pattern


# --- Accept/reject table, fed to both the model and an emulation of the apiserver. ----------


def _drop_nulls(value: Any) -> Any:
    """The apiserver drops null fields (none is nullable) before validation."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _list_types_ok(schema: dict[str, Any], value: Any) -> bool:
    """x-kubernetes-list-type set/map uniqueness, which OpenAPI validators do not know."""
    if isinstance(value, list):
        kind = schema.get("x-kubernetes-list-type")
        if kind == "set" and len({repr(v) for v in value}) != len(value):
            return False
        if kind == "map":
            keys = [tuple(v.get(k) for k in schema["x-kubernetes-list-map-keys"]) for v in value]
            if len(set(keys)) != len(keys):
                return False
        return all(_list_types_ok(schema.get("items", {}), v) for v in value)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return all(_list_types_ok(props.get(k, {}), v) for k, v in value.items())
    return True


def crd_accepts(spec: dict[str, Any]) -> bool:
    spec = _drop_nulls(copy.deepcopy(spec))
    return OAS30Validator(SPEC).is_valid(spec) and _list_types_ok(SPEC, spec)


def model_accepts(spec: dict[str, Any]) -> bool:
    obj = {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {"name": "n", "namespace": "agents"},
        "spec": copy.deepcopy(spec),
    }
    try:
        Contract.from_manifest(obj, "table")
    except ContractError:
        return False
    return True


def bus(**event_bus: Any) -> dict[str, Any]:
    return {"node": "router", "eventBus": event_bus}


def pub(**topic: Any) -> dict[str, Any]:
    return bus(publishTopics=[{"name": "onex.evt.router.routing-complete.v1", **topic}])


def sub(*names: Any) -> dict[str, Any]:
    return bus(subscribeTopics=list(names))


GOOD = {
    "minimal": bus(),
    "full": pub(partitions=6, replicationFactor=3, config={"retention.ms": "604800000"}),
    "config integer": pub(config={"retention.ms": 604800000}),
    "three dots": sub("..."),
    "leading dot": sub(".internal"),
    "249 chars": sub("a" * 249),
    "mixed case legacy name": sub("Legacy_Topic-1"),
    "null list": bus(subscribeTopics=None),
    "null partitions": pub(partitions=None),
    "max subscriptions": sub(*[f"t{i}" for i in range(limits.MAX_SUBSCRIBE_TOPICS)]),
    "max config": pub(config={f"k{i}": "v" for i in range(limits.MAX_CONFIG_ENTRIES)}),
    "63 char node": {"node": "a" * 63, "eventBus": {}},
    "max partitions": pub(partitions=limits.MAX_PARTITIONS),
    "max replication factor": pub(replicationFactor=limits.MAX_REPLICATION_FACTOR),
    "longest config value": pub(config={"a": "x" * limits.MAX_CONFIG_VALUE_LENGTH}),
    "large integer config value": pub(config={"retention.bytes": 2**62}),
    "omitted partitions": pub(),
}

BAD = {
    "no node": {"eventBus": {}},
    "no eventBus": {"node": "router"},
    "uppercase node": {"node": "Router", "eventBus": {}},
    "node ends with dash": {"node": "router-", "eventBus": {}},
    "64 char node": {"node": "a" * 64, "eventBus": {}},
    "topic without name": bus(publishTopics=[{"partitions": 3}]),
    "dot": sub("."),
    "dot dot": sub(".."),
    "empty name": sub(""),
    "space in name": sub("routing complete"),
    "slash in name": sub("a/b"),
    "250 chars": sub("a" * 250),
    "zero partitions": pub(partitions=0),
    "zero replication factor": pub(replicationFactor=0),
    "partitions above the client's limit": pub(partitions=limits.MAX_PARTITIONS + 1),
    "partitions of a billion": pub(partitions=1_000_000_000),
    "replication factor above the limit": pub(replicationFactor=limits.MAX_REPLICATION_FACTOR + 1),
    "broker default spelled -1": pub(partitions=-1),
    "config value too long": pub(config={"a": "x" * (limits.MAX_CONFIG_VALUE_LENGTH + 1)}),
    "string partitions": pub(partitions="6"),
    "boolean partitions": pub(partitions=True),
    "float partitions": pub(partitions=1.5),
    "boolean config value": pub(config={"unclean.leader.election.enable": False}),
    "list config value": pub(config={"a": ["b"]}),
    "config is a list": pub(config=["retention.ms"]),
    "too many config entries": pub(
        config={f"k{i}": "v" for i in range(limits.MAX_CONFIG_ENTRIES + 1)}
    ),
    "duplicate publish": bus(publishTopics=[{"name": "a"}, {"name": "a", "partitions": 2}]),
    "duplicate subscribe": sub("a", "a"),
    "too many subscriptions": sub(*[f"t{i}" for i in range(limits.MAX_SUBSCRIBE_TOPICS + 1)]),
    "too many publications": bus(
        publishTopics=[{"name": f"t{i}"} for i in range(limits.MAX_PUBLISH_TOPICS + 1)]
    ),
    "subscription is a number": sub(42),
    "subscribeTopics is a string": bus(subscribeTopics="a"),
}


@pytest.mark.parametrize("spec", GOOD.values(), ids=GOOD.keys())
def test_both_accept(spec: dict[str, Any]) -> None:
    assert (crd_accepts(spec), model_accepts(spec)) == (True, True)


@pytest.mark.parametrize("spec", BAD.values(), ids=BAD.keys())
def test_both_reject(spec: dict[str, Any]) -> None:
    assert (crd_accepts(spec), model_accepts(spec)) == (False, False)


def test_unknown_fields_are_the_one_deliberate_difference() -> None:
    # The apiserver prunes unknown fields silently; the model rejects them so that a typo
    # such as replicationFactr fails in CI instead of vanishing at apply time.
    spec = pub(replicationFactr=3)
    assert (crd_accepts(spec), model_accepts(spec)) == (True, False)


def test_example_manifests_are_valid_for_the_crd() -> None:
    for path in sorted((ROOT / "examples" / "nodecontracts").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == f"{CRD['spec']['group']}/{VERSION['name']}"
        assert doc["metadata"]["namespace"] == "agents"
        assert crd_accepts(doc["spec"]), path


def _policy_variables() -> dict[str, str]:
    import helm_python as helm

    with helm.Chart.load(str(ROOT / "helm" / "contract-operator")) as chart:
        manifests = chart.render({}, name="co", namespace="x")
    (vap,) = [
        d
        for path, text in manifests.items()
        if path.endswith("admission-policy.yaml")
        for d in yaml.safe_load_all(text)
        if d and d["kind"] == "ValidatingAdmissionPolicy"
    ]
    return {v["name"]: v["expression"] for v in vap["spec"]["variables"]}


def test_policy_config_rules_carry_the_model_and_core_rules() -> None:
    """The policy's CEL on `config` is the model's key pattern and core's whole-number rule."""
    from contract_operator.core.topic_settings import INTEGER_CONFIGS, is_integer_config

    variables = _policy_variables()
    keys, numbers = variables["badKeys"], variables["notWhole"]
    assert f"k.matches('{model.CONFIG_KEY_PATTERN}')" in keys
    listed = set(re.findall(r"'([a-z.]+)'", numbers.split(" in ")[1].split("]")[0]))
    assert listed == {k for k in INTEGER_CONFIGS if not k.endswith((".ms", ".bytes"))}
    assert all(is_integer_config(k) for k in listed)
    assert "k.endsWith('.ms')" in numbers and "k.endsWith('.bytes')" in numbers


def test_chart_crd_is_the_crd() -> None:
    assert (ROOT / "crds" / "nodecontract.yaml").read_text() == (
        ROOT / "helm" / "contract-operator" / "crds" / "nodecontract.yaml"
    ).read_text()
