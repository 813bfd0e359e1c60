"""`adopt` on the real cluster: an unmanaged bus becomes contracts that reconcile with no drift
and no creates."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource
from kubernetes import client

from contract_operator.adapters.kafka_acls import ADOPT_ACLS
from contract_operator.model.loader import load_paths

from .conftest import Testbed, create_topic, wait_for
from .groups import settling
from .test_kafka import cli, principal  # noqa: F401 - the principal fixture
from .test_operator import NodeContracts, _nc

pytestmark = pytest.mark.usefixtures("nodecontract_crd")


def commit_offsets(testbed: Testbed, group: str, *topics: str) -> None:
    """Give `group` committed offsets on `topics`, as a consumer that read them would have."""
    consumer = Consumer(
        {
            "bootstrap.servers": testbed.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "allow.auto.create.topics": False,
        }
    )
    offsets = [TopicPartition(t, 0, 0) for t in topics]

    def committed() -> bool:
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # A fresh testbed is still electing the coordinators of __consumer_offsets.
            if not settling(exc):
                raise
            return False
        return True

    try:
        wait_for(committed, 60, interval=0.5, what=f"offsets of {group} committed")
    finally:
        consumer.close()


def _state(admin: AdminClient, names: list[str]) -> dict[str, tuple]:
    """Everything observable about the topics: partitions, replicas, every config entry."""
    listed = admin.list_topics(timeout=10).topics
    futures = admin.describe_configs([ConfigResource("topic", n) for n in names])
    configs = {
        r.name: sorted((k, e.value) for k, e in f.result(timeout=10).items())
        for r, f in futures.items()
    }
    replicas = {n: [len(p.replicas) for p in listed[n].partitions.values()] for n in names}
    return {n: (len(listed[n].partitions), replicas[n], configs[n]) for n in names}


class Bus:
    """An unmanaged bus of several nodes under a unique prefix."""

    def __init__(self, prefix: str) -> None:
        self.p = prefix
        self.router, self.billing = f"{prefix}router", f"{prefix}billing"
        self.notifier, self.gateway = f"{prefix}notifier", f"{prefix}gateway"
        self.complete = f"onex.evt.{self.router}.routing-complete.v1"
        self.request = f"onex.cmd.{self.router}.route-request.v1"
        self.invoice = f"onex.evt.{self.billing}.invoice-issued.v1"
        self.received = f"onex.evt.{self.gateway}.request-received.v1"
        self.typo = f"onex.evt.{self.router}.routing_complete.v1"  # auto-created by a consumer
        self.legacy = f"{prefix}.LegacyOrders"
        self.adoptable = [self.complete, self.request, self.invoice]

    def seed(self, testbed: Testbed, admin: AdminClient) -> None:
        create_topic(admin, self.complete, 3, 2, **{"retention.ms": "3600000"})
        create_topic(admin, self.request, 1, 1, **{"cleanup.policy": "compact"})
        create_topic(
            admin,
            self.invoice,
            2,
            3,
            **{"min.insync.replicas": "2", "retention.bytes": "1073741824"},
        )
        create_topic(admin, self.received, 1, 1)
        create_topic(admin, self.typo)
        create_topic(admin, self.legacy)
        commit_offsets(testbed, f"{self.notifier}-consumer", self.complete, self.typo)
        commit_offsets(testbed, f"{self.billing}-consumer", self.request)
        commit_offsets(testbed, f"{self.router}-consumer", self.received)
        commit_offsets(testbed, f"{self.p}-spark-job", self.invoice)


def _adopt(testbed: Testbed, bus: Bus, *extra: str):  # type: ignore[no-untyped-def]
    return testbed.cli("adopt", "--group-to-node", "{node}-consumer", "--topics", bus.p, *extra)


def test_adopted_contracts_reconcile_ready_with_no_drift_and_no_creates(
    testbed: Testbed,
    kube: client.ApiClient,
    namespace: str,
    admin: AdminClient,
    topic_prefix: str,
    start_operator,  # type: ignore[no-untyped-def]
) -> None:
    bus = Bus(topic_prefix)
    bus.seed(testbed, admin)
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("gateway", bus.gateway, [{"name": bus.received}]))
    before = _state(admin, [*bus.adoptable, bus.received])

    adopted = _adopt(testbed, bus, "-n", namespace)
    assert adopted.returncode == 3, adopted.stderr  # written, with things left out (listed)
    docs = list(yaml.safe_load_all(adopted.stdout))
    by_node = {d["spec"]["node"]: d for d in docs}
    assert set(by_node) == {bus.router, bus.billing, bus.notifier}
    router = by_node[bus.router]["spec"]["eventBus"]
    assert {
        "name": bus.complete,
        "partitions": 3,
        "replicationFactor": 2,
        "config": {"retention.ms": "3600000"},
    } in router["publishTopics"]
    assert router["subscribeTopics"] == [bus.received]  # the gateway's own contract has it
    assert by_node[bus.notifier]["spec"]["eventBus"] == {
        "publishTopics": [],
        "subscribeTopics": [bus.complete],
    }
    # Listed, never adopted: the rule-breaking names (with validate's rename), the wire that
    # would be broken, the group nothing maps, the topic a NodeContract already publishes.
    err = adopted.stderr
    assert f"{bus.typo} does not match the naming pattern" in err
    assert f"fix: {bus.complete} exists: point its readers at {bus.complete}" in err
    assert f"{bus.legacy} does not match the naming pattern" in err
    assert f"x {bus.notifier} (group {bus.notifier}-consumer) reads {bus.typo}" in err
    assert f"Subscribe to {bus.complete} instead (it is published)." in err
    assert f"? {bus.p}-spark-job  reads 1 topic: {bus.invoice}" in err
    assert f"= {bus.received}  ({namespace}/gateway)" in err
    published = {t["name"] for d in docs for t in d["spec"]["eventBus"]["publishTopics"]}
    assert published == set(bus.adoptable)

    for doc in docs:
        ncs.apply(doc)
    start_operator(namespace)
    for name in ["gateway", *(d["metadata"]["name"] for d in docs)]:
        ncs.wait_condition(name, "Ready", "True", timeout=60)
    for doc in docs:
        status = ncs.get(doc["metadata"]["name"])["status"]
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Drifted"]["status"] == "False", conditions["Drifted"]
        published = [t for t in status["topics"] if t["role"] == "publish"]
        assert {t["state"] for t in published} <= {"Present"}, status["topics"]
    reasons = {r for name in by_node for r, _ in ncs.events(name)}
    assert "TopicCreated" not in reasons
    assert _state(admin, [*bus.adoptable, bus.received]) == before


def test_contract_yaml_files_pass_validate_and_name_no_namespace(
    testbed: Testbed, admin: AdminClient, topic_prefix: str, tmp_path: Path
) -> None:
    bus = Bus(topic_prefix)
    bus.seed(testbed, admin)
    out = tmp_path / "contracts"
    adopted = _adopt(testbed, bus, "--format", "contract-yaml", "-o", str(out), "--no-cluster")
    assert adopted.returncode == 3, adopted.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.yaml" for n in (bus.router, bus.billing, bus.notifier, bus.gateway)
    )
    loaded = load_paths([out])
    assert not loaded.problems and all(c.shape == "file" for c in loaded.contracts)
    checked = testbed.cli("validate", str(out))
    assert checked.returncode == 0, checked.stdout
    again = _adopt(testbed, bus, "--format", "contract-yaml", "-o", str(out), "--no-cluster")
    assert again.returncode == 2 and "already exists; pass --force" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group-to-node", "consumer-(.*)"], "needs {node}"),
        (["--group-to-node", "(?P<node>"], "is not a valid regex"),
        (["--topics", "("], "--topics '(' is not a valid regex"),
        (["--pattern", "^(?P<kind>[a-z]+)\\..*$", "--no-producer-rule"], "(?P<producer>...)"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(
    testbed: Testbed, args: list[str], message: str
) -> None:
    done = testbed.cli("adopt", "--no-cluster", *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_an_unreachable_broker_is_one_error_line(testbed: Testbed) -> None:
    done = testbed.cli(
        "adopt", "--no-cluster", "--bootstrap-server", "127.0.0.1:9", "--broker-timeout", "1"
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot reach broker 127.0.0.1:9" in done.stderr


@pytest.mark.parametrize("protocol", ["classic", "consumer"])  # "consumer": KIP-848 groups
def test_groups_are_read_from_offsets_and_assignments(
    testbed: Testbed, admin: AdminClient, topic_prefix: str, protocol: str
) -> None:
    from contract_operator.adapters.broker import Broker, BrokerSettings

    topic = f"onex.evt.{topic_prefix}live.tick.v1"
    create_topic(admin, topic)
    group = f"{topic_prefix}live-consumer"
    consumer = Consumer(
        {
            "bootstrap.servers": testbed.bootstrap_servers,
            "group.id": group,
            "group.protocol": protocol,
            "allow.auto.create.topics": False,
        }
    )
    consumer.subscribe([topic])
    broker = Broker(BrokerSettings(testbed.bootstrap_servers))
    try:

        def assigned() -> bool:
            consumer.poll(0.2)
            return bool(consumer.assignment())

        wait_for(assigned, 30, interval=0, what="the consumer's assignment")
        # An active member without a committed offset: found by its assignment alone.
        assert broker.consumer_groups().topics.get(group) == {topic}
    finally:
        consumer.close()


# --- the ACLs adopt needs on a secured cluster ---------------------------------------------


def _adopt_as(user, bus: Bus) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    args = ["adopt", "--no-cluster", "--format", "contract-yaml", "--topics", bus.p]
    args += ["--group-to-node", "{node}-consumer"]

    def attempt() -> subprocess.CompletedProcess[str] | None:
        done = cli(user.env(), *args)
        return None if "Authentication failed" in done.stderr else done

    return wait_for(attempt, 30, what="SCRAM login of a new principal")  # type: ignore[no-any-return]


def test_adopt_acls_are_sufficient_and_groups_need_their_describe(
    testbed: Testbed,
    admin: AdminClient,
    topic_prefix: str,
    principal,  # type: ignore[no-untyped-def]  # noqa: F811 - the fixture imported above
) -> None:
    bus = Bus(topic_prefix)
    bus.seed(testbed, admin)
    adopted = _adopt_as(principal(ADOPT_ACLS), bus)
    assert adopted.returncode == 3, adopted.stderr
    docs = {d["node"]: d for d in yaml.safe_load_all(adopted.stdout)}
    assert docs[bus.notifier]["event_bus"]["subscribe_topics"] == [bus.complete]
    assert {
        "name": bus.request,
        "partitions": 1,
        "replication_factor": 1,
        "config": {"cleanup.policy": "compact"},
    } in docs[bus.router]["event_bus"]["publish_topics"]
    assert "Unreadable" not in adopted.stderr

    without_groups = tuple(a for a in ADOPT_ACLS if a.resource_type != "GROUP")
    blind = _adopt_as(principal(without_groups), bus)
    assert blind.returncode == 3, blind.stderr  # the rule-breaking names are still listed
    assert bus.notifier not in {d["node"] for d in yaml.safe_load_all(blind.stdout)}
