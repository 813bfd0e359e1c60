"""The operator and the CLI on a real Kafka cluster with TLS, SCRAM and an authorizer.

Each test that is about permissions makes a principal of its own (a SCRAM user plus ACLs, added
at runtime through the PLAINTEXT super user) so no test changes what another one sees.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from contract_operator.adapters.kafka_acls import OPERATOR_ACLS, Acl, bindings

from .conftest import (
    KAFKA,
    OperatorProcess,
    Testbed,
    create_topic,
    free_port,
    operator_args,
    wait_cycles,
    wait_for,
)
from .test_operator import NodeContracts, _nc

pytestmark = pytest.mark.usefixtures("nodecontract_crd")


class Principal:
    """A SCRAM-SHA-512 user with exactly the given ACLs (and DENY entries), removed afterwards."""

    def __init__(self, admin: AdminClient, testbed: Testbed) -> None:
        self.admin, self.testbed = admin, testbed
        self.name = f"p{uuid.uuid4().hex[:10]}"
        self.password = uuid.uuid4().hex

    @property
    def principal(self) -> str:
        return f"User:{self.name}"

    def create(self, acls: tuple[Acl, ...], deny: list[tuple[str, str]] = ()) -> Principal:  # type: ignore[assignment]
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096)
        upsert = UserScramCredentialUpsertion(self.name, info, self.password.encode())
        for f in self.admin.alter_user_scram_credentials([upsert]).values():
            f.result(timeout=30)
        grants = bindings(self.principal, acls) + [
            AclBinding(
                ResourceType.TOPIC,
                topic,
                ResourcePatternType.LITERAL,
                self.principal,
                "*",
                AclOperation[operation],
                AclPermissionType.DENY,
            )
            for topic, operation in deny
        ]
        if grants:
            for f in self.admin.create_acls(grants).values():
                f.result(timeout=30)
        return self

    def env(self) -> dict[str, str]:
        return self.testbed.secure_env(
            KAFKA_SASL_USERNAME=self.name, KAFKA_SASL_PASSWORD=self.password
        )

    def remove(self) -> None:
        match_all = AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            self.principal,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        for f in self.admin.delete_acls([match_all]).values():
            f.result(timeout=30)
        gone = UserScramCredentialDeletion(self.name, ScramMechanism.SCRAM_SHA_512)
        for f in self.admin.alter_user_scram_credentials([gone]).values():
            f.result(timeout=30)


@pytest.fixture
def principal(admin: AdminClient, testbed: Testbed) -> Iterator[Callable[..., Principal]]:
    made: list[Principal] = []

    def make(acls: tuple[Acl, ...] = OPERATOR_ACLS, deny: list[tuple[str, str]] = ()) -> Principal:  # type: ignore[assignment]
        p = Principal(admin, testbed).create(acls, deny)
        made.append(p)
        return p

    yield make
    for p in made:
        p.remove()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "contract_operator", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def contract_file(tmp_path: Path, node: str, topics: list[dict[str, Any]], subs=()) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{node}.yaml"
    body = {"node": node, "event_bus": {"publish_topics": topics, "subscribe_topics": list(subs)}}
    path.write_text(json.dumps(body))
    return path


def logged_in(p: Principal, contract: Path) -> subprocess.CompletedProcess[str]:
    """`plan` as the principal, once its SCRAM credentials reached every broker."""

    def attempt() -> subprocess.CompletedProcess[str] | None:
        r = cli(p.env(), "plan", str(contract), "--format", "json")
        return None if r.returncode == 1 and "Authentication failed" in r.stderr else r

    return wait_for(attempt, 30, what="SCRAM login of a new principal")  # type: ignore[no-any-return]


def states(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    report = json.loads(result.stdout)
    return {t["name"]: t for c in report["contracts"] for t in c["topics"]}


# --- the operator's ACLs: sufficient and each one needed --------------------------------------


def _existing_and_fresh(admin: AdminClient, tmp_path: Path, prefix: str) -> tuple[str, str, Path]:
    """A topic already on the broker (with a declared config) and one to create, in one
    contract file."""
    node = f"n{prefix}"
    existing, fresh = f"onex.evt.{node}.placed.v1", f"onex.evt.{node}.shipped.v1"
    create_topic(admin, existing, 2, 1, **{"retention.ms": "3600000"})
    declared = [{"name": existing, "config": {"retention.ms": "3600000"}}, {"name": fresh}]
    return existing, fresh, contract_file(tmp_path, node, declared)


def test_operator_acls_are_sufficient_for_every_command(
    principal, admin, tmp_path, topic_prefix
) -> None:
    existing, fresh, contract = _existing_and_fresh(admin, tmp_path, topic_prefix)
    p = principal()
    planned = logged_in(p, contract)
    assert planned.returncode == 2, planned.stderr  # exit 2: topics to create
    assert states(planned)[existing]["state"] == "Present"
    assert "unverifiable" not in states(planned)[existing]
    assert json.loads(planned.stdout)["cluster"] == {
        "defaultReplicationFactor": 3,
        "autoCreateTopics": True,
    }
    provisioned = cli(p.env(), "provision", str(contract), "--format", "json")
    assert provisioned.returncode == 0, provisioned.stderr
    assert fresh in json.loads(provisioned.stdout)["created"]
    # report exits 5: a topic no contract owns is on the broker (not an error). Made here, so
    # the exit status does not depend on what earlier tests left on the shared cluster.
    create_topic(admin, f"onex.evt.n{topic_prefix}.left-behind.v1")
    for args, ok in (
        (["report", str(contract)], 5),
        (["graph", str(contract)], 0),
        (["validate", str(contract)], 0),
    ):
        done = cli(p.env(), *args)
        assert done.returncode == ok, (args, done.stderr)
        assert "cannot reach" not in done.stderr + done.stdout


@pytest.mark.parametrize("missing", OPERATOR_ACLS, ids=lambda a: f"{a.resource_type}-{a.operation}")
def test_each_operator_acl_is_needed(
    principal, admin, tmp_path, topic_prefix, missing: Acl
) -> None:
    existing, fresh, contract = _existing_and_fresh(admin, tmp_path, topic_prefix)
    p = principal(tuple(a for a in OPERATOR_ACLS if a != missing))
    planned = logged_in(p, contract)
    if missing.resource_type == "CLUSTER":  # the cluster's defaults cannot be read
        assert json.loads(planned.stdout)["cluster"] == {
            "defaultReplicationFactor": None,
            "autoCreateTopics": None,
        }
    elif missing.operation == "DESCRIBE":  # the existing topic is invisible: it looks missing
        assert states(planned)[existing]["state"] == "Missing"
    elif missing.operation == "DESCRIBE_CONFIGS":  # its config cannot be compared
        assert states(planned)[existing]["unverifiable"] == ["retention.ms"]
    else:  # CREATE
        provisioned = cli(p.env(), "provision", str(contract), "--format", "json")
        assert provisioned.returncode == 1
        assert "TOPIC_AUTHORIZATION_FAILED" in json.loads(provisioned.stdout)["failed"][fresh]


# --- the operator over SASL_SSL ---------------------------------------------------------------


def run_operator(env: dict[str, str], namespace: str, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    port = free_port()
    args = operator_args(namespace, "--metrics-port", str(port), "--broker-timeout", "5", *extra)
    return OperatorProcess(env, args, tmp_path / f"operator-{port}.log"), port


def test_a_missing_create_acl_fails_that_topic_alone(
    kube, principal, namespace, tmp_path, topic_prefix, admin
) -> None:
    node = f"n{topic_prefix}"
    denied, allowed = f"onex.evt.{node}.denied.v1", f"onex.evt.{node}.allowed.v1"
    p = principal(deny=[(denied, "CREATE")])
    logged_in(p, contract_file(tmp_path, node, [{"name": allowed}]))
    op, _ = run_operator(p.env(), namespace, tmp_path)
    try:
        ncs = NodeContracts(kube, namespace)
        ncs.apply(_nc("orders", node, [{"name": denied}, {"name": allowed}]))
        provisioned = ncs.wait_condition("orders", "Provisioned", "False", timeout=60)
        assert provisioned["reason"] == "CreateFailed"
        topics = {t["name"]: t for t in ncs.get("orders")["status"]["topics"]}
        assert topics[denied]["state"] == "Failed"
        assert "TOPIC_AUTHORIZATION_FAILED" in topics[denied]["message"]
        assert topics[allowed]["state"] == "Present"
        assert allowed in admin.list_topics(timeout=10).topics
        assert denied not in admin.list_topics(timeout=10).topics
    finally:
        op.stop()


def test_a_missing_describe_configs_acl_makes_that_config_unverifiable(
    kube, principal, namespace, tmp_path, topic_prefix, admin
) -> None:
    node = f"n{topic_prefix}"
    hidden, shown = f"onex.evt.{node}.hidden.v1", f"onex.evt.{node}.shown.v1"
    for name in (hidden, shown):
        create_topic(admin, name, 1, 1, **{"retention.ms": "3600000"})
    p = principal(deny=[(hidden, "DESCRIBE_CONFIGS")])
    logged_in(p, contract_file(tmp_path, node, [{"name": shown}]))
    op, _ = run_operator(p.env(), namespace, tmp_path)
    try:
        ncs = NodeContracts(kube, namespace)
        declared = {"config": {"retention.ms": "3600000"}}
        ncs.apply(_nc("orders", node, [{"name": hidden, **declared}, {"name": shown, **declared}]))
        ncs.wait_condition("orders", "Ready", "True", timeout=60)
        topics = {t["name"]: t for t in ncs.get("orders")["status"]["topics"]}
        assert topics[hidden].get("unverifiable") == ["retention.ms"]
        assert "unverifiable" not in topics[shown]
    finally:
        op.stop()


def test_operator_over_sasl_ssl_creates_with_cluster_defaults(
    kube, testbed, namespace, tmp_path, topic_prefix, admin
) -> None:
    node = f"n{topic_prefix}"
    topic = f"onex.evt.{node}.placed.v1"
    op, _ = run_operator(testbed.secure_env(), namespace, tmp_path)
    try:
        ncs = NodeContracts(kube, namespace)
        ncs.apply(_nc("orders", node, [{"name": topic}]))
        ncs.wait_condition("orders", "Ready", "True", timeout=60)
        (entry,) = ncs.get("orders")["status"]["topics"]
        assert (entry["partitions"], entry["replicationFactor"]) == (3, 3)
    finally:
        op.stop()


# --- broker refusals --------------------------------------------------------------------------


def test_create_policy_refusal_is_permanent_and_not_resent(
    kube, testbed, start_operator, namespace, topic_prefix
) -> None:
    from .conftest import metric

    node = f"n{topic_prefix}"
    refused = f"onex.evt.{node}.forbidden-thing.v1"
    port = free_port()
    start_operator(namespace, "--metrics-port", str(port))
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("orders", node, [{"name": refused}]))
    ncs.wait_condition("orders", "Provisioned", "False", timeout=60)
    (entry,) = ncs.get("orders")["status"]["topics"]
    assert entry["state"] == "Failed"
    assert "POLICY_VIOLATION" in entry["message"] and "testbed create policy" in entry["message"]
    creates = "contract_operator_admin_requests_total"
    sent = metric(port, creates, '{operation="create_topics"}')
    wait_cycles(port, 4)
    assert metric(port, creates, '{operation="create_topics"}') == sent


def test_dot_underscore_collision_reaches_the_status(
    kube, start_operator, namespace, topic_prefix, admin
) -> None:
    """Kafka refuses `p.a_b.c` once `p.a.b_c` exists (both are `p_a_b_c` as a metric name);
    the rules say so with the colliding name, and nothing is sent."""
    node = f"n{topic_prefix}"
    first, second = f"{node}.a.b_c", f"{node}.a_b.c"
    create_topic(admin, first)
    refused = admin.create_topics([NewTopic(second, 1, 1)])[second]
    with pytest.raises(Exception, match="collides with existing topic"):
        refused.result(timeout=30)  # the broker's own rule, which the operator's mirrors
    start_operator(namespace, "--pattern", r"^(?P<producer>[a-z0-9]+)\.[a-z0-9._]+$", "--kinds", "")
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("orders", node, [{"name": second}]))
    provisioned = ncs.wait_condition("orders", "Provisioned", "False", timeout=60)
    assert f"collides with {first} (on the broker)" in provisioned["message"]
    assert second not in admin.list_topics(timeout=10).topics


def test_min_insync_above_the_cluster_default_is_warned_on_the_real_cluster(
    kube, start_operator, namespace, topic_prefix, testbed
) -> None:
    node = f"n{topic_prefix}"
    topic = f"onex.evt.{node}.placed.v1"
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    # Replication factor left to the cluster (3 here), min.insync.replicas 4: never writable.
    ncs.apply(_nc("orders", node, [{"name": topic, "config": {"min.insync.replicas": "4"}}]))
    ready = ncs.wait_condition("orders", "Ready", "True", timeout=60)
    assert "the cluster's default replication factor 3" in ready["message"]
    assert "NOT_ENOUGH_REPLICAS" in ncs.get("orders")["status"]["warnings"][0]
    wait_for(
        lambda: any(r == "ContractWarning" for r, _ in ncs.events("orders")),
        15,
        what="a ContractWarning Event",
    )


def test_plan_and_report_warn_about_an_auto_creating_broker(
    testbed, tmp_path, topic_prefix
) -> None:
    node = f"n{topic_prefix}"
    contract = contract_file(tmp_path, node, [], subs=[f"onex.evt.{node}.typo.v1"])
    planned = cli(testbed.env(), "plan", str(contract))
    assert "auto.create.topics.enable=true" in planned.stdout + planned.stderr
    reported = cli(testbed.env(), "report", str(contract))
    assert "auto.create.topics.enable=true" in reported.stdout


@pytest.mark.faults
def test_one_broker_of_three_down_the_operator_keeps_working(
    kube, testbed, start_operator, namespace, topic_prefix, admin
) -> None:
    """Kafka 4 places a replication factor 3 topic on the two live brokers and the fenced one
    (under-replicated until it is back), so the create is accepted, not refused."""
    node = f"n{topic_prefix}"
    ncs = NodeContracts(kube, namespace)
    start_operator(namespace)
    subprocess.run([str(KAFKA), "stop-node", testbed.kafka_dir, "3"], check=True, timeout=60)
    try:
        wait_for(lambda: len(admin.list_topics(timeout=10).brokers) == 2, 30, what="2 brokers")
        one, three = f"onex.evt.{node}.one.v1", f"onex.evt.{node}.three.v1"
        ncs.apply(
            _nc(
                "orders",
                node,
                [{"name": one, "replicationFactor": 1}, {"name": three, "replicationFactor": 3}],
            )
        )
        ncs.wait_condition("orders", "Ready", "True", timeout=60)
        topics = {t["name"]: t for t in ncs.get("orders")["status"]["topics"]}
        assert topics[three]["replicationFactor"] == 3
    finally:
        subprocess.run([str(KAFKA), "start-node", testbed.kafka_dir, "3"], check=True, timeout=120)
    md = admin.list_topics(topic=three, timeout=10).topics[three]
    assert len(md.partitions[0].replicas) == 3


def test_a_create_that_times_out_but_creates_the_topic_ends_present(
    testbed, topic_prefix, admin
) -> None:
    """The broker made the topic, but the answer never came (REQUEST_TIMED_OUT on the
    client): a transient failure, and the next describe finds the topic as declared."""
    from confluent_kafka import KafkaError, KafkaException

    from contract_operator.adapters.broker import Broker, BrokerSettings
    from contract_operator.core.planner import TopicState, plan

    from .test_broker import _contract

    class LateAnswers:
        """The real client, except that CreateTopics answers come back as timeouts after the
        broker has created the topics."""

        def __init__(self, inner: AdminClient) -> None:
            self.inner = inner

        def __getattr__(self, attr: str):  # type: ignore[no-untyped-def]
            return getattr(self.inner, attr)

        def create_topics(self, requests, **kwargs):  # type: ignore[no-untyped-def]
            from concurrent.futures import Future

            real = self.inner.create_topics(requests, **kwargs)
            out = {}
            for name, future in real.items():
                future.result(timeout=30)  # created on the broker
                late: Future[None] = Future()
                late.set_exception(KafkaException(KafkaError(KafkaError.REQUEST_TIMED_OUT)))
                out[name] = late
            return out

    settings = BrokerSettings(testbed.bootstrap_servers)
    broker = Broker(settings, admin=LateAnswers(AdminClient(settings.client_config())))
    node = f"n{topic_prefix}"
    topic = f"onex.evt.{node}.late.v1"
    contract = _contract(node, [{"name": topic, "partitions": 2}])
    first = broker.create_missing(plan([contract], broker.describe([topic])).to_create)
    assert topic in first.failed and topic not in first.permanent  # retried, not given up
    wait_for(lambda: topic in admin.list_topics(timeout=10).topics, what="the topic listed")
    (cp,) = plan([contract], broker.describe([topic])).contracts
    (status,) = cp.topics
    assert status.state is TopicState.PRESENT and status.partitions == 2
