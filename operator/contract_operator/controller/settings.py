"""The operator's settings: one typed model. Flags, environment variables (the Helm chart sets
those) and their precedence are cli/options.py's job; this model refuses what cannot work."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, InstanceOf
from pydantic.dataclasses import dataclass

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
ENV_RULES_FILE = "CONTRACT_OPERATOR_RULES_FILE"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """A setting that cannot work; the message names the flag or the variable."""


# float() takes "nan" and "inf": neither is a duration a timer or a grace can use.
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
# 0 disables the endpoint; int() of "9090.7" or "inf" is refused, not rounded.
Port = Annotated[int, Field(ge=0, le=65535)]


def _selector(text: str) -> str:
    try:
        parse_selector(text)
    except SelectorError as exc:
        raise ValueError(str(exc)) from None
    return text


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _none_if_empty(value: Any) -> Any:
    return None if value == "" else value


def _none_if_zero(value: Any) -> Any:
    """0 (or "0") means "work it out": 3 resyncs, at least 60 s."""
    try:
        return None if value is not None and float(value) == 0 else value
    except (TypeError, ValueError):
        return value  # the model says what is wrong with it


# Strict about what a user can write (no unknown field, no silent coercion of 9090.7 to 9090),
# and frozen: one reconciler and its helpers share the one object.
@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class OperatorSettings:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    # A label selector (kubectl -l syntax): only matching contracts are this instance's (one
    # instance per Kafka cluster); empty: every contract.
    selector: Annotated[str, AfterValidator(_selector)] = ""
    # Periodic re-validation, also without any CR change; under 1 s the timer would be a busy
    # loop against the broker and the apiserver.
    resync_seconds: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 60.0
    batch_window_seconds: Seconds = 0.2  # coalesce a burst of watch events into one cycle
    retry_seconds: Seconds = 5.0  # next attempt after the broker could not be reached
    plan_options: InstanceOf[PlanOptions] = Field(default_factory=PlanOptions)
    metrics_port: Port = 9090  # 0 disables the /metrics endpoint
    health_port: Port = 8080  # 0 disables the /healthz and /readyz endpoints
    # kopf peering name; None runs standalone.
    peering: Annotated[str | None, BeforeValidator(_none_if_empty)] = None
    # How long a replica's peering keep-alive counts (kopf renews it 5-10 s before expiry): a
    # SIGKILLed active replica is replaced after at most this long. kopf's default is 60 s;
    # under 5 s its keep-alive (every second then) leaves no margin for a slow PATCH.
    peering_lifetime_seconds: Annotated[int, Field(ge=5)] = 15
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = (
        "INFO"
    )
    # Liveness fails when no cycle has finished for this long; None: 3 resyncs, at least 60 s.
    stall_seconds: Annotated[Seconds | None, BeforeValidator(_none_if_zero)] = None
    # A broker outage shorter than this rewrites no status (no storm of flips on a flap).
    broker_grace_seconds: Seconds = 30.0
    # Concurrent status writes and Event posts; the apiserver client's pool is sized to both.
    status_writers: Annotated[int, Field(ge=1)] = 8
    event_posters: Annotated[int, Field(ge=1)] = 4

    def __post_init__(self) -> None:
        if self.stall_seconds is None:
            object.__setattr__(self, "stall_seconds", max(3 * self.resync_seconds, 60.0))
        if (self.stall_seconds or 0) <= self.resync_seconds:
            raise SettingsError(
                f"stall limit {self.stall_seconds:g} s must be longer than the resync interval "
                f"{self.resync_seconds:g} s, or liveness would fail between cycles "
                f"(--stall-seconds, {ENV_STALL})"
            )
