"""Integration fixtures: the real testbed (kube-apiserver, etcd, broker), started once per session.

A testbed that is already up (`hack/testbed.sh up`, e.g. from `make demo`) is reused and left
running; one started here is torn down at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
KAFKA = ROOT / "hack" / "kafka.sh"
CRD_PATH = ROOT / "crds" / "nodecontract.yaml"


@dataclass(frozen=True)
class Testbed:
    __test__ = False  # a fixture value, not a test class

    kubeconfig: str
    bootstrap_servers: str  # PLAINTEXT: a super user, for tests that are not about security
    secure_bootstrap_servers: str  # SASL_SSL with SCRAM-SHA-512; principals subject to ACLs
    secure_username: str  # the operator's principal: exactly adapters/kafka_acls.py's ACLs
    secure_password: str
    ca_file: str  # the CA that signed the brokers' certificates
    admin_password: str  # SCRAM user "admin", a super user on the SASL_SSL listener
    kafka_dir: str  # hack/kafka.sh state, for tests that stop and restart one node

    def secure_env(self, **overrides: str) -> dict[str, str]:
        """A process environment for the operator's principal over SASL_SSL."""
        return {
            **self.env(),
            "BOOTSTRAP_SERVERS": self.secure_bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": self.secure_username,
            "KAFKA_SASL_PASSWORD": self.secure_password,
            "KAFKA_SSL_CA_LOCATION": self.ca_file,
            **overrides,
        }

    def env(self) -> dict[str, str]:
        """A process environment that points at this testbed (for subprocesses)."""
        return {
            **os.environ,
            "KUBECONFIG": self.kubeconfig,
            "BOOTSTRAP_SERVERS": self.bootstrap_servers,
        }

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`contract-operator ARGS...` against this testbed, as a user would run it."""
        return subprocess.run(
            [sys.executable, "-m", "contract_operator", *args],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
        )


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
        yield Testbed(
            kubeconfig=exports["KUBECONFIG"],
            bootstrap_servers=exports["BOOTSTRAP_SERVERS"],
            secure_bootstrap_servers=exports["SECURE_BOOTSTRAP_SERVERS"],
            secure_username=exports["SECURE_SASL_USERNAME"],
            secure_password=exports["SECURE_SASL_PASSWORD"],
            ca_file=exports["SECURE_CA_FILE"],
            admin_password=exports["KAFKA_ADMIN_SASL_PASSWORD"],
            kafka_dir=exports["KAFKA_TESTBED_DIR"],
        )
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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll until `predicate()` returns something truthy; return it, or fail saying what."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def create_topic(
    admin: AdminClient, name: str, partitions: int = 1, rf: int = 1, **config: str
) -> None:
    """Create a topic out of band, as another tool would, and wait until the cluster's
    metadata lists it with every partition: the brokers learn of a create a moment after it
    is acknowledged, and a test comparing "before" and "after" must start from the settled
    topic, not from a broker that has not heard of it yet."""
    from confluent_kafka.admin import NewTopic

    admin.create_topics([NewTopic(name, partitions, rf, config=config)])[name].result(timeout=30)

    def settled() -> bool:
        topic = admin.list_topics(topic=name, timeout=10).topics.get(name)
        return (
            topic is not None
            and topic.error is None
            and len(topic.partitions) == partitions
            and all(p.leader >= 0 for p in topic.partitions.values())
        )

    wait_for(settled, 30, interval=0.05, what=f"{name} listed with {partitions} partitions")


def metric(port: int, name: str, labels: str = "") -> float:
    """One sample from an operator's /metrics (0 when absent)."""
    import re
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


CYCLES = "contract_operator_reconcile_duration_seconds_count"


def wait_cycles(port: int, count: int, timeout: float = 30) -> float:
    """Wait until the operator on metrics `port` has finished `count` more reconcile cycles:
    the condition "several resyncs happened", instead of a fixed sleep."""
    start = metric(port, CYCLES)
    return wait_for(  # type: ignore[no-any-return]
        lambda: (n := metric(port, CYCLES)) >= start + count and n,
        timeout,
        interval=0.1,
        what=f"{count} more reconcile cycles",
    )


class OperatorProcess:
    """`contract-operator run` as a real subprocess against the testbed."""

    def __init__(self, env: dict[str, str], args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "contract_operator", "run", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def operator_args(namespace: str, *extra: str) -> list[str]:
    """`run` flags for a test: one namespace, fast resyncs, no fixed ports; `extra` wins."""
    return [
        "--namespace",
        namespace,
        "--resync-seconds",
        "1",
        "--metrics-port",
        "0",
        "--health-port",
        "0",
        "--broker-timeout",
        "2",
        *extra,
    ]


@pytest.fixture
def start_operator(testbed: Testbed, nodecontract_crd: dict, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start operators watching one namespace; every one is stopped at the end of the test."""
    started: list[OperatorProcess] = []

    def start(
        namespace: str,
        *extra: str,
        bootstrap: str | None = None,
        env: dict[str, str] | None = None,
    ) -> OperatorProcess:
        env = dict(env or testbed.env())
        if bootstrap:
            env["BOOTSTRAP_SERVERS"] = bootstrap
        args = operator_args(namespace, *extra)
        op = OperatorProcess(env, args, tmp_path / f"operator-{len(started)}.log")
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()


class OwnBroker:
    """A one-node Kafka cluster of a test's own, to stop and restart without disturbing the
    shared three-node cluster (hack/kafka.sh with KAFKA_NODES=1)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._started = False
        self.bootstrap = ""

    def _kafka(self, *args: str, **env: str) -> None:
        done = subprocess.run(
            [str(KAFKA), *args, str(self.state_dir)],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=180,
        )
        if done.returncode != 0:
            raise AssertionError(f"hack/kafka.sh {args[0]} failed:\n{done.stderr}")

    def start(self) -> None:
        if not self._started:
            self._kafka("start", KAFKA_NODES="1")
            self._started = True
            self.bootstrap = (self.state_dir / "bootstrap").read_text().strip()
        else:
            subprocess.run(
                [str(KAFKA), "start-node", str(self.state_dir), "1"],
                check=True,
                capture_output=True,
                timeout=180,
            )

    @property
    def pid(self) -> int:
        return int((self.state_dir / "node1" / "pid").read_text())

    def stop(self) -> None:
        """Stop the broker, keeping its data, so start() brings the same topics back."""
        subprocess.run(
            [str(KAFKA), "stop-node", str(self.state_dir), "1"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def remove(self) -> None:
        self._kafka("stop")


@pytest.fixture
def own_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    broker = OwnBroker(tmp_path / "own-kafka")
    broker.start()
    yield broker
    broker.remove()
