"""The webhook's HTTPS endpoint: kopf's server with our certificate, and the configuration
written once it serves."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client

from .admission_settings import AdmissionSettings
from .certs import CertFiles, write_self_signed
from .webhook_config import HANDLER_ID, apply_configuration, webhook_configuration

log = logging.getLogger("contract_operator.controller.admission")


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
