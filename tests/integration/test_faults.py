"""Blast radius on the real testbed: no contract, broker answer or apiserver hiccup may stop
provisioning for anyone else, and the probes say when the loop is really stuck."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kubernetes import client

from contract_operator.model.contract import GROUP, PLURAL, VERSION

from .conftest import free_port, metric, wait_cycles, wait_for
from .test_operator import NodeContracts, _nc, _topics

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _metric(port: int, name: str, labels: str = "") -> float:
    _, text = _get(f"http://127.0.0.1:{port}/metrics")
    pattern = re.compile(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$", re.M)
    match = pattern.search(text)
    return float(match.group(1)) if match else 0.0


def _apply_or_refused(ncs: NodeContracts, body: dict) -> bool:
    """Apply; False when the apiserver refuses the object at admission (422)."""
    try:
        ncs.apply(body)
        return True
    except client.ApiException as exc:
        assert exc.status == 422, exc
        return False


POISON_TOPICS = {
    "huge-partitions": {"partitions": 1_000_000_000},
    "huge-replication": {"replicationFactor": 1_000_000_000},
    "partitions-over-client-range": {"partitions": 100_001},
    "broker-refuses-config": {"config": {"redpanda.remote.read": "true"}},
}


def test_poison_contracts_do_not_stop_healthy_ones(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    health = free_port()
    op = start_operator(namespace, "--health-port", str(health))
    ncs = NodeContracts(kube, namespace)
    admitted = []
    for index, (name, settings) in enumerate(POISON_TOPICS.items()):
        node = f"p{index}{topic_prefix}"
        topic = {"name": f"onex.evt.{node}.poisoned.v1", **settings}
        if _apply_or_refused(ncs, _nc(name, node, [topic])):
            admitted.append(name)
    started = time.monotonic()
    healthy = []
    for index in range(20):
        node = f"h{index}{topic_prefix}"
        ncs.apply(_nc(f"healthy-{index}", node, [{"name": f"onex.evt.{node}.fine.v1"}]))
        healthy.append(f"healthy-{index}")
    for name in healthy:
        ncs.wait_condition(name, "Ready", "True", timeout=30)
    took = time.monotonic() - started
    print(
        f"\n20 healthy contracts beside {len(admitted)} admitted poison ones: Ready in {took:.1f} s"
    )

    for name in admitted:
        ready = ncs.wait_condition(name, "Ready", "False", timeout=15)
        assert ready["reason"] in ("CreateFailed", "InvalidSpec"), ready
        assert ready["message"], ready
    assert op.proc.poll() is None
    assert _get(f"http://127.0.0.1:{health}/healthz")[0] == 200
    assert "Traceback" not in op.log()
    assert "reconcile failed" not in op.log()


def test_broker_refusal_fails_one_topic_and_is_not_resent(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    metrics = free_port()
    op = start_operator(namespace, "--metrics-port", str(metrics))
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    good = [f"onex.evt.{node}.first.v1", f"onex.evt.{node}.second.v1"]
    refused = f"onex.evt.{node}.refused.v1"
    topics = [{"name": good[0]}, {"name": good[1]}]
    topics.append({"name": refused, "config": {"redpanda.remote.read": "true"}})
    ncs.apply(_nc("orders", node, topics))

    provisioned = ncs.wait_condition("orders", "Provisioned", "False", timeout=30)
    assert provisioned["reason"] == "CreateFailed"
    assert "INVALID_CONFIG" in provisioned["message"]
    states = {t["name"]: t for t in ncs.get("orders")["status"]["topics"]}
    assert states[refused]["state"] == "Failed"
    assert "redpanda.remote.read" in states[refused]["message"]
    assert {states[g]["state"] for g in good} == {"Present"}
    assert set(good) <= _topics(admin) and refused not in _topics(admin)

    sent = _metric(metrics, "contract_operator_admin_requests_total", '{operation="create_topics"}')
    wait_cycles(metrics, 5)  # five more cycles, each of which would re-send it
    again = _metric(
        metrics, "contract_operator_admin_requests_total", '{operation="create_topics"}'
    )
    assert again == sent, "a permanent refusal was re-sent"
    assert op.log().count(f"cannot create {refused}") == 1


def test_short_broker_flap_flips_no_status(
    kube, namespace, start_operator, own_broker, topic_prefix
) -> None:
    port = free_port()
    start_operator(
        namespace,
        "--broker-grace-seconds",
        "60",
        "--metrics-port",
        str(port),
        bootstrap=own_broker.bootstrap,
    )
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    ncs.apply(_nc("orders", node, [{"name": f"onex.evt.{node}.placed.v1"}]))
    ncs.wait_condition("orders", "Ready", "True")
    wait_cycles(port, 2)  # the cycle after the create adds the topic's actual settings
    version = ncs.get("orders")["metadata"]["resourceVersion"]

    own_broker.stop()
    wait_for(
        lambda: metric(port, "contract_operator_last_cycle_success") == 0,
        30,
        what="a cycle that met the broker away",
    )
    wait_cycles(port, 1, timeout=40)  # and the next retry cycle too (5 s apart)
    assert ncs.condition("orders", "Ready")["status"] == "True"
    own_broker.start()
    wait_for(
        lambda: metric(port, "contract_operator_last_cycle_success") == 1,
        60,
        what="a cycle that reached the broker again",
    )
    wait_cycles(port, 2)  # and the cycles after it: nothing to rewrite
    assert ncs.get("orders")["metadata"]["resourceVersion"] == version
    assert "BrokerUnavailable" not in [reason for reason, _ in ncs.events("orders")]


def test_liveness_fails_while_the_loop_hangs_and_recovers(
    kube, namespace, start_operator, own_broker, topic_prefix
) -> None:
    health = free_port()
    start_operator(
        namespace,
        "--health-port",
        str(health),
        "--stall-seconds",
        "4",
        "--broker-timeout",
        "12",
        bootstrap=own_broker.bootstrap,
    )
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    ncs.apply(_nc("orders", node, [{"name": f"onex.evt.{node}.placed.v1"}]))
    ncs.wait_condition("orders", "Ready", "True")
    assert _get(f"http://127.0.0.1:{health}/healthz")[0] == 200
    assert _get(f"http://127.0.0.1:{health}/readyz")[0] == 200

    os.kill(own_broker.pid, signal.SIGSTOP)  # accepts connections, never answers
    try:
        _, body = wait_for(
            lambda: (r := _get(f"http://127.0.0.1:{health}/healthz"))[0] == 503 and r,
            20,
            what="liveness to fail while a broker call hangs",
        )
        assert "no reconcile cycle finished" in body
    finally:
        os.kill(own_broker.pid, signal.SIGCONT)
    wait_for(
        lambda: _get(f"http://127.0.0.1:{health}/healthz")[0] == 200,
        20,
        what="liveness to recover",
    )


def _apply_when_served(ncs: NodeContracts, body: dict) -> bool:
    """Apply once the restarted apiserver serves writes (503 "server is starting" before)."""
    try:
        ncs.apply(body)
        return True
    except client.ApiException as exc:
        if exc.status == 503:
            return False
        raise
    except Exception:  # refused connections while it starts listening
        return False


def _running(pid: int) -> bool:
    """True while `pid` runs (a zombie whose parent has not reaped it does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class _ApiServer:
    """The testbed's own kube-apiserver process, stopped and started again with the same
    flags (etcd keeps the state, so it is a restart, not a new cluster)."""

    def __init__(self, kubeconfig: str) -> None:
        self.dir = Path(kubeconfig).parent
        self.pid_file = self.dir / "apiserver.pid"
        pid = int(self.pid_file.read_text())
        self.argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")

    def stop(self) -> None:
        pid = int(self.pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _running(pid):  # it drains open watches for up to a minute: cut that short
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not _running(pid), 20, what="apiserver to stop")

    def start(self, kube: client.ApiClient) -> None:
        with open(self.dir / "apiserver.log", "ab") as log:
            proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid_file.write_text(f"{proc.pid}\n")

        def ready() -> bool:
            try:  # the path the test uses next: 503 "server is starting" until it is ready
                client.CustomObjectsApi(kube).list_namespaced_custom_object(
                    GROUP, VERSION, "default", PLURAL, limit=1, _request_timeout=2
                )
                return True
            except Exception:
                return False

        wait_for(ready, 60, what="apiserver to come back")


def test_apiserver_restart_costs_no_traceback_and_new_contracts_are_seen_fast(
    testbed, kube, namespace, start_operator, admin, topic_prefix
) -> None:
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    port = free_port()
    op = start_operator(namespace, "--metrics-port", str(port))
    ncs = NodeContracts(kube, namespace)
    node = f"n{topic_prefix}"
    topic = f"onex.evt.{node}.placed.v1"
    ncs.apply(_nc("orders", node, [{"name": topic, "config": {"retention.ms": "604800000"}}]))
    ncs.wait_condition("orders", "Ready", "True")

    apiserver = _ApiServer(testbed.kubeconfig)
    apiserver.stop()
    try:
        # Make a status write due while the apiserver is away: the topic drifts on the broker.
        resource = ConfigResource(
            "topic",
            topic,
            incremental_configs=[
                ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)
            ],
        )
        for future in admin.incremental_alter_configs([resource]).values():
            future.result(timeout=10)
        # Several cycles fail to write (the watch retries meanwhile): the first failed write,
        # then the next retry cycle.
        wait_for(
            lambda: (
                metric(
                    port,
                    "contract_operator_contract_failures_total",
                    '{reason="StatusWriteFailed"}',
                )
                >= 1
            ),
            40,
            what="a status write that met the apiserver away",
        )
        wait_cycles(port, 1, timeout=40)
        assert op.proc.poll() is None
    finally:
        apiserver.start(kube)

    other = f"m{topic_prefix}"
    late = _nc("late", other, [{"name": f"onex.evt.{other}.late.v1"}])
    wait_for(lambda: _apply_when_served(ncs, late), 60, what="the apiserver to accept a contract")
    applied = time.monotonic()
    ncs.wait_condition("late", "Ready", "True", timeout=60)
    took = time.monotonic() - applied
    print(f"\ncontract applied after an apiserver restart: Ready in {took:.1f} s")
    assert took < 5, f"a contract applied after the restart took {took:.1f} s"
    ncs.wait_condition("orders", "Drifted", "True", timeout=30)  # the write that was due

    log = op.log()
    assert "Traceback" not in log
    assert "reconcile failed" not in log
    assert log.count("the apiserver is unreachable") == 1


SECRET = "hunter2-very-secret"
# What goes wrong on a real SASL_SSL listener, and what the message must name. The first is
# the ACL-limited principal with someone else's password; the second trusts another CA.
SECURE_FAILURES = {
    "wrong password": ({"KAFKA_SASL_PASSWORD": SECRET}, "Authentication failed"),
    "untrusted CA": ({"KAFKA_SSL_CA_LOCATION": "other-ca.crt"}, "certificate verify failed"),
    "plaintext to a TLS port": ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "SASL"),
}


def _secure_env(testbed, overrides: dict[str, str]) -> dict[str, str]:
    ca_dir = os.path.dirname(testbed.ca_file)
    return testbed.secure_env(
        **{k: os.path.join(ca_dir, v) if v.endswith(".crt") else v for k, v in overrides.items()}
    )


@pytest.mark.parametrize("case", SECURE_FAILURES.values(), ids=SECURE_FAILURES.keys())
def test_tls_and_sasl_failures_name_their_cause_not_the_secret(testbed, tmp_path, case) -> None:
    overrides, cause = case
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        "node: orders\nevent_bus:\n  publish_topics:\n    - name: onex.evt.orders.placed.v1\n"
    )
    env = _secure_env(testbed, overrides)
    env.setdefault("KAFKA_SASL_PASSWORD", SECRET)
    result = subprocess.run(
        [sys.executable, "-m", "contract_operator", "plan", str(contract), "--broker-timeout", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result
    assert cause in result.stderr, result.stderr
    for secret in (SECRET, testbed.secure_password):
        assert secret not in result.stderr + result.stdout


@pytest.mark.parametrize("case", list(SECURE_FAILURES.values())[:2], ids=list(SECURE_FAILURES)[:2])
def test_operator_reports_security_failures_as_broker_unavailable(
    kube, testbed, namespace, nodecontract_crd, tmp_path, topic_prefix, case
) -> None:
    from .conftest import OperatorProcess, operator_args

    overrides, cause = case
    env = _secure_env(testbed, overrides)
    op = OperatorProcess(
        env,
        operator_args(namespace, "--broker-grace-seconds", "0"),
        tmp_path / "operator.log",
    )
    try:
        ncs = NodeContracts(kube, namespace)
        node = f"n{topic_prefix}"
        ncs.apply(_nc("orders", node, [{"name": f"onex.evt.{node}.placed.v1"}]))
        ready = ncs.wait_condition("orders", "Provisioned", "Unknown", timeout=60)
        assert ready["reason"] == "BrokerUnavailable"
        assert cause in ready["message"], ready["message"]
        assert SECRET not in ready["message"] and SECRET not in op.log()
    finally:
        op.stop()
