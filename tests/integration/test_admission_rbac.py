"""The chart's RBAC for the admission webhook, proved on the real RBAC-enabled kube-apiserver:
with the chart's identity the operator can write its own ValidatingWebhookConfiguration (the
one with the caBundle of its self-signed certificate) and no other."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config

from contract_operator.controller.webhook_config import apply_configuration, webhook_configuration

from .test_rbac import (
    allowed,
    eventually_allowed,
    install_identity,
    login_as_operator,
    make_namespace,
)

pytestmark = pytest.mark.integration


def test_the_operator_writes_its_own_webhook_configuration_and_no_other(
    testbed, kube: client.ApiClient, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    release_ns = make_namespace(kube)
    install_identity(kube, release_ns, {})
    operator = config.new_client_from_config(
        config_file=str(login_as_operator(testbed, kube, release_ns, tmp_path))
    )
    own = f"{release_ns}-contract-operator"  # the chart's admission.configName
    other = f"{release_ns}-someone-else"
    admin = client.AdmissionregistrationV1Api(kube)
    # A dead URL: with failurePolicy Ignore these configurations never block anything.
    client_config = {"url": "https://127.0.0.1:1/validate-nodecontract"}
    admin.create_validating_webhook_configuration(webhook_configuration(other, client_config, 5))
    try:
        body = webhook_configuration(own, client_config, 5)
        eventually_allowed(lambda: apply_configuration(operator, body))  # created
        assert allowed(lambda: apply_configuration(operator, body))  # read and replaced
        theirs = webhook_configuration(other, client_config, 5)
        assert not allowed(lambda: apply_configuration(operator, theirs))
        api = client.AdmissionregistrationV1Api(operator)
        assert not allowed(lambda: api.delete_validating_webhook_configuration(own))
        assert not allowed(lambda: api.list_validating_webhook_configuration())
    finally:
        for name in (own, other):
            try:
                admin.delete_validating_webhook_configuration(name)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
