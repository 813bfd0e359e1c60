"""Property: whatever the CRD schema admits can never break the planner or the create request.

Specs are generated from crds/nodecontract.yaml's own openAPIV3Schema (types, patterns,
minimum/maximum, maxLength, maxItems, list uniqueness), so a limit added to the CRD is fuzzed
without touching this file. Every admitted spec is either parsed, planned against a broker
snapshot and turned into create requests the client library accepts, or refused by the parser
with a clean ContractError.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from contract_operator.adapters.create_requests import new_topic
from contract_operator.core.planner import plan
from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic
from contract_operator.model.contract import Contract, ContractError

from .client import client_library
from .test_crd_model_agree import SPEC, crd_accepts

# Long lists make examples slow without finding more: the limits themselves are tested in
# test_crd_model_agree.py.
MAX_GENERATED_ITEMS = 4
NODES = ("router", "billing")
KNOWN_KEYS = (
    "retention.ms",
    "retention.bytes",
    "cleanup.policy",
    "min.insync.replicas",
    "max.message.bytes",
    "min.cleanable.dirty.ratio",
)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    limit = schema.get("maxLength")
    if "pattern" in schema:
        strategy = st.from_regex(schema["pattern"], fullmatch=True)
        return strategy.filter(lambda s: limit is None or len(s) <= limit)
    return st.text(max_size=limit if limit is not None else 50)


def _integer(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))


def from_schema(schema: dict[str, Any], path: str = "") -> st.SearchStrategy[Any]:
    """A strategy for the values `schema` admits (the OpenAPI subset the CRD uses)."""
    extra = EXTRAS.get(path)
    strategy = _from_schema(schema, path)
    # Three to one for the plausible values: random ones mostly end as Invalid.
    return st.one_of(extra, extra, extra, strategy) if extra is not None else strategy


def _from_schema(schema: dict[str, Any], path: str) -> st.SearchStrategy[Any]:
    if schema.get("x-kubernetes-int-or-string"):
        return st.one_of(st.integers(), _string(schema))
    kind = schema.get("type")
    if kind == "integer":
        return _integer(schema)
    if kind == "string":
        return _string(schema)
    if kind == "array":
        items = from_schema(schema["items"], f"{path}[]")
        size = min(schema.get("maxItems", MAX_GENERATED_ITEMS), MAX_GENERATED_ITEMS)
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "map":
            keys = schema["x-kubernetes-list-map-keys"]
            return st.lists(
                items, max_size=size, unique_by=lambda item: tuple(item.get(k) for k in keys)
            )
        return st.lists(items, max_size=size, unique=list_type == "set")
    if kind == "object":
        properties = schema.get("properties")
        if properties:
            required = set(schema.get("required", ()))
            return st.fixed_dictionaries(
                {k: from_schema(v, f"{path}.{k}") for k, v in properties.items() if k in required},
                optional={
                    k: from_schema(v, f"{path}.{k}")
                    for k, v in properties.items()
                    if k not in required
                },
            )
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            keys = st.one_of(st.text(max_size=30), st.sampled_from(KNOWN_KEYS))
            size = min(schema.get("maxProperties", MAX_GENERATED_ITEMS), MAX_GENERATED_ITEMS)
            return st.dictionaries(keys, from_schema(values, f"{path}{{}}"), max_size=size)
    raise AssertionError(f"{path}: the generator does not know this schema: {schema}")


# Values the schema admits that a random walk would rarely hit: well-formed names under a few
# nodes (so topics get planned for creation, conflict and wire up), and config values near the
# numeric rules. Every generated spec is still checked against the schema below.
_WELL_FORMED = st.builds(
    "onex.{}.{}.{}.v{}".format,
    st.sampled_from(["evt", "cmd", "dlq", "bad"]),
    st.sampled_from(NODES),
    st.sampled_from(["paid", "routing-complete"]),
    st.integers(1, 2),
)
_PLAUSIBLE_TOPIC = st.fixed_dictionaries(
    {"name": _WELL_FORMED},
    optional={
        "partitions": st.integers(1, 100_000),
        "replicationFactor": st.integers(1, 32),
        "config": st.dictionaries(
            st.sampled_from(["retention.ms", "cleanup.policy"]),
            st.sampled_from(["604800000", "-1", "compact"]),
        ),
    },
)
EXTRAS: dict[str, st.SearchStrategy[Any]] = {
    ".node": st.sampled_from(NODES),
    ".eventBus.publishTopics[]": _PLAUSIBLE_TOPIC,
    ".eventBus.publishTopics[].name": _WELL_FORMED,
    ".eventBus.subscribeTopics[]": _WELL_FORMED,
    ".eventBus.publishTopics[].config{}": st.sampled_from(
        ["604800000", "-1", "7d", "compact", "compact,delete", " 1 ", "0.5", "1e3", ""]
    ),
}
SPECS = from_schema(SPEC)


def _manifest(spec: dict[str, Any], index: int, created: str) -> dict[str, Any]:
    return {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {"name": f"c{index}", "namespace": "fuzz", "creationTimestamp": created},
        "spec": spec,
    }


@st.composite
def _snapshot(draw: st.DrawFn, contracts: list[Contract]) -> BrokerSnapshot:
    """Some of the declared topics already on the broker, with settings of their own."""
    names = sorted(
        {t.name for c in contracts for t in c.published}
        | {s for c in contracts for s in c.subscribed}
    )
    existing = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    topics = {}
    for name in existing:
        config = draw(
            st.dictionaries(
                st.sampled_from(KNOWN_KEYS),
                st.one_of(st.none(), st.sampled_from(["-1", "3600000", "delete", "x", "2"])),
            )
        )
        topics[name] = ObservedTopic(
            name, draw(st.integers(1, 12)), draw(st.integers(1, 5)), config
        )
    return BrokerSnapshot(topics, frozenset(topics))


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    specs=st.lists(SPECS, min_size=1, max_size=3),
    created=st.lists(st.sampled_from(["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]), min_size=3),
    data=st.data(),
)
def test_every_admitted_contract_is_planned_or_cleanly_refused(
    specs: list[dict[str, Any]], created: list[str], data: st.DataObject
) -> None:
    assume(all(crd_accepts(spec) for spec in specs))
    contracts = []
    for index, spec in enumerate(specs):
        try:
            contracts.append(Contract.from_manifest(_manifest(spec, index, created[index]), "fuzz"))
        except ContractError as exc:
            assert exc.errors and all(e.message for e in exc.errors)
            event(f"refused by the parser: {exc.errors[0].code}")
    for snapshot in (BrokerSnapshot(), data.draw(_snapshot(contracts))):
        result = plan(contracts, snapshot)
        assert {cp.contract.key for cp in result.contracts} == {c.key for c in contracts}
        event(f"topics to create: {min(len(result.to_create), 2)}")
        event(f"drifted topics: {min(len(result.drifted), 1)}")
        requests = [new_topic(request) for request in result.to_create]
        if requests:
            # The client library checks every range while building the request, before sending.
            client_library().create_topics(requests, request_timeout=0.1, operation_timeout=0)
