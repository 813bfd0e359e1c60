"""The testbed is real: a kube-apiserver that enforces schemas and a broker that speaks Kafka."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource
from kubernetes import client

from .conftest import create_topic


def _crd(group: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "name": {"type": "string", "pattern": "^[a-z]+$"}
                                    },
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def test_apiserver_rejects_an_object_that_breaks_the_crd_pattern(
    kube: client.ApiClient, namespace: str
) -> None:
    group = f"{namespace}.testbed.dev"
    ext = client.ApiextensionsV1Api(kube)
    ext.create_custom_resource_definition(_crd(group))
    custom = client.CustomObjectsApi(kube)

    def create(name: str) -> dict:
        body = {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": f"w-{name.lower()}"},
            "spec": {"name": name},
        }
        return custom.create_namespaced_custom_object(group, "v1", namespace, "widgets", body)

    deadline = time.monotonic() + 30
    while True:  # the new resource is served a moment after the CRD is created
        try:
            created = create("good")
            break
        except client.ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert created["spec"]["name"] == "good"

    with pytest.raises(client.ApiException) as rejected:
        create("BAD")
    assert rejected.value.status == 422
    assert "spec.name" in rejected.value.body


def test_broker_creates_and_describes_a_topic(admin: AdminClient, topic_prefix: str) -> None:
    name = f"{topic_prefix}.testbed"
    create_topic(admin, name, 3, **{"retention.ms": "60000"})

    metadata = admin.list_topics(topic=name, timeout=10)
    assert len(metadata.topics[name].partitions) == 3
    (configs,) = admin.describe_configs([ConfigResource("topic", name)]).values()
    assert configs.result(timeout=10)["retention.ms"].value == "60000"


def test_broker_does_not_create_topics_by_looking_at_them(
    admin: AdminClient, topic_prefix: str
) -> None:
    name = f"{topic_prefix}.never-created"
    metadata = admin.list_topics(topic=name, timeout=10)
    assert metadata.topics[name].error is not None
    assert name not in admin.list_topics(timeout=10).topics
    with pytest.raises(KafkaException):
        admin.describe_configs([ConfigResource("topic", name)])[
            ConfigResource("topic", name)
        ].result(timeout=10)
