"""Operator settings: flags override environment variables (the Helm chart sets the latter)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..core.planner import PlanOptions
from ..core.selectors import SelectorError, parse_selector

ENV_NAMESPACES = "CONTRACT_OPERATOR_NAMESPACES"
ENV_RESYNC = "CONTRACT_OPERATOR_RESYNC_SECONDS"
ENV_PATTERN = "CONTRACT_OPERATOR_TOPIC_PATTERN"
ENV_KINDS = "CONTRACT_OPERATOR_TOPIC_KINDS"
ENV_LOG_LEVEL = "CONTRACT_OPERATOR_LOG_LEVEL"
ENV_METRICS_PORT = "CONTRACT_OPERATOR_METRICS_PORT"
ENV_HEALTH_PORT = "CONTRACT_OPERATOR_HEALTH_PORT"
ENV_PEERING = "CONTRACT_OPERATOR_PEERING"
ENV_PEERING_LIFETIME = "CONTRACT_OPERATOR_PEERING_LIFETIME_SECONDS"
ENV_STALL = "CONTRACT_OPERATOR_STALL_SECONDS"
ENV_BROKER_GRACE = "CONTRACT_OPERATOR_BROKER_GRACE_SECONDS"
ENV_SELECTOR = "CONTRACT_OPERATOR_SELECTOR"


class SettingsError(ValueError):
    """A setting that cannot work; the message names the flag and the variable."""


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    # A label selector (kubectl -l syntax): only matching contracts are this instance's (one
    # instance per Kafka cluster); empty: every contract.
    selector: str = ""
    resync_seconds: float = 60.0  # periodic re-validation, also without any CR change
    batch_window_seconds: float = 0.2  # coalesce a burst of watch events into one cycle
    retry_seconds: float = 5.0  # next attempt after the broker could not be reached
    plan_options: PlanOptions = field(default_factory=PlanOptions)
    metrics_port: int = 9090  # 0 disables the /metrics endpoint
    health_port: int = 8080  # 0 disables kopf's /healthz endpoint
    peering: str | None = None  # kopf peering name; None runs standalone
    # How long a replica's peering keep-alive counts (kopf renews it 5-10 s before expiry): a
    # SIGKILLed active replica is replaced after at most this long. kopf's default is 60 s.
    peering_lifetime_seconds: int = 15
    log_level: str = "INFO"
    # Liveness fails when no cycle has finished for this long; None: 3 resyncs, at least 60 s.
    stall_seconds: float | None = None
    # A broker outage shorter than this rewrites no status (no storm of flips on a flap).
    broker_grace_seconds: float = 30.0
    # Concurrent status writes and Event posts; the apiserver client's pool is sized to both.
    status_writers: int = 8
    event_posters: int = 4

    def __post_init__(self) -> None:
        try:
            parse_selector(self.selector)
        except SelectorError as exc:
            raise SettingsError(f"--selector ({ENV_SELECTOR}): {exc}") from None
        # float() takes "nan" and "inf": neither is a duration a timer or a grace can use.
        for what, value, flag, env in (
            ("resync interval", self.resync_seconds, "--resync-seconds", ENV_RESYNC),
            ("stall limit", self.stall_seconds, "--stall-seconds", ENV_STALL),
            ("broker grace", self.broker_grace_seconds, "--broker-grace-seconds", ENV_BROKER_GRACE),
        ):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise SettingsError(
                    f"{what} {value:g} s is not a duration: use a finite number of seconds, "
                    f"0 or more ({flag}, {env})"
                )
        if self.stall_seconds is None:
            object.__setattr__(self, "stall_seconds", max(3 * self.resync_seconds, 60.0))
        # 0 would turn the resync timer into a busy loop against the broker and the apiserver.
        if self.resync_seconds < 1:
            raise SettingsError(
                f"resync interval {self.resync_seconds:g} s is too short: use at least 1 second "
                f"(--resync-seconds, {ENV_RESYNC})"
            )
        if (self.stall_seconds or 0) <= self.resync_seconds:
            raise SettingsError(
                f"stall limit {self.stall_seconds:g} s must be longer than the resync interval "
                f"{self.resync_seconds:g} s, or liveness would fail between cycles ({ENV_STALL})"
            )
        # Under 5 s kopf's keep-alive (every second then) leaves no margin for a slow PATCH.
        if self.peering_lifetime_seconds < 5:
            raise SettingsError(
                f"peering lifetime {self.peering_lifetime_seconds} s is too short: use at least "
                f"5 seconds (--peering-lifetime-seconds, {ENV_PEERING_LIFETIME})"
            )
        for what, port, env in (
            ("metrics", self.metrics_port, ENV_METRICS_PORT),
            ("health", self.health_port, ENV_HEALTH_PORT),
        ):
            if not 0 <= port <= 65535:
                raise SettingsError(f"{what} port {port} is out of range 0-65535 ({env})")


def env_namespaces(env: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    return tuple(n.strip() for n in env.get(ENV_NAMESPACES, "").split(",") if n.strip())


def env_number(name: str, default: float, env: Mapping[str, str] = os.environ) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value
