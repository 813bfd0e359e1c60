"""The admission webhook end to end: `kubectl apply` against the real apiserver, answered by the
operator process (`contract-operator run --admission-mode ...`)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from contract_operator.core.admission import render
from contract_operator.core.problems import Problem, Severity
from contract_operator.model.contract import GROUP, PLURAL, VERSION

from .conftest import ROOT, OperatorProcess, Testbed, free_port, wait_for

pytestmark = pytest.mark.integration

KUBECTL = str(Path(sys.executable).parent / "kubectl")
ROUTING = "onex.evt.router.routing-complete.v1"
TYPO = "onex.evt.router.routing_complete.v1"


def manifest(name: str, namespace: str, node: str, publish=(), subscribe=()) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "node": node,
            "eventBus": {
                "publishTopics": [{"name": n} for n in publish],
                "subscribeTopics": list(subscribe),
            },
        },
    }


class Kubectl:
    def __init__(self, testbed: Testbed) -> None:
        self.env = testbed.env()

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KUBECTL, *args], input=stdin, capture_output=True, text=True, env=self.env, timeout=60
        )

    def apply(
        self, *docs: dict[str, Any], dry_run: bool = False
    ) -> subprocess.CompletedProcess[str]:
        args = ["apply", "-f", "-"] + (["--dry-run=server"] if dry_run else [])
        return self(*args, stdin=yaml.safe_dump_all(docs))


def warnings_of(stderr: str) -> list[str]:
    return [
        line.removeprefix("Warning: ")
        for line in stderr.splitlines()
        if line.startswith("Warning: ")
    ]


@pytest.fixture
def kubectl(testbed: Testbed) -> Kubectl:
    return Kubectl(testbed)


@pytest.fixture
def webhook(start_operator, kube: client.ApiClient) -> Iterator[Callable[..., OperatorProcess]]:  # type: ignore[no-untyped-def]
    """Start an operator serving the webhook on a free port, registered under its own name;
    the configuration is removed at the end (a stopped operator leaves it, by design)."""
    names: list[str] = []

    def start(
        *namespaces: str,
        mode: str = "deny",
        port: int | None = None,
        name: str = "",
        bootstrap: str | None = None,
    ) -> OperatorProcess:
        name = name or f"contract-operator-test-{uuid.uuid4().hex[:8]}"
        names.append(name)
        extra = [a for ns in namespaces[1:] for a in ("--namespace", ns)]
        return start_operator(
            namespaces[0],
            *extra,
            "--admission-mode",
            mode,
            "--admission-port",
            str(port or free_port()),
            "--admission-webhook-config",
            name,
            bootstrap=bootstrap,
        )

    yield start
    api = client.AdmissionregistrationV1Api(kube)
    for name in names:
        try:
            api.delete_validating_webhook_configuration(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def reconciled(kube: client.ApiClient, namespace: str, names: list[str]) -> bool:
    """The loop has written status for the current generation of every named contract (so the
    operator's view holds them)."""
    api = client.CustomObjectsApi(kube)
    items = api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
    done = {
        i["metadata"]["name"]
        for i in items
        if (i.get("status") or {}).get("observedGeneration") == i["metadata"]["generation"]
    }
    return set(names) <= done


def serving(op: OperatorProcess) -> bool:
    assert op.proc.poll() is None, op.log()
    return "webhook configuration" in op.log() and "is up to date" in op.log()


def start_with_router(
    webhook, kube, kubectl, namespace: str, mode: str = "deny"
) -> OperatorProcess:  # type: ignore[no-untyped-def]
    op = webhook(namespace, mode=mode)
    wait_for(lambda: serving(op), 30, what="the webhook to be registered")
    assert kubectl.apply(manifest("router", namespace, "router", publish=[ROUTING])).returncode == 0
    wait_for(lambda: reconciled(kube, namespace, ["router"]), 30, what="router reconciled")
    return op


def test_a_broken_wire_is_admitted_and_kubectl_prints_the_suggestion(
    webhook, kube, kubectl, namespace
) -> None:  # type: ignore[no-untyped-def]
    start_with_router(webhook, kube, kubectl, namespace)

    result = kubectl.apply(manifest("notifier", namespace, "notifier", subscribe=[TYPO]))

    assert result.returncode == 0, result.stderr
    assert "nodecontract.eventbus.dev/notifier created" in result.stdout
    lines = warnings_of(result.stderr)
    assert any(
        "[broken-wire]" in w and f"Did you mean {ROUTING} (published by {namespace}/router)" in w
        for w in lines
    ), result.stderr


def test_the_webhook_sees_a_publisher_change_at_once(webhook, kube, kubectl, namespace) -> None:  # type: ignore[no-untyped-def]
    """The view the webhook answers from follows every watch event, also a change that keeps
    the number of contracts (the router renaming what it publishes)."""
    start_with_router(webhook, kube, kubectl, namespace)
    subscriber = manifest("billing", namespace, "billing", subscribe=[ROUTING])
    before = kubectl.apply(subscriber, dry_run=True)
    assert before.returncode == 0, before.stderr
    assert not any("[broken-wire]" in w for w in warnings_of(before.stderr)), before.stderr

    renamed = manifest("router", namespace, "router", publish=["onex.evt.router.routed.v1"])
    assert kubectl.apply(renamed).returncode == 0
    wait_for(lambda: reconciled(kube, namespace, ["router"]), 30, what="router reconciled")

    after = kubectl.apply(subscriber, dry_run=True)
    assert after.returncode == 0, after.stderr
    assert any("[broken-wire]" in w and ROUTING in w for w in warnings_of(after.stderr)), (
        after.stderr
    )


def test_publishing_under_another_nodes_producer_segment_is_refused(
    webhook, kube, kubectl, namespace
) -> None:  # type: ignore[no-untyped-def]
    start_with_router(webhook, kube, kubectl, namespace)

    result = kubectl.apply(
        manifest(
            "storefront", namespace, "storefront", publish=["onex.cmd.checkout.place-order.v1"]
        )
    )

    assert result.returncode != 0
    assert "denied the request" in result.stderr
    assert "[foreign-producer]" in result.stderr
    assert "Publish onex.cmd.storefront.place-order.v1 instead" in result.stderr
    assert kubectl("get", "nc", "storefront", "-n", namespace).returncode != 0


def test_warn_mode_admits_the_same_contract_with_a_warning(
    webhook, kube, kubectl, namespace
) -> None:  # type: ignore[no-untyped-def]
    start_with_router(webhook, kube, kubectl, namespace, mode="warn")

    result = kubectl.apply(
        manifest(
            "storefront", namespace, "storefront", publish=["onex.cmd.checkout.place-order.v1"]
        )
    )

    assert result.returncode == 0, result.stderr
    assert any("[foreign-producer]" in w for w in warnings_of(result.stderr)), result.stderr


def test_with_the_operator_stopped_apply_still_succeeds_and_the_loop_reports_later(
    webhook, kube, kubectl, namespace
) -> None:  # type: ignore[no-untyped-def]
    port, name = free_port(), f"contract-operator-test-{uuid.uuid4().hex[:8]}"
    op = webhook(namespace, port=port, name=name)
    wait_for(lambda: serving(op), 30, what="the webhook to be registered")
    assert kubectl.apply(manifest("router", namespace, "router", publish=[ROUTING])).returncode == 0
    op.stop()  # the webhook configuration stays, pointing at nothing

    config = client.AdmissionregistrationV1Api(kube).read_validating_webhook_configuration(name)
    assert config.webhooks[0].failure_policy == "Ignore"
    result = kubectl.apply(manifest("notifier", namespace, "notifier", subscribe=[TYPO]))
    assert result.returncode == 0, result.stderr
    assert not warnings_of(result.stderr)

    webhook(namespace, port=port, name=name)
    wired = wait_for(
        lambda: next(
            (
                c
                for c in (
                    client.CustomObjectsApi(kube)
                    .get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "notifier")
                    .get("status")
                    or {}
                ).get("conditions", [])
                if c["type"] == "Wired" and c["status"] == "False"
            ),
            None,
        ),
        30,
        what="notifier Wired=False",
    )
    assert ROUTING in json.dumps(
        client.CustomObjectsApi(kube).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "notifier"
        )["status"]
    ), wired


# --- one rule source: the webhook says what `validate` says about the bundled examples --------

EXAMPLE_SETS = {
    "nodecontracts": sorted((ROOT / "examples" / "nodecontracts").glob("*.yaml")),
    "demo": sorted((ROOT / "examples" / "demo").glob("*.yaml")),
    **{p.stem: [p] for p in sorted((ROOT / "examples" / "broken").glob("*.yaml"))},
}


def _validate(files: list[Path], testbed: Testbed) -> list[Problem]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "contract_operator",
            "validate",
            "--format",
            "json",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=testbed.env(),
    )
    problems = json.loads(out.stdout)["problems"]
    return [
        Problem(**{**p, "severity": Severity(p["severity"])})
        for p in problems
        if p["severity"] != "info"
    ]


def test_the_webhook_answers_for_the_examples_equal_validates_findings(
    webhook, kube, kubectl, testbed, tmp_path, own_broker
) -> None:  # type: ignore[no-untyped-def]
    # Every set in a namespace of its own, all in one operator's view and one `validate` run:
    # topics are global on the broker, so contracts in different namespaces meet (and the same
    # router in two sets declares its topic twice). Namespaces sort in the order they are
    # applied, so "the oldest declaration wins" picks the same winner in both.
    run = uuid.uuid4().hex[:6]
    copies: list[Path] = []
    namespaces: dict[str, list[str]] = {}
    for i, (label, files) in enumerate(EXAMPLE_SETS.items()):
        namespace = f"x-{run}-{i:02d}"
        client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata={"name": namespace}))
        for path in files:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
            for doc in docs:
                doc["metadata"]["namespace"] = namespace
                namespaces.setdefault(namespace, []).append(doc["metadata"]["name"])
            copy = tmp_path / label / path.name
            copy.parent.mkdir(exist_ok=True)
            copy.write_text(yaml.safe_dump_all(docs))
            copies.append(copy)

    # A broker of its own: topics other tests left behind would be suggestions `validate`
    # (which never asks a broker) cannot make.
    op = webhook(*namespaces, mode="warn", bootstrap=own_broker.bootstrap)
    wait_for(lambda: serving(op), 30, what="the webhook to be registered")
    for copy in copies:
        applied = kubectl("apply", "-f", str(copy))
        assert applied.returncode == 0, applied.stderr
    for namespace, names in namespaces.items():
        wait_for(
            lambda ns=namespace, n=names: reconciled(kube, ns, n), 60, what=f"{namespace} ready"
        )

    expected = sorted(render(p) for p in _validate(copies, testbed))
    answered = []
    for copy in copies:
        # replace, not apply: an unchanged apply sends nothing; a dry run stores nothing.
        result = kubectl("replace", "--dry-run=server", "-f", str(copy))
        assert result.returncode == 0, result.stderr
        # Drift needs the broker, which `validate` never asks: it is the webhook's extra.
        answered += [
            w for w in warnings_of(result.stderr) if not w.startswith(("[drift]", "[unsafe-drift]"))
        ]
    assert len(expected) >= 9  # every broken example is in it
    assert sorted(answered) == expected


def test_a_changed_setting_is_warned_as_drift_and_the_topic_is_left_alone(
    webhook, kube, kubectl, namespace, topic_prefix, admin
) -> None:  # type: ignore[no-untyped-def]
    name = f"onex.evt.router.{topic_prefix}-done.v1"
    op = webhook(namespace)
    wait_for(lambda: serving(op), 30, what="the webhook to be registered")
    router = manifest("router", namespace, "router")
    router["spec"]["eventBus"]["publishTopics"] = [{"name": name, "partitions": 3}]
    assert kubectl.apply(router).returncode == 0
    wait_for(lambda: reconciled(kube, namespace, ["router"]), 30, what="router reconciled")
    # The loop describes the topic it created; the next snapshot is the webhook's view of it.
    wait_for(lambda: name in admin.list_topics(timeout=5).topics, 30, what="topic created")

    router["spec"]["eventBus"]["publishTopics"] = [{"name": name, "partitions": 12}]
    result = wait_for(
        lambda: (
            (r := kubectl.apply(router, dry_run=True)).returncode == 0
            and any("[drift]" in w for w in warnings_of(r.stderr))
            and r
        ),
        30,
        what="a drift warning",
    )

    (line,) = [w for w in warnings_of(result.stderr) if "[drift]" in w]
    assert "partitions declared 12, actual 3" in line and "never altered" in line
    assert len(admin.list_topics(name, timeout=5).topics[name].partitions) == 3
