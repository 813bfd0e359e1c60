"""Integration fixtures: the real testbed (kube-apiserver + etcd + broker), started once per session.

A testbed that is already up (`hack/testbed.sh up`, e.g. from `make demo`) is reused and left
running; one started here is torn down at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from confluent_kafka.admin import AdminClient
from kubernetes import client, config

ROOT = Path(__file__).resolve().parents[2]
TESTBED = ROOT / "hack" / "testbed.sh"
CRD_PATH = ROOT / "crds" / "nodecontract.yaml"


@dataclass(frozen=True)
class Testbed:
    __test__ = False  # a fixture value, not a test class

    kubeconfig: str
    bootstrap_servers: str

    def env(self) -> dict[str, str]:
        """A process environment that points at this testbed (for subprocesses)."""
        return {
            **os.environ,
            "KUBECONFIG": self.kubeconfig,
            "BOOTSTRAP_SERVERS": self.bootstrap_servers,
        }


def _exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            out[key] = value
    return out


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    running = subprocess.run([TESTBED, "env"], capture_output=True, text=True)
    owned = running.returncode != 0
    if owned:
        started = subprocess.run([TESTBED, "up"], capture_output=True, text=True)
        if started.returncode != 0:
            pytest.fail(f"testbed failed to start:\n{started.stderr}", pytrace=False)
        running = started
    exports = _exports(running.stdout)
    try:
        yield Testbed(exports["KUBECONFIG"], exports["BOOTSTRAP_SERVERS"])
    finally:
        if owned:
            subprocess.run([TESTBED, "down"], capture_output=True, text=True)


@pytest.fixture(scope="session")
def kube(testbed: Testbed) -> client.ApiClient:
    """An admin ApiClient for the testbed's kube-apiserver."""
    return config.new_client_from_config(config_file=testbed.kubeconfig)


@pytest.fixture(scope="session")
def nodecontract_crd(kube: client.ApiClient) -> dict:
    """Install crds/nodecontract.yaml (create or replace) and wait until it is Established."""
    body = yaml.safe_load(CRD_PATH.read_text())
    api = client.ApiextensionsV1Api(kube)
    name = body["metadata"]["name"]
    try:
        current = api.read_custom_resource_definition(name)
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        api.replace_custom_resource_definition(name, body)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        api.create_custom_resource_definition(body)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        crd = api.read_custom_resource_definition(name)
        conditions = {c.type: c.status for c in (crd.status.conditions or [])}
        if conditions.get("Established") == "True":
            return body
        time.sleep(0.1)
    raise AssertionError(f"CRD {name} not Established after 30 s")


@pytest.fixture
def namespace(kube: client.ApiClient) -> str:
    """A fresh namespace per test (the testbed has no controller-manager, so none is deleted)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata={"name": name}))
    return name


@pytest.fixture
def admin(testbed: Testbed) -> AdminClient:
    """A broker AdminClient that can never create a topic by looking at it."""
    return AdminClient(
        {
            "bootstrap.servers": testbed.bootstrap_servers,
            "allow.auto.create.topics": False,
        }
    )


@pytest.fixture
def topic_prefix() -> str:
    """Topics are never deleted between tests; a unique prefix keeps tests apart."""
    return f"t{uuid.uuid4().hex[:8]}"
