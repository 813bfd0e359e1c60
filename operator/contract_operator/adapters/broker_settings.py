"""How to reach the broker: address, security protocol, SASL and TLS, from flags and the
environment (the Helm chart sets it), checked before any connection so a setting that cannot
work is one clear error."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("contract_operator.adapters.broker")

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

# Environment variable names; the CLI flags fall back to these (and the Helm chart sets them).
ENV_BOOTSTRAP = "BOOTSTRAP_SERVERS"
ENV_SECURITY_PROTOCOL = "KAFKA_SECURITY_PROTOCOL"
ENV_SASL_MECHANISM = "KAFKA_SASL_MECHANISM"
ENV_SASL_USERNAME = "KAFKA_SASL_USERNAME"
ENV_SASL_PASSWORD = "KAFKA_SASL_PASSWORD"
ENV_SSL_CA_LOCATION = "KAFKA_SSL_CA_LOCATION"


class BrokerError(Exception):
    """The broker could not answer; the message says where and what to check."""


@dataclass(frozen=True)
class BrokerSettings:
    """How to reach the broker. `repr` hides the password so settings can be logged safely."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_ca_location: str | None = None
    timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: Any) -> BrokerSettings:
        """Settings from the environment, with explicit (non-None) overrides taking precedence."""
        values: dict[str, Any] = {
            "bootstrap_servers": env.get(ENV_BOOTSTRAP, ""),
            "security_protocol": env.get(ENV_SECURITY_PROTOCOL) or "PLAINTEXT",
            "sasl_mechanism": env.get(ENV_SASL_MECHANISM) or None,
            "sasl_username": env.get(ENV_SASL_USERNAME) or None,
            "sasl_password": env.get(ENV_SASL_PASSWORD) or None,
            "ssl_ca_location": env.get(ENV_SSL_CA_LOCATION) or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise BrokerError with a fix for settings that cannot work, before any connection."""
        if not 1 <= self.timeout_s <= 3600:
            raise BrokerError(
                f"broker timeout {self.timeout_s:g} s is out of range: use 1 to 3600 seconds"
            )
        if not self.bootstrap_servers.strip():
            raise BrokerError(
                f"no broker address: pass --bootstrap-server HOST:PORT or set {ENV_BOOTSTRAP}"
            )
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise BrokerError(
                f"unknown security protocol {self.security_protocol!r}: "
                f"use one of {', '.join(SECURITY_PROTOCOLS)}"
            )
        uses_sasl = self.security_protocol.startswith("SASL_")
        if uses_sasl and not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise BrokerError(
                f"{self.security_protocol} needs a SASL mechanism, username and password "
                f"({ENV_SASL_MECHANISM}, {ENV_SASL_USERNAME}, {ENV_SASL_PASSWORD})"
            )
        if self.sasl_mechanism and self.sasl_mechanism not in SASL_MECHANISMS:
            raise BrokerError(
                f"unknown SASL mechanism {self.sasl_mechanism!r}: "
                f"use one of {', '.join(SASL_MECHANISMS)}"
            )
        if self.ssl_ca_location and not os.path.isfile(self.ssl_ca_location):
            raise BrokerError(f"TLS CA file {self.ssl_ca_location} does not exist")

    def client_config(self) -> dict[str, Any]:
        timeout_ms = int(self.timeout_s * 1000)
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            # An operator must never create a topic by looking at it (Redpanda's default too).
            "allow.auto.create.topics": False,
            "socket.connection.setup.timeout.ms": max(1000, min(timeout_ms, 5000)),
            "socket.timeout.ms": timeout_ms,
            "reconnect.backoff.max.ms": 1000,
            # librdkafka logs every failed connection attempt on its own; the real cause (TLS
            # handshake, SASL authentication) reaches us through the error callback instead and
            # is said once, in the BrokerUnavailable message.
            "log_level": 2,
            "logger": log,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
            conf["sasl.username"] = self.sasl_username
            conf["sasl.password"] = self.sasl_password
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = self.ssl_ca_location
        return conf
