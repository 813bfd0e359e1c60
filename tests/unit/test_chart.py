"""The Helm chart, rendered offline (helm-python-sdk is Helm 4 as a library, no helm binary).

What it protects: least-privilege RBAC, a locked-down pod, credentials only from Secrets,
values rejected at install time, and the chart's CRD never drifting from crds/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from contract_operator.adapters import permissions

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "contract-operator"
RELEASE = "contract-operator"
RELEASE_NS = "ops"
KUBE_VERSION = "1.37"

SASL = {
    "broker": {
        "securityProtocol": "SASL_SSL",
        "sasl": {"mechanism": "SCRAM-SHA-256", "existingSecret": "kafka-user"},
    }
}
TLS = {"broker": {"securityProtocol": "SSL", "tls": {"caSecret": "broker-ca", "caKey": "ca.pem"}}}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chart's templates as Kubernetes objects, like `helm template`."""
    manifests = chart.render(values, name=RELEASE, namespace=RELEASE_NS)
    return [
        doc
        for path, text in manifests.items()
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def operator_objects(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Objects of a kind, less the webhook's own (tested in test_chart_admission.py)."""
    return [
        d
        for d in of_kind(docs, kind)
        if d["metadata"]["labels"].get("app.kubernetes.io/component") != "admission"
    ]


def deployment(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = of_kind(docs, "Deployment")
    return found


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = deployment(docs)["spec"]["template"]["spec"]["containers"]
    return found


def env(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(docs)["env"]}


def granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


# --- the chart as a whole ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        None,
        {"namespaces": ["a", "b"], "replicas": 3, **SASL},
        {"serviceMonitor": {"enabled": True}},
    ],
    ids=["defaults", "namespaced-peering-sasl", "servicemonitor"],
)
def test_chart_lints_clean_in_strict_mode(values: dict[str, Any] | None) -> None:
    report = helm.lint(CHART, values, strict=True)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize(
    "values",
    [None, {"namespaces": ["a", "b"], "replicas": 3, **SASL}, {"replicas": 2, **TLS}],
    ids=["defaults", "namespaced-peering-sasl", "clusterwide-peering-tls"],
)
def test_rendered_builtin_objects_are_valid_kubernetes(
    chart: helm.Chart, values: dict[str, Any] | None
) -> None:
    custom = ("monitoring.coreos.com/", "kopf.dev/")
    for doc in render(chart, values):
        if not doc["apiVersion"].startswith(custom):
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_chart_crd_is_a_byte_for_byte_copy_of_the_repository_crd() -> None:
    chart_crds = sorted(p.name for p in (CHART / "crds").iterdir())
    assert chart_crds == ["nodecontract.yaml"], "crds/ must hold exactly the NodeContract CRD"
    source = ROOT / "crds" / "nodecontract.yaml"
    assert (CHART / "crds" / "nodecontract.yaml").read_bytes() == source.read_bytes(), (
        "helm/contract-operator/crds/nodecontract.yaml differs from crds/nodecontract.yaml; "
        "copy it: cp crds/nodecontract.yaml helm/contract-operator/crds/"
    )


def test_every_value_is_documented() -> None:
    """values.yaml is the chart's documentation: each setting has a comment right above it."""
    undocumented, above, inside_example = [], "", False
    for line in (CHART / "values.yaml").read_text().splitlines():
        # `resources:` is one documented setting whose body is an example, not more settings.
        if line.startswith("resources:"):
            inside_example = True
        elif inside_example and not line.startswith(" "):
            inside_example = False
        elif (
            not inside_example
            and re.match(r"^\s*[A-Za-z]\w*: \S", line)
            and not above.strip().startswith("#")
        ):
            undocumented.append(line.strip())
        above = line
    assert undocumented == []


# --- RBAC -------------------------------------------------------------------------------------


def grants_by_scope(docs: list[dict[str, Any]]) -> dict[str, set[tuple[str, str, str]]]:
    """What the chart grants the operator's ServiceAccount, by namespace ("*": cluster-wide),
    following every binding to it, whatever Role or ClusterRole it points at."""
    roles = {(r["kind"], r["metadata"].get("namespace"), r["metadata"]["name"]): r for r in docs}
    scopes: dict[str, set[tuple[str, str, str]]] = {}
    for binding in of_kind(docs, "RoleBinding") + of_kind(docs, "ClusterRoleBinding"):
        subject = {"kind": "ServiceAccount", "name": RELEASE, "namespace": RELEASE_NS}
        if subject not in binding["subjects"]:
            continue
        where = binding["metadata"].get("namespace")
        ref = binding["roleRef"]
        role = roles[(ref["kind"], where if ref["kind"] == "Role" else None, ref["name"])]
        scopes.setdefault(where or "*", set()).update(granted(role))
    return scopes


@pytest.mark.parametrize(
    ("values", "clusterwide", "peering"),
    [
        ({}, True, False),
        ({"replicas": 2}, True, True),
        ({"namespaces": ["team-a", "team-b"]}, False, False),
        ({"namespaces": ["team-a", "team-b"], "replicas": 3}, False, True),
    ],
    ids=["clusterwide", "clusterwide-peering", "namespaced", "namespaced-peering"],
)
def test_rbac_grants_exactly_the_verbs_the_operator_uses(
    chart: helm.Chart, values: dict[str, Any], clusterwide: bool, peering: bool
) -> None:
    """permissions.py lists every API call the operator makes; the chart grants that, no more."""
    needed = permissions.required(clusterwide=clusterwide, peering_on=peering)
    # The webhook's own ClusterRole is checked against permissions.ADMISSION in
    # test_chart_admission.py.
    scopes = grants_by_scope(render(chart, {**values, "admission": {"enabled": False}}))
    assert set(scopes) == ({"*"} if clusterwide else {"team-a", "team-b"})
    for scope, grants in scopes.items():
        extra, missing = sorted(grants - needed), sorted(needed - grants)
        assert (extra, missing) == ([], []), (
            f"{scope}: the chart grants verbs the operator never uses: {extra}; "
            f"it lacks verbs the operator needs: {missing} (see adapters/permissions.py)"
        )


def test_nothing_can_rewrite_a_contract_spec_or_read_secrets() -> None:
    needed = permissions.required(clusterwide=True, peering_on=True, admission=True)
    writes = {"create", "update", "patch", "delete", "deletecollection"}
    assert {(g, r, v) for g, r, v in needed if r == "nodecontracts" and v in writes} == set()
    assert {r for _, r, _ in needed} & {
        "secrets",
        "namespaces",
        "customresourcedefinitions",
    } == set()
    assert "*" not in {v for _, _, v in needed} | {r for _, r, _ in needed}


def test_default_watches_all_namespaces_with_one_cluster_role(chart: helm.Chart) -> None:
    docs = render(chart)
    assert of_kind(docs, "Role") == [] and of_kind(docs, "RoleBinding") == []
    (role,) = operator_objects(docs, "ClusterRole")
    (binding,) = operator_objects(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": RELEASE, "namespace": RELEASE_NS}
    ]
    assert env(docs)["CONTRACT_OPERATOR_NAMESPACES"]["value"] == ""


def test_namespace_list_grants_a_role_in_each_namespace_and_nothing_cluster_wide(
    chart: helm.Chart,
) -> None:
    docs = render(chart, {"namespaces": ["team-a", "team-b"]})
    assert operator_objects(docs, "ClusterRole") == []
    assert operator_objects(docs, "ClusterRoleBinding") == []
    roles = of_kind(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for binding in of_kind(docs, "RoleBinding"):
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": RELEASE,
        }
        assert binding["subjects"][0]["namespace"] == RELEASE_NS
    assert env(docs)["CONTRACT_OPERATOR_NAMESPACES"]["value"] == "team-a,team-b"


# --- peering ----------------------------------------------------------------------------------


def test_a_single_replica_runs_standalone_and_never_overlaps_on_update(chart: helm.Chart) -> None:
    docs = render(chart)
    assert of_kind(docs, "CustomResourceDefinition") == []
    assert env(docs)["CONTRACT_OPERATOR_PEERING"]["value"] == ""
    assert deployment(docs)["spec"]["strategy"] == {"type": "Recreate"}


def test_several_replicas_peer_through_a_namespaced_kopf_peering(chart: helm.Chart) -> None:
    docs = render(chart, {"replicas": 3, "namespaces": ["team-a", "team-b"]})
    assert deployment(docs)["spec"]["replicas"] == 3
    assert env(docs)["CONTRACT_OPERATOR_PEERING"]["value"] == RELEASE
    assert env(docs)["POD_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    (crd,) = of_kind(docs, "CustomResourceDefinition")
    assert (crd["metadata"]["name"], crd["spec"]["scope"]) == (
        "kopfpeerings.kopf.dev",
        "Namespaced",
    )
    version = crd["spec"]["versions"][0]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True
    # With a status subresource kopf would patch kopfpeerings/status, which RBAC does not grant.
    assert "subresources" not in version
    # One peering object per watched namespace: kopf peers in each of them.
    peerings = of_kind(docs, "KopfPeering")
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in peerings} == {
        ("team-a", RELEASE),
        ("team-b", RELEASE),
    }
    # Created after the CRD exists: Helm cannot map a kind whose CRD is in the same install.
    assert all("post-install" in p["metadata"]["annotations"]["helm.sh/hook"] for p in peerings)


def test_several_replicas_watching_all_namespaces_peer_cluster_wide(chart: helm.Chart) -> None:
    docs = render(chart, {"replicas": 2})
    (crd,) = of_kind(docs, "CustomResourceDefinition")
    assert (crd["metadata"]["name"], crd["spec"]["scope"]) == (
        "clusterkopfpeerings.kopf.dev",
        "Cluster",
    )
    assert "subresources" not in crd["spec"]["versions"][0]
    (peering,) = of_kind(docs, "ClusterKopfPeering")
    assert peering["metadata"]["name"] == RELEASE and "namespace" not in peering["metadata"]


# --- the pod ----------------------------------------------------------------------------------


def test_pod_runs_as_non_root_on_a_read_only_root_without_capabilities(chart: helm.Chart) -> None:
    docs = render(chart)
    pod = deployment(docs)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(docs)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in container(docs)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert container(docs)["resources"]["limits"]["memory"]


def test_probes_hit_liveness_and_readiness_endpoints_and_ports_are_named(
    chart: helm.Chart,
) -> None:
    docs = render(chart, {"health": {"port": 8181}, "metrics": {"port": 9191}})
    ports = {p["name"]: p["containerPort"] for p in container(docs)["ports"]}
    assert ports == {"health": 8181, "metrics": 9191, "webhook": 9443}
    probes = {p: container(docs)[p]["httpGet"] for p in ("livenessProbe", "readinessProbe")}
    assert probes == {
        "livenessProbe": {"path": "/healthz", "port": "health"},
        "readinessProbe": {"path": "/readyz", "port": "health"},
    }
    assert env(docs)["CONTRACT_OPERATOR_HEALTH_PORT"]["value"] == "8181"
    assert env(docs)["CONTRACT_OPERATOR_METRICS_PORT"]["value"] == "9191"
    (service,) = operator_objects(docs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"


def test_stall_and_grace_reach_the_operator(chart: helm.Chart) -> None:
    assert "CONTRACT_OPERATOR_STALL_SECONDS" not in env(render(chart))
    docs = render(chart, {"stallSeconds": 400, "brokerGraceSeconds": 0})
    assert env(docs)["CONTRACT_OPERATOR_STALL_SECONDS"]["value"] == "400"
    assert env(docs)["CONTRACT_OPERATOR_BROKER_GRACE_SECONDS"]["value"] == "0"


def test_image_defaults_to_the_chart_app_version(chart: helm.Chart) -> None:
    docs = render(chart)
    assert container(docs)["image"] == f"contract-operator:{chart.metadata['appVersion']}"
    assert container(docs)["imagePullPolicy"] == "IfNotPresent"
    assert container(docs)["args"] == ["run"]


def test_operator_settings_reach_the_environment(chart: helm.Chart) -> None:
    values = {
        "broker": {"bootstrapServers": "k1:9092,k2:9092"},
        "resyncSeconds": 15,
        "topicPattern": "^acme\\..+$",
        "topicKinds": ["evt", "cmd"],
        "logLevel": "DEBUG",
        # A pattern without kind/producer groups cannot be a policy: the webhook checks it.
        "admissionPolicy": {"enabled": False},
    }
    found = {name: e.get("value") for name, e in env(render(chart, values)).items()}
    assert found["BOOTSTRAP_SERVERS"] == "k1:9092,k2:9092"
    assert found["KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert found["CONTRACT_OPERATOR_RESYNC_SECONDS"] == "15"
    assert found["CONTRACT_OPERATOR_TOPIC_PATTERN"] == "^acme\\..+$"
    assert found["CONTRACT_OPERATOR_TOPIC_KINDS"] == "evt,cmd"
    assert found["CONTRACT_OPERATOR_LOG_LEVEL"] == "DEBUG"
    assert "KAFKA_SASL_USERNAME" not in found and "KAFKA_SSL_CA_LOCATION" not in found


# --- broker credentials -----------------------------------------------------------------------


def test_sasl_credentials_come_only_from_the_existing_secret(chart: helm.Chart) -> None:
    docs = render(chart, SASL)
    variables = env(docs)
    assert variables["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert variables["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-256"
    for name, key in (("KAFKA_SASL_USERNAME", "username"), ("KAFKA_SASL_PASSWORD", "password")):
        assert variables[name] == {
            "name": name,
            "valueFrom": {"secretKeyRef": {"name": "kafka-user", "key": key}},
        }
    assert of_kind(docs, "Secret") == []


def test_a_password_cannot_be_put_in_values(chart: helm.Chart) -> None:
    inline = {"broker": {**SASL["broker"], "sasl": {"existingSecret": "x", "password": "hunter2"}}}
    with pytest.raises(helm.HelmValuesError, match="password"):
        render(chart, inline)


def test_tls_ca_is_mounted_read_only_from_its_secret(chart: helm.Chart) -> None:
    docs = render(chart, TLS)
    ca_path = env(docs)["KAFKA_SSL_CA_LOCATION"]["value"]
    (mount,) = [m for m in container(docs)["volumeMounts"] if ca_path.startswith(m["mountPath"])]
    assert mount["readOnly"] is True
    assert ca_path == f"{mount['mountPath']}/ca.pem"
    (volume,) = [
        v
        for v in deployment(docs)["spec"]["template"]["spec"]["volumes"]
        if v["name"] == mount["name"]
    ]
    assert volume["secret"] == {
        "secretName": "broker-ca",
        "items": [{"key": "ca.pem", "path": "ca.pem"}],
    }


# --- monitoring -------------------------------------------------------------------------------


def test_service_monitor_is_rendered_only_when_enabled(chart: helm.Chart) -> None:
    assert of_kind(render(chart), "ServiceMonitor") == []
    docs = render(chart, {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}})
    (monitor,) = of_kind(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}
    ]
    (service,) = operator_objects(docs, "Service")
    selected = monitor["spec"]["selector"]["matchLabels"].items()
    assert selected <= service["metadata"]["labels"].items()


# --- values rejected at install time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"replicas": -1}, "/replicas"),
        ({"broker": {"securityProtocol": "FOO"}}, "/broker/securityProtocol"),
        ({"broker": {"sasl": {"mechanism": "GSSAPI"}}}, "/broker/sasl/mechanism"),
        ({"broker": {"bootstrapServers": "no-port"}}, "/broker/bootstrapServers"),
        ({"broker": {"securityProtocol": "SASL_PLAINTEXT"}}, "/broker/sasl/existingSecret"),
        ({"logLevel": "chatty"}, "/logLevel"),
        ({"resyncSeconds": 0}, "/resyncSeconds"),
        ({"metrics": {"port": 70000}}, "/metrics/port"),
        ({"namespaces": ["Not_A_Namespace"]}, "/namespaces/0"),
        ({"replicaCount": 2}, "'replicaCount' not allowed"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(
    chart: helm.Chart, values: dict[str, Any], named: str
) -> None:
    with pytest.raises(helm.HelmValuesError) as rejected:
        render(chart, values)
    assert named in str(rejected.value)


def test_one_selector_reaches_the_operator_the_webhook_and_the_policy(chart: helm.Chart) -> None:
    from contract_operator.core.selectors import parse_selector

    selector = {
        "matchLabels": {"kafka-cluster": "payments"},
        "matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["test", "dev"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    for mode in ({}, {"admission": {"certManager": {"enabled": True}}}):
        docs = render(chart, {"selector": selector, **mode})
        text = env(docs)["CONTRACT_OPERATOR_SELECTOR"]["value"]
        assert parse_selector(text).label_selector() == selector
        (binding,) = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding"]
        assert binding["spec"]["matchResources"]["objectSelector"] == selector
        hooks = [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"]
        for hook in hooks:  # the chart owns it only with cert-manager
            assert hook["webhooks"][0]["objectSelector"] == selector
    assert "CONTRACT_OPERATOR_SELECTOR" not in env(render(chart))
