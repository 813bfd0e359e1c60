"""The one contract model: both document shapes, and the admission rules it shares with the CRD."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contract_operator.model.contract import (
    MAX_PUBLISH_TOPICS,
    Contract,
    ContractError,
    PublishTopic,
)


def manifest(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {"name": "router", "namespace": "agents", **metadata},
        "spec": spec,
    }


def errors_of(obj: Any) -> dict[str, str]:
    with pytest.raises(ContractError) as caught:
        Contract.from_manifest(obj, "test.yaml")
    return {e.field: e.code for e in caught.value.errors}


ROUTER_SPEC = {
    "node": "router",
    "eventBus": {
        "publishTopics": [
            {
                "name": "onex.evt.router.routing-complete.v1",
                "partitions": 6,
                "replicationFactor": 3,
                "config": {"retention.ms": "604800000"},
            }
        ],
        "subscribeTopics": ["onex.cmd.gateway.route-request.v1"],
    },
}

ROUTER_FILE = {
    "node": "router",
    "event_bus": {
        "publish_topics": [
            {
                "name": "onex.evt.router.routing-complete.v1",
                "partitions": 6,
                "replication_factor": 3,
                "config": {"retention.ms": 604800000},
            }
        ],
        "subscribe_topics": ["onex.cmd.gateway.route-request.v1"],
    },
}


def test_manifest_and_contract_file_read_into_the_same_spec() -> None:
    from_manifest = Contract.from_manifest(manifest(ROUTER_SPEC), "router.yaml")
    from_file = Contract.from_manifest(ROUTER_FILE, "router/contract.yaml")
    assert from_manifest.spec == from_file.spec
    assert from_manifest.published[0].replication_factor == 3


def test_manifest_contract_is_keyed_by_namespace_and_name() -> None:
    contract = Contract.from_manifest(manifest(ROUTER_SPEC), "router.yaml")
    assert (contract.key, contract.source, contract.node) == (
        "agents/router",
        "router.yaml",
        "router",
    )


def test_file_contract_is_named_after_its_node_and_has_no_namespace() -> None:
    contract = Contract.from_manifest(ROUTER_FILE, "router/contract.yaml")
    assert (contract.name, contract.namespace, contract.key) == ("router", None, "router")


def test_cluster_metadata_is_kept_for_oldest_declaration_wins() -> None:
    obj = manifest(ROUTER_SPEC, creationTimestamp="2024-05-01T10:00:00Z", generation=4, uid="u-1")
    contract = Contract.from_manifest(obj, "agents/router")
    assert (contract.created, contract.generation, contract.uid) == (
        "2024-05-01T10:00:00Z",
        4,
        "u-1",
    )


def test_creation_timestamp_parsed_by_yaml_as_a_datetime_becomes_rfc3339() -> None:
    obj = manifest(ROUTER_SPEC, creationTimestamp=datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    assert Contract.from_manifest(obj, "x").created == "2024-05-01T10:00:00Z"


def test_config_integers_are_read_as_strings() -> None:
    contract = Contract.from_manifest(ROUTER_FILE, "f")
    assert contract.published[0].config == {"retention.ms": "604800000"}


def test_config_boolean_is_rejected_with_a_quoting_hint() -> None:
    with pytest.raises(
        ValidationError, match=r'quote it, e.g. unclean.leader.election.enable: "false"'
    ):
        PublishTopic.model_validate(
            {"name": "onex.evt.a.b.v1", "config": {"unclean.leader.election.enable": False}}
        )


def test_omitted_partitions_and_replication_factor_mean_the_cluster_default() -> None:
    topic = PublishTopic.model_validate({"name": "onex.evt.router.routing-complete.v1"})
    assert (topic.partitions, topic.replication_factor, topic.config) == (None, None, {})


def test_zero_partitions_is_rejected_with_its_field_path() -> None:
    spec = {"node": "router", "eventBus": {"publishTopics": [{"name": "a", "partitions": 0}]}}
    assert errors_of(manifest(spec)) == {
        "spec.eventBus.publishTopics[0].partitions": "out-of-range"
    }


def test_partitions_written_as_a_string_is_rejected_like_the_apiserver_does() -> None:
    spec = {"node": "router", "eventBus": {"publishTopics": [{"name": "a", "partitions": "6"}]}}
    assert errors_of(manifest(spec)) == {"spec.eventBus.publishTopics[0].partitions": "wrong-type"}


@pytest.mark.parametrize("name", [".", "..", "routing complete", "a/b", "x" * 250, ""])
def test_illegal_kafka_topic_name_is_rejected(name: str) -> None:
    spec = {"node": "router", "eventBus": {"subscribeTopics": [name]}}
    assert errors_of(manifest(spec)) == {"spec.eventBus.subscribeTopics[0]": "illegal-topic-name"}


@pytest.mark.parametrize("name", ["...", ".hidden", "a", "x" * 249, "Legacy_Topic-1.x"])
def test_legal_kafka_topic_name_is_accepted(name: str) -> None:
    spec = {"node": "router", "eventBus": {"subscribeTopics": [name]}}
    assert Contract.from_manifest(manifest(spec), "x").subscribed == [name]


def test_node_must_be_a_lowercase_dns_label() -> None:
    assert errors_of({"node": "Router_1", "event_bus": {}}) == {"node": "invalid-node"}


def test_topic_published_twice_is_rejected() -> None:
    topics = [{"name": "onex.evt.router.x.v1"}, {"name": "onex.evt.router.x.v1"}]
    spec = {"node": "router", "eventBus": {"publishTopics": topics}}
    assert errors_of(manifest(spec)) == {"spec.eventBus.publishTopics": "duplicate-topic"}


def test_topic_subscribed_twice_is_rejected() -> None:
    spec = {"node": "router", "eventBus": {"subscribeTopics": ["a.b", "a.b"]}}
    assert errors_of(manifest(spec)) == {"spec.eventBus.subscribeTopics": "duplicate-topic"}


def test_more_publish_topics_than_the_crd_allows_is_rejected() -> None:
    topics = [{"name": f"onex.evt.router.e{i}.v1"} for i in range(MAX_PUBLISH_TOPICS + 1)]
    spec = {"node": "router", "eventBus": {"publishTopics": topics}}
    assert errors_of(manifest(spec)) == {"spec.eventBus.publishTopics": "too-many-items"}


def test_misspelled_field_is_rejected_with_the_likely_spelling() -> None:
    doc = {
        "node": "router",
        "event_bus": {"publish_topics": [{"name": "a", "replication_factr": 3}]},
    }
    with pytest.raises(ContractError) as caught:
        Contract.from_manifest(doc, "f")
    (error,) = caught.value.errors
    assert error.field == "event_bus.publish_topics[0].replication_factr"
    assert "replication_factor" in error.fix


def test_missing_event_bus_in_a_file_is_named_in_snake_case() -> None:
    assert errors_of({"node": "router"}) == {"event_bus": "missing-field"}


def test_missing_event_bus_in_a_manifest_is_named_in_camel_case() -> None:
    assert errors_of(manifest({"node": "router"})) == {"spec.eventBus": "missing-field"}


def test_null_lists_are_empty_as_the_apiserver_treats_them() -> None:
    contract = Contract.from_manifest(
        {"node": "router", "event_bus": {"publish_topics": None, "subscribe_topics": None}}, "f"
    )
    assert (contract.published, contract.subscribed) == ([], [])


def test_other_kind_is_rejected() -> None:
    obj = manifest(ROUTER_SPEC)
    obj["kind"] = "ConfigMap"
    assert errors_of(obj) == {"kind": "wrong-kind"}


def test_a_list_is_not_a_contract() -> None:
    assert errors_of(["node", "router"]) == {"": "not-a-mapping"}


def test_contract_is_frozen() -> None:
    contract = Contract.from_manifest(ROUTER_FILE, "f")
    with pytest.raises(ValidationError):
        contract.name = "other"  # type: ignore[misc]


def test_thousands_of_bad_entries_give_a_bounded_report() -> None:
    spec = {
        "node": "router",
        "eventBus": {"subscribeTopics": [f"bad name {i}" for i in range(500)]},
    }
    with pytest.raises(ContractError) as caught:
        Contract.from_manifest(manifest(spec), "f")
    assert len(caught.value.errors) == 21
    assert caught.value.errors[-1].message == "... and 480 more errors"
