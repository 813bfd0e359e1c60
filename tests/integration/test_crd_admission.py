"""crds/nodecontract.yaml on the real apiserver: it admits exactly what the model accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from contract_operator.model import limits
from contract_operator.model.contract import Contract, ContractError

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION, PLURAL = "eventbus.dev", "v1alpha1", "nodecontracts"


def body(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": name},
        "spec": spec,
    }


def admit(kube: client.ApiClient, namespace: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The object as the apiserver would store it (dry run), or None when it is refused."""
    api = client.CustomObjectsApi(kube)
    try:
        return api.create_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, namespace, PLURAL, obj, dry_run="All"
        )
    except client.ApiException as exc:
        assert exc.status == 422, exc.body  # Invalid: anything else is a broken test
        return None


def model_accepts(obj: dict[str, Any]) -> bool:
    try:
        Contract.from_manifest(obj, "test")
    except ContractError:
        return False
    return True


TOPIC = "onex.evt.router.routing-complete.v1"


def pub(**topic: Any) -> dict[str, Any]:
    return {"node": "router", "eventBus": {"publishTopics": [{"name": TOPIC, **topic}]}}


def pub_named(name: str) -> dict[str, Any]:
    return {"node": "router", "eventBus": {"publishTopics": [{"name": name}]}}


def sub(*names: str) -> dict[str, Any]:
    return {"node": "router", "eventBus": {"subscribeTopics": list(names)}}


CASES: dict[str, dict[str, Any]] = {
    "minimal": {"node": "router", "eventBus": {}},
    "full": pub(partitions=6, replicationFactor=3, config={"retention.ms": "604800000"}),
    "config integer": pub(config={"retention.ms": 604800000}),
    "three dots": sub("..."),
    "dot": sub("."),
    "dot dot": sub(".."),
    "250 chars": sub("a" * 250),
    "space": sub("a b"),
    "uppercase node": {"node": "Router", "eventBus": {}},
    "no eventBus": {"node": "router"},
    "zero partitions": pub(partitions=0),
    "string partitions": pub(partitions="6"),
    "boolean config": pub(config={"x": True}),
    "duplicate publish": {
        "node": "router",
        "eventBus": {"publishTopics": [{"name": TOPIC}, {"name": TOPIC, "partitions": 2}]},
    },
    "duplicate subscribe": sub("a", "a"),
    "too many subscriptions": sub(*[f"t{i}" for i in range(1001)]),
    "most partitions": pub(partitions=limits.MAX_PARTITIONS),
    "partitions above the client's limit": pub(partitions=limits.MAX_PARTITIONS + 1),
    "a billion partitions": pub(partitions=1_000_000_000),
    "largest replication factor": pub(replicationFactor=limits.MAX_REPLICATION_FACTOR),
    "replication factor above the limit": pub(replicationFactor=limits.MAX_REPLICATION_FACTOR + 1),
    "longest config value": pub(config={"a": "x" * limits.MAX_CONFIG_VALUE_LENGTH}),
    "config value too long": pub(config={"a": "x" * (limits.MAX_CONFIG_VALUE_LENGTH + 1)}),
    # CEL rules (x-kubernetes-validations): enforced by current servers, dropped by 1.20.
    "dot dot as a publish name": pub_named(".."),
    "space in a publish name": pub_named("a b"),
}


@pytest.mark.parametrize("spec", CASES.values(), ids=CASES.keys())
def test_apiserver_and_model_agree(
    kube: client.ApiClient, nodecontract_crd: dict[str, Any], namespace: str, spec: dict[str, Any]
) -> None:
    obj = body("case", spec)
    assert (admit(kube, namespace, obj) is not None) == model_accepts(obj)


def test_omitted_settings_stay_omitted_and_unknown_fields_pruned(
    kube: client.ApiClient, nodecontract_crd: dict[str, Any], namespace: str
) -> None:
    spec = {
        "node": "router",
        "eventBus": {"publishTopics": [{"name": TOPIC, "replicationFactr": 3}]},
    }
    stored = admit(kube, namespace, body("defaults", spec))
    assert stored is not None
    # No defaults: omitted partitions / replication factor mean the cluster's default.
    assert stored["spec"]["eventBus"]["publishTopics"] == [{"name": TOPIC}]


def test_example_manifests_are_admitted(
    kube: client.ApiClient, nodecontract_crd: dict[str, Any], namespace: str
) -> None:
    for path in sorted((ROOT / "examples" / "nodecontracts").glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        obj["metadata"]["namespace"] = namespace
        assert admit(kube, namespace, obj) is not None, path


def test_printer_columns_are_served(
    kube: client.ApiClient, nodecontract_crd: dict[str, Any]
) -> None:
    crd = client.ApiextensionsV1Api(kube).read_custom_resource_definition(
        "nodecontracts.eventbus.dev"
    )
    columns = [c.name for c in crd.spec.versions[0].additional_printer_columns]
    assert columns[:5] == ["Node", "Topics", "Ready", "Drifted", "Wired"]
    assert crd.spec.names.short_names == ["nc"]


CEL_MESSAGES = {
    "subscribe": (sub("a b"), "topic name a b has a character Kafka refuses"),
    "publish": (pub_named(".."), "is not a Kafka topic name: give the topic a real name"),
}


@pytest.mark.parametrize("case", CEL_MESSAGES.values(), ids=CEL_MESSAGES.keys())
def test_cel_rules_say_what_to_do(
    kube: client.ApiClient, nodecontract_crd: dict[str, Any], namespace: str, case: Any
) -> None:
    """The apiserver's refusal names the value and the fix (CEL messageExpression)."""
    spec, expected = case
    api = client.CustomObjectsApi(kube)
    with pytest.raises(client.ApiException) as refused:
        api.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body("cel", spec), dry_run="All"
        )
    assert refused.value.status == 422
    assert expected in refused.value.body


@pytest.mark.parametrize(
    ("field", "typo", "fixed"),
    [
        ("partitions", "partitons", "partitions"),
        ("replicationFactor", "replicationFactr", "replicationFactor"),
    ],
)
def test_kubectl_apply_refuses_an_unknown_field_and_validate_names_it(
    testbed: Any,
    nodecontract_crd: dict[str, Any],
    namespace: str,
    tmp_path: Path,
    field: str,
    typo: str,
    fixed: str,
) -> None:
    """Server-side field validation (Strict, kubectl's default since 1.27): a typo is refused
    with the field named, where 1.20 pruned it silently and the cluster default applied."""
    import subprocess
    import sys

    manifest = body(
        "typo", {"node": "router", "eventBus": {"publishTopics": [{"name": TOPIC, typo: 3}]}}
    )
    manifest["metadata"]["namespace"] = namespace
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(manifest))
    kubectl = Path(sys.executable).parent / "kubectl"
    applied = subprocess.run(
        [str(kubectl), "apply", "-f", str(path)],
        capture_output=True,
        text=True,
        env=testbed.env(),
        timeout=60,
    )
    assert applied.returncode != 0
    assert f'unknown field "spec.eventBus.publishTopics[0].{typo}"' in applied.stderr
    validated = testbed.cli("validate", str(path))
    assert validated.returncode == 1
    assert typo in validated.stdout and f"Did you mean `{fixed}`?" in validated.stdout
