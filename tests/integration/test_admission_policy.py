"""The chart's ValidatingAdmissionPolicy on the real apiserver agrees with core/naming.py.

The policy is rendered from the chart, its binding narrowed to one test namespace (so the other
tests, which apply rule-breaking names on purpose, are untouched), and the same contracts are
fed to the apiserver (dry run) and to the Python rules.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from kubernetes import client, utils

from contract_operator.core.naming import NamingRules, check_contract
from contract_operator.core.naming_policy import policy_params
from contract_operator.core.topic_settings import config_value_problem, is_integer_config
from contract_operator.model.contract import Contract, ContractError

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "contract-operator"
GROUP, VERSION, PLURAL = "eventbus.dev", "v1alpha1", "nodecontracts"
NAMING_CODES = {"name-pattern", "unknown-kind", "foreign-producer"}
CUSTOM = NamingRules(
    pattern=r"^(?P<team>[a-z]+)-(?P<kind>[a-z]+)-(?P<producer>[a-z0-9]+(?:_[a-z0-9]+)*)-[a-z]+$",
    kinds=frozenset({"event", "command"}),
)

pytestmark = pytest.mark.usefixtures("nodecontract_crd")


def render_policy(release_ns: str, rules: NamingRules, extra: dict[str, Any]) -> list[dict]:
    values = {"admissionPolicy": {"params": policy_params(rules)}, **extra}
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name="co", namespace=release_ns)
    return [
        doc
        for path, text in manifests.items()
        if path.endswith("admission-policy.yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


@pytest.fixture(params=["built-in", "custom"])
def policy(
    request: pytest.FixtureRequest, kube: client.ApiClient
) -> Iterator[tuple[str, NamingRules]]:
    """The chart's policy objects, bound to a fresh namespace only; removed afterwards."""
    rules = NamingRules() if request.param == "built-in" else CUSTOM
    extra = (
        {}
        if request.param == "built-in"
        else {"topicPattern": CUSTOM.pattern, "topicKinds": sorted(CUSTOM.kinds)}
    )
    ns = f"vap-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube)
    core.create_namespace(client.V1Namespace(metadata={"name": ns}))
    docs = render_policy(ns, rules, extra)
    kinds = [d["kind"] for d in docs]
    assert kinds == ["ConfigMap", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
    adm = client.AdmissionregistrationV1Api(kube)
    for doc in docs:
        doc["metadata"]["name"] = f"{doc['metadata']['name']}-{ns}"
    config_map, vap, binding = docs
    binding["spec"]["policyName"] = vap["metadata"]["name"]
    binding["spec"]["paramRef"]["name"] = config_map["metadata"]["name"]
    binding["spec"]["matchResources"] = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}
    }
    utils.create_from_dict(kube, config_map, namespace=ns)
    adm.create_validating_admission_policy(vap)
    adm.create_validating_admission_policy_binding(binding)
    try:
        # The policy is live once a name it must refuse is refused by it, with its parameters
        # (until the parameter ConfigMap is seen, parameterNotFoundAction denies everything).
        deadline = time.monotonic() + 30
        while "does not match the naming pattern" not in (
            admitted(kube, ns, {"node": "router", "eventBus": {"subscribeTopics": ["x"]}}) or ""
        ):
            assert time.monotonic() < deadline, "the policy never took effect"
            time.sleep(0.2)
        yield ns, rules
    finally:
        adm.delete_validating_admission_policy_binding(binding["metadata"]["name"])
        adm.delete_validating_admission_policy(vap["metadata"]["name"])
        core.delete_namespace(ns)


def admitted(kube: client.ApiClient, namespace: str, spec: dict[str, Any]) -> str | None:
    """None when the apiserver admits the contract (dry run), else its refusal message."""
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": "case"},
        "spec": spec,
    }
    try:
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body, dry_run="All"
        )
    except client.ApiException as exc:
        assert exc.status in (403, 422), exc.body
        return str(exc.body)
    return None


def python_refuses(spec: dict[str, Any], rules: NamingRules) -> bool:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": "case", "namespace": "n"},
        "spec": spec,
    }
    contract = Contract.from_manifest(body, "test")
    return any(p.code in NAMING_CODES for p in check_contract(contract, rules))


WORD = st.sampled_from(
    [
        "router",
        "billing",
        "evt",
        "cmd",
        "event",
        "command",
        "snapshot",
        "routing-complete",
        "routing_complete",
        "Router",
        "x",
        "team",
        "a-b",
        "v1",
        "v0",
        "v12",
        "onex",
        "",
        "ok-1",
    ]
)
SEPARATOR = st.sampled_from([".", "-", "_", ".."])


@st.composite
def topic_names(draw: st.DrawFn) -> str:
    parts = draw(st.lists(WORD, min_size=1, max_size=6))
    seps = draw(st.lists(SEPARATOR, min_size=len(parts), max_size=len(parts)))
    name = "".join(p + s for p, s in zip(parts, seps, strict=True))[:-1] or "x"
    return name.strip(".") or "x"


EXAMPLES = [
    "onex.evt.router.routing-complete.v1",
    "onex.evt.router.routing_complete.v1",
    "onex.bogus.router.routing-complete.v1",
    "onex.evt.billing.invoice-sent.v1",
    "team-event-router-done",
    "team-command-billing-sent",
    "team-bogus-router-done",
    "team-event-router_x-done",
]


@settings(max_examples=40)
@given(
    published=st.lists(topic_names(), max_size=3, unique=True),
    subscribed=st.lists(topic_names(), max_size=3, unique=True),
)
def _agree(
    kube: client.ApiClient, ns: str, rules: NamingRules, published: list[str], subscribed: list[str]
) -> None:
    spec = {
        "node": "router",
        "eventBus": {
            "publishTopics": [{"name": n} for n in published],
            "subscribeTopics": subscribed,
        },
    }
    refused = admitted(kube, ns, spec)
    assert (refused is not None) == python_refuses(spec, rules), (spec, refused)


def test_policy_and_python_rules_agree(
    kube: client.ApiClient, policy: tuple[str, NamingRules]
) -> None:
    ns, rules = policy
    for name in EXAMPLES:
        for spec in (
            {"node": "router", "eventBus": {"publishTopics": [{"name": name}]}},
            {"node": "router", "eventBus": {"subscribeTopics": [name]}},
        ):
            refused = admitted(kube, ns, spec)
            assert (refused is not None) == python_refuses(spec, rules), (spec, refused)
    _agree(kube, ns, rules)


def test_policy_refusal_says_what_to_do(
    kube: client.ApiClient, policy: tuple[str, NamingRules]
) -> None:
    ns, rules = policy
    if rules != NamingRules():
        pytest.skip("messages are checked with the built-in rules")
    bad_kind = admitted(
        kube, ns, {"node": "router", "eventBus": {"subscribeTopics": ["onex.bogus.router.done.v1"]}}
    )
    assert bad_kind and "whose kind is not one of: cmd, dlq, evt, intent, snapshot" in bad_kind
    foreign = admitted(
        kube,
        ns,
        {"node": "router", "eventBus": {"publishTopics": [{"name": "onex.evt.billing.done.v1"}]}},
    )
    assert foreign and "publish under router" in foreign
    off = admitted(
        kube,
        ns,
        {
            "node": "router",
            "eventBus": {"subscribeTopics": ["onex.evt.router.routing_complete.v1"]},
        },
    )
    assert off and "does not match the naming pattern" in off


def pub_config(config: dict[str, Any], name: str = "onex.evt.router.done.v1") -> dict[str, Any]:
    return {"node": "router", "eventBus": {"publishTopics": [{"name": name, "config": config}]}}


CONFIG_CASES = {
    "config key with a capital": {"Retention.ms": "1"},
    "config key with a space": {"retention ms": "1"},
    "redpanda config key": {"redpanda.remote.read": "true"},
    "retention in days": {"retention.ms": "7d"},
    "negative retention": {"retention.ms": "-1"},
    "padded number": {"segment.bytes": " 1024 "},
    "min.insync.replicas as a word": {"min.insync.replicas": "two"},
    "flush.messages as a number": {"flush.messages": 10},
    "free-text config": {"cleanup.policy": "compact,delete"},
    "ratio": {"min.cleanable.dirty.ratio": "0.5"},
}


def python_refuses_config(spec: dict[str, Any]) -> bool:
    """What `validate` refuses of a config: the model (key shape) or core's whole-number rule."""
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": "case", "namespace": "n"},
        "spec": spec,
    }
    try:
        contract = Contract.from_manifest(body, "test")
    except ContractError:
        return True
    return any(
        is_integer_config(key) and config_value_problem(key, value)
        for topic in contract.published
        for key, value in topic.config.items()
    )


def test_policy_config_rules_agree_with_validate(
    kube: client.ApiClient, policy: tuple[str, NamingRules]
) -> None:
    ns, rules = policy
    topic = "onex.evt.router.done.v1" if rules == NamingRules() else "team-event-router-done"
    for name, config in CONFIG_CASES.items():
        spec = pub_config(config, topic)
        refused = admitted(kube, ns, spec)
        assert (refused is not None) == python_refuses_config(spec), (name, refused)
    key = admitted(kube, ns, pub_config({"Retention.ms": "1"}, topic))
    assert key and "config key Retention.ms is not a topic config name" in key
    days = admitted(kube, ns, pub_config({"retention.ms": "7d"}, topic))
    assert days and "config retention.ms is not a whole number" in days


def test_chart_refuses_params_made_for_other_rules() -> None:
    with helm.Chart.load(str(CHART)) as chart, pytest.raises(Exception) as refused:
        chart.render({"topicPattern": CUSTOM.pattern}, name="co", namespace="x")
    assert "contract-operator policy-params" in str(refused.value)
