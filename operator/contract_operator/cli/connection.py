"""Broker connection options shared by `run`, `plan` and `provision` (flags fall back to env)."""

from __future__ import annotations

import argparse
import os

from ..adapters.broker_settings import (
    ENV_BOOTSTRAP,
    ENV_SASL_MECHANISM,
    ENV_SASL_PASSWORD,
    ENV_SASL_USERNAME,
    ENV_SECURITY_PROTOCOL,
    ENV_SSL_CA_LOCATION,
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    BrokerSettings,
)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "broker connection",
        f"Each flag falls back to an environment variable. Prefer {ENV_SASL_PASSWORD} over "
        "--sasl-password: flags are visible in the process list.",
    )
    group.add_argument(
        "--bootstrap-server",
        metavar="HOST:PORT[,...]",
        help=f"Kafka/Redpanda bootstrap servers (env {ENV_BOOTSTRAP})",
    )
    group.add_argument(
        "--security-protocol",
        choices=SECURITY_PROTOCOLS,
        help=f"default PLAINTEXT (env {ENV_SECURITY_PROTOCOL})",
    )
    group.add_argument(
        "--sasl-mechanism", choices=SASL_MECHANISMS, help=f"(env {ENV_SASL_MECHANISM})"
    )
    group.add_argument("--sasl-username", help=f"(env {ENV_SASL_USERNAME})")
    group.add_argument("--sasl-password", help=f"(env {ENV_SASL_PASSWORD})")
    group.add_argument(
        "--tls-ca",
        metavar="FILE",
        help=f"CA bundle to verify the broker (env {ENV_SSL_CA_LOCATION})",
    )
    group.add_argument(
        "--broker-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up on a broker request after this long (default 10)",
    )


def broker_settings(args: argparse.Namespace) -> BrokerSettings:
    """Settings from flags and env; raises BrokerError with a fix when they cannot work."""
    return BrokerSettings.from_env(
        os.environ,
        bootstrap_servers=args.bootstrap_server,
        security_protocol=args.security_protocol,
        sasl_mechanism=args.sasl_mechanism,
        sasl_username=args.sasl_username,
        sasl_password=args.sasl_password,
        ssl_ca_location=args.tls_ca,
        timeout_s=args.broker_timeout,
    )
