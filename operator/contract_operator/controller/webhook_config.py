"""The ValidatingWebhookConfiguration that points the apiserver at the operator's webhook.

kopf could manage it, but it always writes a 30-second timeout; a fail-open webhook wants a
short one, so it is built and written here (get/create/update: the RBAC the chart grants).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes import client

from ..model.contract import GROUP, PLURAL, VERSION

HANDLER_ID = "validate-nodecontract"  # kopf routes /<handler id> to the handler
WEBHOOK_NAME = f"validate.{PLURAL}.{GROUP}"


def webhook_configuration(
    name: str,
    client_config: Mapping[str, Any],
    timeout_seconds: int,
    object_selector: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ValidatingWebhookConfiguration: NodeContract creates and updates, fail-open."""
    body = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "contract-operator"}},
        "webhooks": [
            {
                "name": WEBHOOK_NAME,
                "clientConfig": dict(client_config),
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        # Not nodecontracts/status: the loop's own status writes never wait on us.
                        "resources": [PLURAL],
                        "operations": ["CREATE", "UPDATE"],
                        "scope": "Namespaced",
                    }
                ],
                "failurePolicy": "Ignore",
                "sideEffects": "None",  # so `kubectl apply --dry-run=server` is checked too
                "timeoutSeconds": timeout_seconds,
                "matchPolicy": "Equivalent",
                "admissionReviewVersions": ["v1", "v1beta1"],
            }
        ],
    }
    if object_selector:
        body["webhooks"][0]["objectSelector"] = dict(object_selector)  # type: ignore[index]
    return body


def apply_configuration(api_client: client.ApiClient, body: dict[str, Any]) -> None:
    """Create the configuration, or replace ours with it (get/create/update: the RBAC needed)."""
    api = client.AdmissionregistrationV1Api(api_client)
    name = body["metadata"]["name"]
    try:
        current = api.read_validating_webhook_configuration(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        # The client sends plain dicts as they are; its stubs only name the model classes.
        api.create_validating_webhook_configuration(body, field_validation="Strict")  # type: ignore[arg-type]
        return
    body = {**body, "metadata": {**body["metadata"]}}
    if current.metadata is not None:
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
    api.replace_validating_webhook_configuration(name, body, field_validation="Strict")  # type: ignore[arg-type]
