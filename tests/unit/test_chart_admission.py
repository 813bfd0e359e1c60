"""The chart's admission webhook: a Service, a certificate (self-signed by the operator, or from
cert-manager), the webhook configuration, and RBAC for it only when the operator writes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest

from contract_operator.adapters import permissions
from contract_operator.controller.webhook_config import HANDLER_ID, webhook_configuration
from tests.unit.test_chart import (
    CHART,
    KUBE_VERSION,
    RELEASE_NS,
    container,
    deployment,
    env,
    granted,
    of_kind,
    render,
)

CONFIG_NAME = f"{RELEASE_NS}-contract-operator"
SERVICE = "contract-operator-webhook"
CERT_MANAGER = {"admission": {"certManager": {"enabled": True}}}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def admission_objects(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        d
        for d in of_kind(docs, kind)
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "admission"
    ]


def test_on_by_default_behind_a_service_with_the_operator_writing_the_configuration(
    chart: helm.Chart,
) -> None:
    docs = render(chart)
    (service,) = admission_objects(docs, "Service")
    assert service["metadata"]["name"] == SERVICE
    assert service["spec"]["ports"] == [
        {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]
    assert {p["name"]: p["containerPort"] for p in container(docs)["ports"]}["webhook"] == 9443
    variables = {k: v.get("value") for k, v in env(docs).items()}
    assert variables["CONTRACT_OPERATOR_ADMISSION_MODE"] == "deny"
    assert variables["CONTRACT_OPERATOR_ADMISSION_SERVICE"] == f"{RELEASE_NS}/{SERVICE}:443"
    assert variables["CONTRACT_OPERATOR_ADMISSION_WEBHOOK_CONFIG"] == CONFIG_NAME
    assert variables["CONTRACT_OPERATOR_ADMISSION_TIMEOUT_SECONDS"] == "5"
    assert "CONTRACT_OPERATOR_ADMISSION_CERT_DIR" not in variables
    # The operator makes the configuration (and its caBundle) itself: none in the chart.
    assert of_kind(docs, "ValidatingWebhookConfiguration") == []
    assert of_kind(docs, "Certificate") == []


def test_the_operator_may_write_only_its_own_webhook_configuration(chart: helm.Chart) -> None:
    docs = render(chart)
    (role,) = admission_objects(docs, "ClusterRole")
    assert granted(role) == permissions.required(
        clusterwide=True, peering_on=False, admission=True
    ) - permissions.required(clusterwide=True, peering_on=False)
    named = [r for r in role["rules"] if "create" not in r["verbs"]]
    assert [r["resourceNames"] for r in named] == [[CONFIG_NAME]]
    (binding,) = admission_objects(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["namespace"] == RELEASE_NS


@pytest.mark.parametrize(
    "values",
    [CERT_MANAGER, {"admission": {"enabled": False}}, {"rbac": {"create": False}}],
    ids=["cert-manager", "disabled", "no-rbac"],
)
def test_no_webhook_rbac_unless_the_operator_writes_the_configuration(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    docs = render(chart, values)
    assert admission_objects(docs, "ClusterRole") == []
    assert admission_objects(docs, "ClusterRoleBinding") == []


def test_disabled_means_no_service_no_port_and_mode_off(chart: helm.Chart) -> None:
    docs = render(chart, {"admission": {"enabled": False}})
    assert admission_objects(docs, "Service") == []
    assert "webhook" not in {p["name"] for p in container(docs)["ports"]}
    assert env(docs)["CONTRACT_OPERATOR_ADMISSION_MODE"]["value"] == "off"


def test_cert_manager_issues_the_certificate_and_injects_the_ca(chart: helm.Chart) -> None:
    docs = render(chart, CERT_MANAGER)
    (issuer,) = of_kind(docs, "Issuer")
    assert issuer["spec"] == {"selfSigned": {}}
    (certificate,) = of_kind(docs, "Certificate")
    assert certificate["spec"]["secretName"] == f"{SERVICE}-tls"
    assert f"{SERVICE}.{RELEASE_NS}.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"]["name"] == issuer["metadata"]["name"]
    (config,) = of_kind(docs, "ValidatingWebhookConfiguration")
    assert config["metadata"]["name"] == CONFIG_NAME
    assert config["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": f"{RELEASE_NS}/{certificate['metadata']['name']}"
    }
    (webhook,) = config["webhooks"]
    assert webhook["clientConfig"] == {
        "service": {
            "namespace": RELEASE_NS,
            "name": SERVICE,
            "port": 443,
            "path": f"/{HANDLER_ID}",
        }
    }
    # The webhook the chart declares is the one the operator would write (one source).
    (written,) = webhook_configuration(CONFIG_NAME, {}, 5)["webhooks"]
    assert {k: v for k, v in webhook.items() if k != "clientConfig"} == {
        k: v for k, v in written.items() if k != "clientConfig"
    }
    assert webhook["failurePolicy"] == "Ignore"
    # The pod serves the mounted certificate and leaves the configuration to the chart.
    mounts = {m["name"]: m for m in container(docs)["volumeMounts"]}
    assert mounts["webhook-tls"]["readOnly"] is True
    volumes = {v["name"]: v for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["webhook-tls"]["secret"]["secretName"] == f"{SERVICE}-tls"
    variables = {k: v.get("value") for k, v in env(docs).items()}
    assert variables["CONTRACT_OPERATOR_ADMISSION_CERT_DIR"] == mounts["webhook-tls"]["mountPath"]
    assert "CONTRACT_OPERATOR_ADMISSION_WEBHOOK_CONFIG" not in variables


def test_an_existing_issuer_is_used_instead_of_a_self_signed_one(chart: helm.Chart) -> None:
    values = {
        "admission": {
            "certManager": {"enabled": True, "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}
        }
    }
    docs = render(chart, values)
    assert of_kind(docs, "Issuer") == []
    (certificate,) = of_kind(docs, "Certificate")
    assert certificate["spec"]["issuerRef"] == {
        "name": "ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }


def test_warn_mode_and_the_timeout_reach_the_operator(chart: helm.Chart) -> None:
    docs = render(chart, {"admission": {"mode": "warn", "timeoutSeconds": 3}})
    assert env(docs)["CONTRACT_OPERATOR_ADMISSION_MODE"]["value"] == "warn"
    assert env(docs)["CONTRACT_OPERATOR_ADMISSION_TIMEOUT_SECONDS"]["value"] == "3"


@pytest.mark.parametrize("values", [None, CERT_MANAGER], ids=["self-signed", "cert-manager"])
def test_lints_clean_and_renders_valid_objects(
    chart: helm.Chart, values: dict[str, Any] | None
) -> None:
    report = helm.lint(CHART, values, strict=True)
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []
    for doc in render(chart, values):
        if not doc["apiVersion"].startswith(("cert-manager.io/", "kopf.dev/")):
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"admission": {"mode": "block"}}, "/admission/mode"),
        ({"admission": {"timeoutSeconds": 60}}, "/admission/timeoutSeconds"),
        ({"admission": {"port": 0}}, "/admission/port"),
    ],
)
def test_bad_admission_values_are_rejected(
    chart: helm.Chart, values: dict[str, Any], named: str
) -> None:
    with pytest.raises(helm.HelmValuesError) as rejected:
        render(chart, values)
    assert named in str(rejected.value)
