"""Several replicas with kopf peering, as real processes on the real testbed.

Only the active replica may work: each replica's status writes and broker requests are counted
on its own Prometheus endpoint (`contract_operator_status_writes_total`,
`contract_operator_admin_requests_total`). A replica outranked in any watched namespace stands
by; on taking over it forgets contracts deleted meanwhile. A SIGKILLed active replica is
replaced by the standby once its peering entry expires (the peering lifetime).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
)
from kubernetes import client

from contract_operator.model.contract import GROUP, PLURAL, VERSION

from .conftest import OperatorProcess, Testbed, free_port, wait_cycles, wait_for
from .test_rbac import RELEASE, install_from_chart, make_namespace

PEERING = RELEASE  # the chart names the peering object after the release
WEEK, HOUR = "604800000", "3600000"


class Replica:
    """One `contract-operator run` with its own identity (POD_ID) and metrics port."""

    def __init__(
        self, testbed: Testbed, namespaces: list[str], identity: str, log: Path, *extra: str
    ) -> None:
        self.identity = identity
        self.metrics_port = free_port()
        env = {**testbed.env(), "POD_ID": identity}
        args = [f"--namespace={ns}" for ns in namespaces]
        args += ["--resync-seconds", "1", "--health-port", "0", "--broker-timeout", "2"]
        args += ["--metrics-port", str(self.metrics_port), *extra]
        self.process = OperatorProcess(env, args, log)

    def counted(self, metric: str) -> float:
        """A counter of this replica's own /metrics, summed over its labels (0 if none yet)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode()
        samples = re.findall(rf"^{metric}_total(?:{{[^}}]*}})? (\S+)$", text, re.M)
        return sum(float(v) for v in samples)

    def status_writes(self) -> float:
        return self.counted("contract_operator_status_writes")

    def broker_requests(self) -> float:
        """Every reconcile cycle describes the broker: a standby makes no request at all."""
        return self.counted("contract_operator_admin_requests")

    def alive(self) -> bool:
        return self.process.proc.poll() is None


@pytest.fixture
def replicas(
    testbed: Testbed, nodecontract_crd: dict, tmp_path: Path
) -> Iterator[Callable[..., Replica]]:  # type: ignore[type-arg]
    started: list[Replica] = []

    def start(namespaces: list[str], *extra: str) -> Replica:
        identity = f"replica-{len(started)}"
        replica = Replica(testbed, namespaces, identity, tmp_path / f"{identity}.log", *extra)
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.process.stop()


class Cluster:
    """What the tests read and write as the admin."""

    def __init__(self, kube: client.ApiClient, admin: AdminClient) -> None:
        self.custom = client.CustomObjectsApi(kube)
        self.kube = kube
        self.admin = admin

    def install_peering(self, namespaces: list[str]) -> None:
        """kopf's peering CRD and a peering object per namespace, as the chart has them."""
        values = {"namespaces": namespaces, "replicas": 2}
        install_from_chart(
            self.kube, namespaces[0], values, {"CustomResourceDefinition", "KopfPeering"}
        )

    def peers(self, namespace: str) -> dict[str, Any]:
        body = self.custom.get_namespaced_custom_object(
            "kopf.dev", "v1", namespace, "kopfpeerings", PEERING
        )
        return dict(body.get("status") or {})

    def set_peer(self, namespace: str, identity: str, entry: dict[str, Any] | None) -> None:
        self.custom.patch_namespaced_custom_object(
            "kopf.dev", "v1", namespace, "kopfpeerings", PEERING, {"status": {identity: entry}}
        )

    def apply(
        self, namespace: str, node: str, topic: str | None = None, subscribes: str | None = None
    ) -> None:
        published = {
            "name": topic,
            "partitions": 1,
            "replicationFactor": 1,
            "config": {"retention.ms": WEEK},
        }
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "NodeContract",
            "metadata": {"name": node},
            "spec": {
                "node": node,
                "eventBus": {
                    "publishTopics": [published] if topic else [],
                    "subscribeTopics": [subscribes] if subscribes else [],
                },
            },
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    def condition(self, namespace: str, node: str, kind: str) -> str | None:
        body = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, node)
        for c in (body.get("status") or {}).get("conditions") or []:
            if c.get("type") == kind:
                return str(c.get("status"))
        return None

    def ready(self, namespace: str, node: str, topic: str) -> bool:
        if self.condition(namespace, node, "Ready") != "True":
            return False
        return topic in self.admin.list_topics(timeout=5).topics

    def cut_retention(self, topic: str) -> None:
        """Out-of-band drift on the broker: every replica's next plan would see it."""
        resource = ConfigResource(
            "topic",
            topic,
            incremental_configs=[
                ConfigEntry("retention.ms", HOUR, incremental_operation=AlterConfigOpType.SET)
            ],
        )
        (future,) = self.admin.incremental_alter_configs([resource]).values()
        future.result(timeout=10)


@pytest.fixture
def cluster(kube: client.ApiClient, admin: AdminClient) -> Cluster:
    return Cluster(kube, admin)


def names(prefix: str, n: int) -> list[tuple[str, str]]:
    return [(f"n{prefix}x{i}", f"onex.evt.n{prefix}x{i}.thing-happened.v1") for i in range(n)]


def rival() -> dict[str, Any]:
    """A live peer of higher priority than any replica can draw (at most 1,000,000)."""
    return {
        "priority": 10_000_000,
        "lifetime": 3600,
        "lastseen": dt.datetime.now(dt.UTC).isoformat(),
    }


def live_identities(cluster: Cluster, namespace: str) -> set[str]:
    now = dt.datetime.now(dt.UTC)
    return {
        identity
        for identity, entry in cluster.peers(namespace).items()
        if dt.datetime.fromisoformat(entry["lastseen"]) + dt.timedelta(seconds=entry["lifetime"])
        > now
    }


def by_priority(cluster: Cluster, namespace: str, replicas: list[Replica]) -> list[Replica]:
    """Highest priority first: kopf makes that one active."""
    peers = cluster.peers(namespace)
    return sorted(replicas, key=lambda r: -int(peers[r.identity]["priority"]))


def test_of_two_running_replicas_only_the_active_one_writes_statuses(
    kube: client.ApiClient, namespace: str, cluster: Cluster, replicas: Any, topic_prefix: str
) -> None:
    cluster.install_peering([namespace])
    both = [replicas([namespace], "--peering", PEERING) for _ in range(2)]
    wait_for(
        lambda: live_identities(cluster, namespace) == {r.identity for r in both},
        30,
        what="both replicas in the peering object",
    )
    # Until each has seen the other, both may run a cycle (on no contract yet): count from two
    # cycles of the active one on.
    active, standby = by_priority(cluster, namespace, both)
    wait_cycles(active.metrics_port, 2)
    asked = {r.identity: r.broker_requests() for r in both}

    contracts = names(topic_prefix, 3)
    for node, topic in contracts:
        cluster.apply(namespace, node, topic)
    for node, topic in contracts:
        wait_for(lambda n=node, t=topic: cluster.ready(namespace, n, t), 60, what=f"{node} Ready")

    assert by_priority(cluster, namespace, both) == [active, standby]
    wait_for(
        lambda: sum(r.status_writes() for r in both) >= len(contracts), 15, what="writes counted"
    )
    wait_cycles(active.metrics_port, 2)  # two more resyncs, in case the standby writes late
    # A second active replica might write nothing (it sees the first one's status through its
    # watch and finds nothing to change), but it would still plan: it must not even ask the broker.
    writes = {r.identity: r.status_writes() for r in both}
    assert writes[standby.identity] == 0 and writes[active.identity] >= len(contracts), writes
    assert standby.broker_requests() == asked[standby.identity]
    assert active.broker_requests() > asked[active.identity]
    assert all(r.alive() for r in both)


def test_a_replica_outranked_in_any_watched_namespace_writes_nothing(
    kube: client.ApiClient, namespace: str, cluster: Cluster, replicas: Any, topic_prefix: str
) -> None:
    """The contract lives in the first namespace, the rival only in the second: kopf pauses
    the whole operator, and the reconcile loop must stand by too, even on broker-side drift."""
    second = make_namespace(kube)
    cluster.install_peering([namespace, second])
    ((node, topic),) = names(topic_prefix, 1)
    cluster.apply(namespace, node, topic)
    replica = replicas([namespace, second], "--peering", PEERING)
    wait_for(lambda: cluster.ready(namespace, node, topic), 60, what=f"{node} Ready")

    cluster.set_peer(second, "rival", rival())
    wait_for(lambda: "Pausing operations" in replica.process.log(), 30, what="kopf's pause")
    writes = replica.status_writes()
    cluster.cut_retention(topic)
    # A standing-by loop re-checks the gate every 5 s; an active one plans every second. A loop
    # that stands by shows no tick to wait for (no cycle, no metric, one log line when it starts
    # standing by): this sleep is the time in which a loop wrongly active would have reported
    # the drift, so it stays.
    time.sleep(8)
    assert cluster.condition(namespace, node, "Drifted") == "False", replica.process.log()[-3000:]
    assert replica.status_writes() == writes

    cluster.set_peer(second, "rival", None)  # the rival leaves: this replica takes over
    wait_for(
        lambda: cluster.condition(namespace, node, "Drifted") == "True", 30, what="drift reported"
    )
    assert "standing by: outranked in namespace " + second in replica.process.log()


def test_standby_takes_over_a_killed_active_replica_within_the_peering_lifetime(
    kube: client.ApiClient, namespace: str, cluster: Cluster, replicas: Any, topic_prefix: str
) -> None:
    """Takeover = what remains of the dead replica's last keep-alive (kopf renews it every
    5-10 s, so 5-15 s remain at the default 15 s lifetime) plus the standby's relist and one
    cycle. Measured on the 2-core testbed: Ready 6.6-14.9 s after the SIGKILL, 0.3-0.6 s after
    the dead entry expired. Asserted: the lifetime plus 30 s of slack for a loaded machine."""
    cluster.install_peering([namespace])
    both = [replicas([namespace], "--peering", PEERING) for _ in range(2)]
    wait_for(
        lambda: live_identities(cluster, namespace) == {r.identity for r in both},
        30,
        what="both replicas in the peering object",
    )
    (first, second) = names(topic_prefix, 2)
    cluster.apply(namespace, *first)
    wait_for(lambda: cluster.ready(namespace, *first), 60, what="first contract Ready")
    active, standby = by_priority(cluster, namespace, both)
    assert standby.status_writes() == 0

    active.process.proc.kill()  # SIGKILL: no goodbye in the peering object
    killed = time.monotonic()
    cluster.apply(namespace, *second)
    wait_for(lambda: cluster.ready(namespace, *second), 15 + 30, 0.1, what="takeover")
    takeover = time.monotonic() - killed

    print(f"\ntakeover after SIGKILL: {takeover:.1f} s (peering lifetime 15 s)")
    assert standby.status_writes() > 0 and standby.alive()
    assert f"active: {standby.identity}" in standby.process.log()


def test_a_contract_deleted_while_standing_by_is_forgotten_on_taking_over(
    kube: client.ApiClient, namespace: str, cluster: Cluster, replicas: Any, topic_prefix: str
) -> None:
    """kopf's relist on resuming never drops index entries of objects deleted while paused:
    a deleted publisher must not keep its subscriber wired from the replica's memory."""
    cluster.install_peering([namespace])
    ((publisher, topic),) = names(topic_prefix, 1)
    subscriber = f"s{topic_prefix}"
    cluster.apply(namespace, publisher, topic)
    cluster.apply(namespace, subscriber, subscribes=topic)
    replica = replicas([namespace], "--peering", PEERING)
    wait_for(lambda: cluster.condition(namespace, subscriber, "Wired") == "True", 60, what="wired")

    cluster.set_peer(namespace, "rival", rival())
    wait_for(lambda: "standing by: outranked" in replica.process.log(), 30, what="standby")
    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, publisher)
    cluster.set_peer(namespace, "rival", None)  # the rival leaves: this replica takes over

    wait_for(
        lambda: cluster.condition(namespace, subscriber, "Wired") == "False",
        30,
        what=f"{subscriber} unwired\n{replica.process.log()[-3000:]}",
    )
