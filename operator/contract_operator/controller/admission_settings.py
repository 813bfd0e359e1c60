"""The admission webhook's settings: one typed model (flags and environment: cli/run_options.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic.dataclasses import dataclass

from ..core.admission import AdmissionMode

OFF = "off"
MODES = (OFF, *(str(m) for m in AdmissionMode))

ENV_MODE = "CONTRACT_OPERATOR_ADMISSION_MODE"
ENV_ADDR = "CONTRACT_OPERATOR_ADMISSION_ADDR"
ENV_PORT = "CONTRACT_OPERATOR_ADMISSION_PORT"
ENV_HOST = "CONTRACT_OPERATOR_ADMISSION_HOST"
ENV_SERVICE = "CONTRACT_OPERATOR_ADMISSION_SERVICE"
ENV_CERT_DIR = "CONTRACT_OPERATOR_ADMISSION_CERT_DIR"
ENV_CONFIG = "CONTRACT_OPERATOR_ADMISSION_WEBHOOK_CONFIG"
ENV_TIMEOUT = "CONTRACT_OPERATOR_ADMISSION_TIMEOUT_SECONDS"


def _mode(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().lower()
        if value not in MODES:
            raise ValueError("not an admission mode")
    return value


def _service(value: Any) -> Any:
    if isinstance(value, str) and value:
        _, _, port = value.partition(":")
        if value.count("/") != 1 or (port and not port.isdigit()):
            raise ValueError("not a Service reference")
    return value


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class AdmissionSettings:
    mode: Annotated[str, BeforeValidator(_mode)] = OFF  # off, deny or warn
    addr: str = "0.0.0.0"  # where the HTTPS server listens
    port: Annotated[int, Field(ge=1, le=65535)] = 9443
    host: str = "127.0.0.1"  # how the apiserver reaches it (URL mode) and the certificate's SAN
    # "namespace/name[:port]": reach it through a Service instead of a URL.
    service: Annotated[str, BeforeValidator(_service)] = ""
    cert_dir: str = ""  # tls.crt, tls.key (and ca.crt) mounted here; empty: self-signed
    webhook_config: str = ""  # manage this ValidatingWebhookConfiguration; empty: someone else
    # The apiserver gives up (and admits) after this long; it accepts 1-30 s, and long waits
    # would defeat failing open.
    timeout_seconds: Annotated[int, Field(ge=1, le=30)] = 5
    # The operator's --selector as a LabelSelector: the apiserver then calls the webhook only
    # for the contracts this instance manages.
    object_selector: Mapping[str, Any] = Field(default_factory=dict)

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
