"""Every Kubernetes API call the operator makes, as RBAC rules: the one list the chart grants.

The chart's Roles are checked against these rules (tests/unit/test_chart.py: no verb more, none
less), and the operator is run on the chart's ServiceAccount against a real RBAC-enabled
apiserver (tests/integration/test_rbac.py). A new API call needs a rule here first.
"""

from __future__ import annotations

from typing import NamedTuple

from ..model.contract import GROUP, PLURAL

PEERING_GROUP = "kopf.dev"


class Rule(NamedTuple):
    api_group: str  # "" is the core group
    resource: str  # "plural" or "plural/subresource"
    verbs: tuple[str, ...]


# What a single operator does. No "get", "patch" or "update" on nodecontracts themselves: the
# operator reads contracts only through kopf's list+watch and never writes a spec or metadata
# (no finalizers, no kopf progress annotations), so it cannot rewrite anyone's contract.
OPERATOR: tuple[Rule, ...] = (
    # kopf's index and event handler (controller/handlers.py): one list, then a watch; with
    # peering, PeeringGate also lists them once each time its replica becomes the active one.
    Rule(GROUP, PLURAL, ("list", "watch")),
    # Kube.patch_status: the reconcile loop merge-patches .status, nothing else.
    Rule(GROUP, f"{PLURAL}/status", ("patch",)),
    # Kube.post_event: a new Event is created; a repeat of the same reason patches the count
    # and lastTimestamp of that Event (kubelet-style aggregation), so no get/list is needed.
    Rule("", "events", ("create", "patch")),
)


def peering(clusterwide: bool) -> tuple[Rule, ...]:
    """Several replicas: kopf's peering object, namespaced or cluster-wide like the watch."""
    resource = "clusterkopfpeerings" if clusterwide else "kopfpeerings"
    return (
        # list+watch: kopf's peering observer; patch: kopf's keep-alive merge-patches its own
        # entry into .status (kopf's peering CRD has no status subresource, so the object
        # itself); get: PeeringGate reads the object before each reconcile cycle.
        Rule(PEERING_GROUP, resource, ("get", "list", "watch", "patch")),
    )


# The admission webhook's own calls (its configuration), granted by its own template
# (admission-rbac.yaml) and only when the operator writes the configuration itself:
# controller/webhook_config.apply_configuration reads it, creates it once, then replaces it.
ADMISSION: tuple[Rule, ...] = (
    Rule(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        ("get", "create", "update"),
    ),
)


def required(
    *, clusterwide: bool, peering_on: bool, admission: bool = False
) -> frozenset[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) the operator needs in one configuration."""
    rules = (
        OPERATOR + (peering(clusterwide) if peering_on else ()) + (ADMISSION if admission else ())
    )
    return frozenset((r.api_group, r.resource, verb) for r in rules for verb in r.verbs)
