"""The validating admission webhook for NodeContracts, served by the operator process (kopf).

Thin on purpose: it parses the incoming object with the one parser and asks core.admission
about it, using the operator's in-memory view (the `nodecontracts` index) and the broker
snapshot the reconcile loop last took. It never calls the broker.

Fail-open: the webhook configuration says `failurePolicy: Ignore` with a short timeout, so an
operator that is down or slow never blocks `kubectl apply`; the loop reports everything later.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client

from ..core.admission import AdmissionMode, Decision, FleetView, decide
from ..core.naming import NamingRules
from ..model.contract import GROUP, PLURAL, VERSION, Contract, ContractError
from .certs import CertFiles, write_self_signed
from .reconciler import Record
from .settings import SettingsError

log = logging.getLogger(__name__)

HANDLER_ID = "validate-nodecontract"  # kopf routes /<handler id> to the handler
WEBHOOK_NAME = f"validate.{PLURAL}.{GROUP}"
OFF = "off"

ENV_MODE = "CONTRACT_OPERATOR_ADMISSION_MODE"
ENV_ADDR = "CONTRACT_OPERATOR_ADMISSION_ADDR"
ENV_PORT = "CONTRACT_OPERATOR_ADMISSION_PORT"
ENV_HOST = "CONTRACT_OPERATOR_ADMISSION_HOST"
ENV_SERVICE = "CONTRACT_OPERATOR_ADMISSION_SERVICE"
ENV_CERT_DIR = "CONTRACT_OPERATOR_ADMISSION_CERT_DIR"
ENV_CONFIG = "CONTRACT_OPERATOR_ADMISSION_WEBHOOK_CONFIG"
ENV_TIMEOUT = "CONTRACT_OPERATOR_ADMISSION_TIMEOUT_SECONDS"


class AdmissionSettingsError(SettingsError):
    """An admission setting that cannot work; the message names the flag and the variable."""


@dataclass(frozen=True)
class AdmissionSettings:
    mode: str = OFF  # off, deny or warn
    addr: str = "0.0.0.0"  # where the HTTPS server listens
    port: int = 9443
    host: str = "127.0.0.1"  # how the apiserver reaches it (URL mode) and the certificate's SAN
    service: str = ""  # "namespace/name[:port]": reach it through a Service instead of a URL
    cert_dir: str = ""  # tls.crt, tls.key (and ca.crt) mounted here; empty: self-signed
    webhook_config: str = ""  # manage this ValidatingWebhookConfiguration; empty: someone else
    timeout_seconds: int = 5  # the apiserver gives up (and admits) after this long
    # The operator's --selector as a LabelSelector: the apiserver then calls the webhook only
    # for the contracts this instance manages.
    object_selector: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in (OFF, *AdmissionMode):
            raise AdmissionSettingsError(
                f"admission mode {self.mode!r}: use off, deny or warn "
                f"(--admission-mode, {ENV_MODE})"
            )
        if not 1 <= self.port <= 65535:
            raise AdmissionSettingsError(
                f"admission port {self.port} is out of range 1-65535 (--admission-port, {ENV_PORT})"
            )
        # The apiserver accepts 1-30 s; long waits would defeat failing open.
        if not 1 <= self.timeout_seconds <= 30:
            raise AdmissionSettingsError(
                f"admission timeout {self.timeout_seconds} s: use 1-30 "
                f"(--admission-timeout-seconds, {ENV_TIMEOUT})"
            )
        if self.service and self.service.count("/") != 1:
            raise AdmissionSettingsError(
                f"admission service {self.service!r}: use namespace/name[:port] "
                f"(--admission-service, {ENV_SERVICE})"
            )

    @property
    def enabled(self) -> bool:
        return self.mode != OFF

    def service_ref(self) -> dict[str, Any] | None:
        if not self.service:
            return None
        namespace, _, rest = self.service.partition("/")
        name, _, port = rest.partition(":")
        return {"namespace": namespace, "name": name, "port": int(port or 443)}

    def hosts(self) -> list[str]:
        """Names the serving certificate must carry."""
        out = [self.host]
        ref = self.service_ref()
        if ref:
            base = f"{ref['name']}.{ref['namespace']}"
            out = [f"{base}.svc", f"{base}.svc.cluster.local", base, ref["name"], *out]
        return out


# --- command line ---------------------------------------------------------------------------


def add_admission_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "admission webhook",
        "warnings (and refusals) at `kubectl apply`, served by the operator; fail-open",
    )
    group.add_argument(
        "--admission-mode",
        choices=(OFF, *(str(m) for m in AdmissionMode)),
        help=f"deny: refuse names that break the rules, warn about the rest; warn: admit "
        f"everything with warnings; off (default): no webhook (env {ENV_MODE})",
    )
    group.add_argument("--admission-addr", metavar="ADDR", help=f"listen address (env {ENV_ADDR})")
    group.add_argument(
        "--admission-port", type=int, metavar="PORT", help=f"HTTPS port (9443, env {ENV_PORT})"
    )
    group.add_argument(
        "--admission-host",
        metavar="HOST",
        help=f"host the apiserver calls, https://HOST:PORT (127.0.0.1, env {ENV_HOST})",
    )
    group.add_argument(
        "--admission-service",
        metavar="NS/NAME[:PORT]",
        help=f"call the webhook through this Service instead (in a cluster; env {ENV_SERVICE})",
    )
    group.add_argument(
        "--admission-cert-dir",
        metavar="DIR",
        help=f"tls.crt, tls.key and ca.crt to serve with; default: a self-signed certificate "
        f"made at start (env {ENV_CERT_DIR})",
    )
    group.add_argument(
        "--admission-webhook-config",
        metavar="NAME",
        help=f"create/update this ValidatingWebhookConfiguration with the caBundle; empty "
        f"(default): it is managed elsewhere, e.g. by Helm (env {ENV_CONFIG})",
    )
    group.add_argument(
        "--admission-timeout-seconds",
        type=int,
        metavar="S",
        help=f"apiserver timeout before it admits without an answer (5, env {ENV_TIMEOUT})",
    )


def admission_settings(
    args: argparse.Namespace, env: Mapping[str, str] = os.environ
) -> AdmissionSettings:
    """Flags first, then the environment, then the defaults."""
    defaults = AdmissionSettings()

    def pick(flag: str, name: str, default: Any, kind: Callable[[str], Any] = str) -> Any:
        value = getattr(args, flag, None)
        if value is not None:
            return value
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            return kind(raw)
        except ValueError:
            raise AdmissionSettingsError(f"{name}={raw!r} is not a number") from None

    return AdmissionSettings(
        mode=pick("admission_mode", ENV_MODE, defaults.mode).lower(),
        addr=pick("admission_addr", ENV_ADDR, defaults.addr),
        port=pick("admission_port", ENV_PORT, defaults.port, int),
        host=pick("admission_host", ENV_HOST, defaults.host),
        service=pick("admission_service", ENV_SERVICE, defaults.service),
        cert_dir=pick("admission_cert_dir", ENV_CERT_DIR, defaults.cert_dir),
        webhook_config=pick("admission_webhook_config", ENV_CONFIG, defaults.webhook_config),
        timeout_seconds=pick(
            "admission_timeout_seconds", ENV_TIMEOUT, defaults.timeout_seconds, int
        ),
    )


# --- the webhook configuration ----------------------------------------------------------------


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


class WebhookEndpoint:
    """kopf's HTTPS webhook server, plus the webhook configuration pointing at it.

    kopf could manage the configuration itself, but it always writes a 30-second timeout;
    a fail-open webhook wants a short one, so the configuration is written here.
    """

    def __init__(
        self, settings: AdmissionSettings, api_client: Callable[[], client.ApiClient | None]
    ) -> None:
        self.settings = settings
        self._api_client = api_client

    def cert_files(self) -> CertFiles:
        if self.settings.cert_dir:
            files = CertFiles.in_dir(Path(self.settings.cert_dir))
            if files.exist():
                return files
        directory = Path(self.settings.cert_dir or tempfile.mkdtemp(prefix="contract-operator-"))
        log.info("admission: a self-signed certificate for %s", ", ".join(self.settings.hosts()))
        return write_self_signed(directory, self.settings.hosts())

    def client_config(self, served: Mapping[str, Any]) -> dict[str, Any]:
        ref = self.settings.service_ref()
        config: dict[str, Any] = (
            {"service": {**ref, "path": f"/{HANDLER_ID}"}}
            if ref
            else {"url": f"{str(served['url']).rstrip('/')}/{HANDLER_ID}"}
        )
        if "caBundle" in served:
            config["caBundle"] = served["caBundle"]
        return config

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        files = self.cert_files()
        server = kopf.WebhookServer(
            addr=self.settings.addr,
            port=self.settings.port,
            host=self.settings.host,
            certfile=str(files.certfile),
            pkeyfile=str(files.keyfile),
            cafile=str(files.cafile) if files.cafile.is_file() else None,
        )
        async for served in server(fn):
            log.info("admission: serving %s (%s)", served.get("url"), self.settings.mode)
            if self.settings.webhook_config:
                await self._configure(served)
            yield served

    async def _configure(self, served: Mapping[str, Any]) -> None:
        api_client = self._api_client()
        if api_client is None:
            log.error("admission: no Kubernetes client; the webhook configuration is not written")
            return
        body = webhook_configuration(
            self.settings.webhook_config,
            self.client_config(served),
            self.settings.timeout_seconds,
            self.settings.object_selector,
        )
        try:
            await asyncio.to_thread(apply_configuration, api_client, body)
        except client.ApiException as exc:
            # Fail open here too: without the configuration the apiserver simply never calls us.
            log.error(
                "admission: could not write ValidatingWebhookConfiguration %s: %s %s",
                self.settings.webhook_config,
                exc.status,
                exc.reason,
            )
            return
        log.info("admission: webhook configuration %s is up to date", self.settings.webhook_config)


# --- the handler ------------------------------------------------------------------------------


class AdmissionView:
    """A FleetView kept in step with the `nodecontracts` index, one watch event at a time."""

    def __init__(self) -> None:
        self.fleet: FleetView | None = None
        self._keys: set[str] = set()  # every record, parsable or not
        self.events_seen = False

    def ready(self, reconciler: Any) -> bool:
        """Whether the index holds every contract, not just the part listed so far.

        kopf calls event handlers only once the index holds the initial listing, and the loop
        runs only after that. Before either (the first seconds after a start, a standby
        replica, or no NodeContract at all yet), a subscription could look unpublished when
        its publisher is simply not listed yet.
        """
        return self.events_seen or getattr(reconciler, "cycles", 0) > 0

    def current(
        self, records: Callable[[], Iterable[Record]], size: int, rules: NamingRules
    ) -> FleetView:
        """The view, built whole on first use (about 1 s at 10,000 contracts, once) and then
        kept in step by watch events; if an event was ever missed, only the difference is
        applied."""
        if self.fleet is None:
            listed = list(records())
            self._keys = {r.key for r in listed}
            self.fleet = FleetView((r.contract for r in listed if r.contract is not None), rules)
        elif len(self._keys) != size:
            by_key = {r.key: r for r in records()}
            for key in self._keys - by_key.keys():
                self.fleet.remove(key)
            for key in by_key.keys() - self._keys:
                if (contract := by_key[key].contract) is not None:
                    self.fleet.put(contract)
            self._keys = set(by_key)
        return self.fleet

    def update(self, key: str, record: Record | None) -> None:
        self.events_seen = True
        if self.fleet is None:
            return
        if record is None:
            self._keys.discard(key)
        else:
            self._keys.add(key)
        if record is None or record.contract is None:
            self.fleet.remove(key)
        else:
            self.fleet.put(record.contract)


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
        reconciler = getattr(memo, "reconciler", None)
        watched = getattr(getattr(reconciler, "settings", None), "namespaces", ())
        if watched and body.metadata.namespace not in watched:
            return  # not ours: this operator has no view of that namespace
        ready = view.ready(reconciler)
        fleet = (
            view.current(_records(nodecontracts), len(nodecontracts), rules_of(reconciler))
            if ready
            else None
        )
        try:
            decision = answer(body, fleet, reconciler, mode)
        except ContractError as exc:
            details = "; ".join(f"{e.field or 'document'}: {e.message}" for e in exc.errors)
            raise kopf.AdmissionError(f"not a valid NodeContract: {details}", code=422) from None
        if not ready:
            warnings.append(
                "contract-operator has not read every NodeContract yet (starting, or a standby "
                "replica): only names were checked at apply time; `kubectl get nc` shows wiring, "
                "conflicts and drift shortly"
            )
        warnings.extend(decision.warning_lines())
        if not decision.allowed:
            raise kopf.AdmissionError(
                decision.denial_message()
                + " (contract-operator admission mode deny; mode warn admits it with a warning)",
                code=422,
            )

    return admission_view
