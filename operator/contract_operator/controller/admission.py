"""The validating admission webhook for NodeContracts, served by the operator process (kopf).

Thin on purpose: `review` parses the incoming object with the one parser and asks
core.admission about it, using the operator's in-memory view (admission_view.py) and the
broker snapshot the reconcile loop last took. It never calls the broker. Settings live in
admission_settings.py, the HTTPS endpoint in webhook_server.py, the configuration the
apiserver reads in webhook_config.py.

Fail-open: the webhook configuration says `failurePolicy: Ignore` with a short timeout, so an
operator that is down or slow never blocks `kubectl apply`; the loop reports everything later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf
from kubernetes import client

from ..core.admission import AdmissionMode, Decision, FleetView, decide
from ..core.naming import NamingRules
from ..model.contract import GROUP, PLURAL, VERSION, Contract, ContractError
from .admission_settings import AdmissionSettings
from .admission_view import AdmissionView
from .records import Record
from .webhook_config import HANDLER_ID
from .webhook_server import WebhookEndpoint

log = logging.getLogger(__name__)

NOT_READY_WARNING = (
    "contract-operator has not read every NodeContract yet (starting, or a standby replica): "
    "only names were checked at apply time; `kubectl get nc` shows wiring, conflicts and drift "
    "shortly"
)


def parse_incoming(body: Mapping[str, Any]) -> Contract:
    meta = body.get("metadata") or {}
    return Contract.from_manifest(
        dict(body), source=f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    )


def rules_of(reconciler: Any) -> NamingRules:
    """The loop's naming rules (the same the planner applies)."""
    options = getattr(getattr(reconciler, "settings", None), "plan_options", None)
    return options.rules if options is not None else NamingRules()


def answer(
    body: Mapping[str, Any],
    fleet: FleetView | None,
    reconciler: Any,
    mode: AdmissionMode,
) -> Decision:
    """The decision for one admission request; raises ContractError for an unparsable object.
    `fleet` None means the view is not complete yet: only the object's own rules apply."""
    incoming = parse_incoming(body)
    return decide(
        incoming,
        fleet or FleetView(rules=rules_of(reconciler)),
        getattr(reconciler, "last_snapshot", None),
        mode,
        view_ready=fleet is not None,
    )


@dataclass(frozen=True)
class Verdict:
    """What the webhook answers: warnings, and why it refuses (None: admitted)."""

    warnings: tuple[str, ...] = ()
    denial: str | None = None


def review(
    body: Mapping[str, Any],
    reconciler: Any,
    records: Callable[[], Iterable[Record]],
    size: int,
    view: AdmissionView,
    mode: AdmissionMode,
) -> Verdict:
    """One admission request, answered from the view (no kopf, no I/O). `reconciler` is the
    running loop (None before it started): its namespaces, rules, cycles and last snapshot."""
    watched = getattr(getattr(reconciler, "settings", None), "namespaces", ())
    if watched and body.get("metadata", {}).get("namespace") not in watched:
        return Verdict()  # not ours: this operator has no view of that namespace
    ready = view.ready(reconciler)
    fleet = view.current(records, size, rules_of(reconciler)) if ready else None
    try:
        decision = answer(body, fleet, reconciler, mode)
    except ContractError as exc:
        details = "; ".join(f"{e.field or 'document'}: {e.message}" for e in exc.errors)
        return Verdict(denial=f"not a valid NodeContract: {details}")
    warnings = ([] if ready else [NOT_READY_WARNING]) + decision.warning_lines()
    if decision.allowed:
        return Verdict(tuple(warnings))
    return Verdict(
        tuple(warnings),
        decision.denial_message()
        + " (contract-operator admission mode deny; mode warn admits it with a warning)",
    )


def _records(index: kopf.Index[str, Record]) -> Callable[[], Iterable[Record]]:
    def records() -> Iterable[Record]:
        for store in list(index.values()):
            yield from store

    return records


EventHook = Callable[[kopf.Body, kopf.Index[str, Record]], None]


def register_admission(
    registry: kopf.OperatorRegistry, admission: AdmissionSettings | None
) -> EventHook | None:
    """Serve the webhook from this operator when `admission` turns it on; otherwise do nothing.

    Returns what to call on every NodeContract watch event (the view it answers from), for
    the operator's one event handler: a second kopf handler would double kopf's per-event
    work, which is most of the operator's CPU at 10,000 contracts."""
    if admission is None or not admission.enabled:
        return None
    mode = AdmissionMode(admission.mode)
    view = AdmissionView()

    @kopf.on.startup(registry=registry)
    def configure_admission(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:

        def api_client() -> client.ApiClient | None:
            kube = getattr(getattr(memo, "reconciler", None), "kube", None)
            return getattr(kube, "api_client", None)

        settings.admission.server = WebhookEndpoint(admission, api_client)
        settings.admission.managed = None  # WebhookEndpoint writes the configuration

    def admission_view(body: kopf.Body, nodecontracts: kopf.Index[str, Record]) -> None:
        key = f"{body.metadata.namespace}/{body.metadata.name}"
        store = nodecontracts.get(key)
        view.update(key, next(iter(store), None) if store is not None else None)

    # kopf passes indices to handlers as keyword arguments; its handler protocols do not list
    # them, hence the ignore.

    @kopf.on.validate(  # type: ignore[arg-type]
        GROUP,
        VERSION,
        PLURAL,
        id=HANDLER_ID,
        operations=["CREATE", "UPDATE"],
        ignore_failures=True,
        registry=registry,
    )
    async def validate_nodecontract(
        body: kopf.Body,
        warnings: list[str],
        memo: kopf.Memo,
        nodecontracts: kopf.Index[str, Record],
        **_: Any,
    ) -> None:
        verdict = review(
            body,
            getattr(memo, "reconciler", None),
            _records(nodecontracts),
            len(nodecontracts),
            view,
            mode,
        )
        warnings.extend(verdict.warnings)
        if verdict.denial is not None:
            raise kopf.AdmissionError(verdict.denial, code=422)

    return admission_view
