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


@pytest.fixture
def start_operator(testbed: Testbed, nodecontract_crd: dict, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start operators watching one namespace; every one is stopped at the end of the test."""
    started: list[OperatorProcess] = []

    def start(namespace: str, *extra: str, bootstrap: str | None = None) -> OperatorProcess:
        env = testbed.env()
        if bootstrap:
            env["BOOTSTRAP_SERVERS"] = bootstrap
        args = [
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
        op = OperatorProcess(env, args, tmp_path / f"operator-{len(started)}.log")
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()


class OwnBroker:
    """A broker of a test's own, to stop and restart without disturbing other tests."""

    def __init__(self, data_dir: Path) -> None:
        import noida_db

        self.binary = Path(noida_db.__file__).parent / "noida-db"
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                "start",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--only",
                "kafka",
                "--kafka-port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = AdminClient(
            {"bootstrap.servers": self.bootstrap, "allow.auto.create.topics": False}
        )
        wait_for(lambda: probe.list_topics(timeout=1).brokers, 15, what="own broker up")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            time.sleep(1)  # the broker persists topics with a short write-behind delay
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    broker = OwnBroker(tmp_path / "broker-data")
    broker.data_dir.mkdir()
    broker.start()
    yield broker
    broker.stop()
