"""Real-cluster semantics on the real testbed: cluster defaults, unsafe drift, owners that cannot be
invalid, broken wires to topics that can never exist, and one rule source for CI and cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import create_topic, wait_for
from .test_operator import NodeContracts, _describe, _nc


def test_undeclared_partitions_on_a_preexisting_topic_are_not_drift(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    node = "n" + topic_prefix
    existing = f"onex.evt.{node}.order-placed.v1"
    fresh = f"onex.evt.{node}.order-shipped.v1"
    create_topic(admin, existing, 5)
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("orders", node, [{"name": existing}, {"name": fresh}]))

    ncs.wait_condition("orders", "Ready", "True")
    assert ncs.condition("orders", "Drifted")["reason"] == "InSync"
    entries = wait_for(
        lambda: (
            (t := ncs.get("orders")["status"]["topics"]) and all("partitions" in e for e in t) and t
        ),
        what="actual partitions in status",
    )
    actual = {e["name"]: (e["partitions"], e["replicationFactor"]) for e in entries}
    # The existing topic keeps its 5 partitions; the new one got the cluster's defaults
    # (num.partitions=3, default.replication.factor=3 on the testbed).
    assert actual[existing] == (5, 1)
    assert actual[fresh] == (_describe(admin, fresh)[0], 3) == (3, 3)
    assert _describe(admin, existing)[0] == 5


def test_a_foreign_producer_declaration_older_than_the_owners_never_wins(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    billing = "b" + topic_prefix
    paid = f"onex.evt.{billing}.paid.v1"
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("rogue", "rogue", [{"name": paid, "partitions": 1}]))
    time.sleep(1.1)  # creationTimestamp has one-second resolution: rogue is older
    ncs.apply(
        _nc(
            "billing",
            billing,
            [{"name": paid, "partitions": 3, "config": {"retention.ms": "86400000"}}],
        )
    )
    start_operator(namespace)

    ncs.wait_condition("billing", "Ready", "True")
    partitions, configs = _describe(admin, paid)
    assert partitions == 3 and configs["retention.ms"][0] == "86400000"
    rogue = ncs.wait_condition("rogue", "Provisioned", "False")
    assert rogue["reason"] == "InvalidTopicName"


def test_the_subscriber_to_a_topic_that_can_never_exist_is_not_wired(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    checkout = "c" + topic_prefix
    order = f"onex.cmd.{checkout}.place-order.v1"
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("storefront", "storefront", [{"name": order}]))
    ncs.apply(_nc("checkout", checkout, subscribe=[order]))

    wired = ncs.wait_condition("checkout", "Wired", "False")
    assert wired["reason"] == "BrokenWire"
    assert (
        f"its only publisher, {namespace}/storefront, declares it under another node's "
        "producer segment" in wired["message"]
    )
    assert ncs.condition("checkout", "Ready")["status"] == "False"
    (entry,) = ncs.get("checkout")["status"]["topics"]
    assert entry["state"] == "Orphaned"
    assert order not in admin.list_topics(timeout=10).topics


def test_a_retention_cut_is_unsafe_drift_and_a_partition_difference_is_topic_drift(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    node = "n" + topic_prefix
    cut = f"onex.evt.{node}.order-placed.v1"
    repartitioned = f"onex.evt.{node}.order-shipped.v1"
    create_topic(admin, cut, 1, **{"retention.ms": "3600000"})
    create_topic(admin, repartitioned, 2)
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("unsafe", node, [{"name": cut, "config": {"retention.ms": "604800000"}}]))
    ncs.apply(_nc("safe", node, [{"name": repartitioned, "partitions": 6}]))

    unsafe = ncs.wait_condition("unsafe", "Drifted", "True")
    assert unsafe["reason"] == "UnsafeDrift"
    assert ncs.condition("unsafe", "Ready")["reason"] == "UnsafeDrift"
    (entry,) = ncs.get("unsafe")["status"]["topics"]
    assert entry["drift"] == [
        {"field": "retention.ms", "declared": "604800000", "actual": "3600000", "unsafe": True}
    ]
    assert ncs.get("unsafe")["status"]["unsafeDriftCount"] == 1
    safe = ncs.wait_condition("safe", "Drifted", "True")
    assert safe["reason"] == "TopicDrift"

    def events(name: str) -> list[tuple[str, str]]:
        items = ncs.core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={name}"
        ).items
        return [(e.type, e.reason) for e in items]

    wait_for(lambda: ("Warning", "UnsafeDrift") in events("unsafe"), what="UnsafeDrift Warning")
    wait_for(lambda: ("Normal", "DriftDetected") in events("safe"), what="DriftDetected Normal")
    assert _describe(admin, cut)[1]["retention.ms"][0] == "3600000"  # reported, never altered


def test_a_numeric_config_with_units_is_reported_on_the_contract_and_never_created(
    kube, namespace, start_operator, admin, topic_prefix
) -> None:
    node = "n" + topic_prefix
    topic = f"onex.evt.{node}.order-placed.v1"
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("orders", node, [{"name": topic, "config": {"retention.ms": "7d"}}]))

    provisioned = ncs.wait_condition("orders", "Provisioned", "False")
    assert provisioned["reason"] == "InvalidConfig" and "retention.ms" in provisioned["message"]
    assert topic not in admin.list_topics(timeout=10).topics


def _validate(paths: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contract_operator", "validate", *paths],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_validate_and_the_operator_apply_the_same_kinds_from_the_environment(
    kube, namespace, start_operator, testbed, admin, topic_prefix, tmp_path: Path, monkeypatch
) -> None:
    node = "n" + topic_prefix
    event = f"onex.evt.{node}.order-placed.v1"
    command = f"onex.cmd.{node}.place-order.v1"
    manifest = tmp_path / "orders.yaml"
    manifest.write_text(
        "apiVersion: eventbus.dev/v1alpha1\nkind: NodeContract\n"
        f"metadata: {{name: orders, namespace: {namespace}}}\n"
        f"spec:\n  node: {node}\n  eventBus:\n    publishTopics:\n"
        f"      - name: {event}\n      - name: {command}\n"
    )
    monkeypatch.setenv("CONTRACT_OPERATOR_TOPIC_KINDS", "cmd")

    ci = _validate([str(manifest), "--verbose"], testbed.env())
    assert ci.returncode == 1
    assert ci.stdout.count("error[") == 1 and "error[unknown-kind]" in ci.stdout
    assert f"publishes {event}, whose kind 'evt' is not one of: cmd" in ci.stdout
    assert "kinds cmd [env CONTRACT_OPERATOR_TOPIC_KINDS]" in ci.stdout

    operator = start_operator(namespace)  # the same environment
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("orders", node, [{"name": event}, {"name": command}]))
    provisioned = ncs.wait_condition("orders", "Provisioned", "False")
    assert provisioned["reason"] == "InvalidTopicName" and event in provisioned["message"]
    wait_for(lambda: command in admin.list_topics(timeout=10).topics, what="cmd topic created")
    assert event not in admin.list_topics(timeout=10).topics
    assert "kinds cmd [env CONTRACT_OPERATOR_TOPIC_KINDS]" in operator.log()


def test_a_rules_file_is_read_by_validate_and_the_operator_alike(
    kube, namespace, start_operator, testbed, admin, topic_prefix, tmp_path: Path
) -> None:
    node = "n" + topic_prefix
    event = f"onex.evt.{node}.order-placed.v1"
    rules = tmp_path / "rules.yaml"
    rules.write_text("kinds: [cmd]\n")
    manifest = tmp_path / "orders.yaml"
    manifest.write_text(f"node: {node}\nevent_bus:\n  publish_topics: [{{name: {event}}}]\n")

    ci = _validate([str(manifest), "--rules", str(rules)], testbed.env())
    assert ci.returncode == 1 and "unknown-kind" in ci.stdout

    start_operator(namespace, "--rules", str(rules))
    ncs = NodeContracts(kube, namespace)
    ncs.apply(_nc("orders", node, [{"name": event}]))
    assert ncs.wait_condition("orders", "Provisioned", "False")["reason"] == "InvalidTopicName"


def test_plan_exits_4_on_unsafe_drift_and_marks_it(
    testbed, admin, topic_prefix, tmp_path: Path
) -> None:
    node = "n" + topic_prefix
    cut = f"onex.evt.{node}.order-placed.v1"
    create_topic(admin, cut, 1, **{"retention.ms": "3600000"})
    path = tmp_path / "contract.yaml"
    path.write_text(
        f"node: {node}\nevent_bus:\n  publish_topics:\n"
        f"    - {{name: {cut}, config: {{retention.ms: 604800000}}}}\n"
    )
    command = [sys.executable, "-m", "contract_operator", "plan", str(path)]
    text = subprocess.run([*command, "-v"], env=testbed.env(), capture_output=True, text=True)
    assert text.returncode == 4, text.stdout + text.stderr
    assert "UNSAFE" in text.stdout and text.stdout.startswith("naming rules:")
    report = subprocess.run(
        [*command, "--format", "json"], env=testbed.env(), capture_output=True, text=True
    )
    data = json.loads(report.stdout)
    assert report.returncode == 4 and data["unsafe_drift"] == 1
    assert data["drifted"][0]["unsafe"] is True and data["rules"]["from"]["kinds"] == "built-in"


@pytest.mark.parametrize("names", [("zz-first", "aa-second"), ("aa-first", "zz-second")])
def test_ownership_never_moves_to_a_later_contract_on_a_same_second_tie(
    kube, namespace, start_operator, admin, topic_prefix, names
) -> None:
    """The first contract creates the topic; a second one applied within the same second
    (equal creationTimestamp) with other settings is the one told about a conflict, in both
    name orders, and keeps being told so after an operator restart."""
    first, second = names
    op = start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    for attempt in range(5):  # until both land in one second of creationTimestamp
        node = f"n{topic_prefix}{attempt}"
        topic = f"onex.evt.{node}.order-placed.v1"
        a = ncs.apply(_nc(f"{first}-{attempt}", node, [{"name": topic, "partitions": 4}]))
        wait_for(lambda t=topic: t in admin.list_topics(timeout=10).topics, 10, what="created")
        b = ncs.apply(_nc(f"{second}-{attempt}", node, [{"name": topic, "partitions": 2}]))
        if a["metadata"]["creationTimestamp"] == b["metadata"]["creationTimestamp"]:
            break
    else:
        pytest.skip("could not apply both contracts within one second")
    owner, later = f"{first}-{attempt}", f"{second}-{attempt}"
    conflict = ncs.wait_condition(later, "Provisioned", "False")
    assert conflict["reason"] == "TopicConflict"
    assert f"{namespace}/{owner}" in conflict["message"]
    ncs.wait_condition(owner, "Ready", "True")
    assert ncs.condition(owner, "Drifted")["status"] == "False"
    op.stop()
    start_operator(namespace)  # a new process learns the owner from the statuses
    wait_for(
        lambda: (
            ncs.condition(owner, "Ready").get("status") == "True"
            and ncs.condition(later, "Provisioned").get("reason") == "TopicConflict"
        ),
        20,
        what="ownership unchanged after a restart",
    )


def test_status_events_and_wide_output_carry_the_fix_validate_gives(
    kube, namespace, start_operator, topic_prefix, testbed, tmp_path
) -> None:
    """`validate` says "Rename it to ...routing-complete.v1"; so do the condition, the
    Event and `kubectl get nc -o wide` for the same contract."""
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    node = f"r{topic_prefix}"
    bad, good = f"onex.evt.{node}.routing_complete.v1", f"onex.evt.{node}.routing-complete.v1"
    body = _nc("router", node, [{"name": bad}])
    ncs.apply(body)
    provisioned = ncs.wait_condition("router", "Provisioned", "False")
    assert provisioned["reason"] == "InvalidTopicName"
    assert f"Rename it to {good}" in provisioned["message"]
    wait_for(
        lambda: any(f"Rename it to {good}" in m for _, m in ncs.events("router")),
        15,
        what="an Event with the fix",
    )
    kubectl = Path(sys.executable).parent / "kubectl"
    wide = subprocess.run(
        [str(kubectl), "get", "nc", "router", "-n", namespace, "-o", "wide"],
        capture_output=True,
        text=True,
        env=testbed.env(),
        timeout=60,
    )
    assert f"Rename it to {good}" in wide.stdout, wide.stdout
    path = tmp_path / "router.yaml"
    path.write_text(json.dumps({**body, "metadata": {"name": "router", "namespace": namespace}}))
    assert f"Rename it to {good}" in testbed.cli("validate", str(path)).stdout


def test_a_near_miss_beside_an_invalid_publisher_reaches_the_subscriber(
    kube, namespace, start_operator, topic_prefix
) -> None:
    start_operator(namespace)
    ncs = NodeContracts(kube, namespace)
    node = f"r{topic_prefix}"
    bad, good = f"onex.evt.{node}.routing_complete.v1", f"onex.evt.{node}.routing-complete.v1"
    ncs.apply(_nc("router", node, [{"name": good}]))
    ncs.apply(_nc("rogue", node, [{"name": bad}]))
    ncs.apply(_nc("notifier", f"n{topic_prefix}", subscribe=[bad]))
    wired = ncs.wait_condition("notifier", "Wired", "False")
    assert f"{namespace}/rogue" in wired["message"] and "never created" in wired["message"]
    assert f"did you mean {good}" in wired["message"]
