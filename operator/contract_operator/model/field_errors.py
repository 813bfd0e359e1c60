"""Why a document is not a valid contract, one FieldError per bad field: the path as the author
wrote it (camelCase in a manifest, snake_case in a contract.yaml), a stable code, the message
and the fix. Built from pydantic's errors; capped so a document with thousands of bad entries
still reads."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contract_operator.model.limits import WHY

# A contract with thousands of bad entries should still produce a readable report.
MAX_ERRORS_PER_CONTRACT = 20

# Manifest (camelCase) field names and their contract.yaml (snake_case) spelling.
CAMEL_TO_SNAKE = {
    "eventBus": "event_bus",
    "publishTopics": "publish_topics",
    "subscribeTopics": "subscribe_topics",
    "replicationFactor": "replication_factor",
}


@dataclass(frozen=True)
class FieldError:
    """One reason a document is not a valid contract."""

    field: str  # e.g. spec.eventBus.publishTopics[2].partitions; "" for the whole document
    code: str
    message: str
    fix: str = ""


class ContractError(ValueError):
    """A document that is not a valid contract; `errors` name each bad field."""

    def __init__(self, source: str, errors: list[FieldError]) -> None:
        self.source = source
        self.errors = tuple(errors)
        super().__init__(f"{source}: " + "; ".join(f"{e.field}: {e.message}" for e in errors))


def snake_path(path: str) -> str:
    for camel, snake in CAMEL_TO_SNAKE.items():
        path = path.replace(camel, snake)
    return path


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part or not part:
            out += f"[{part!r}]"  # config keys such as retention.ms
        else:
            out += f".{part}" if out else part
    return out


_CODES = {
    "missing": "missing-field",
    "extra_forbidden": "unknown-field",
    "topic_name": "illegal-topic-name",
    "node_name": "invalid-node",
    "duplicate_topic": "duplicate-topic",
    "greater_than_equal": "out-of-range",
    "less_than_equal": "out-of-range",
    "too_long": "too-many-items",
    "string_too_long": "too-long",
    "literal_error": "wrong-kind",
    "config_value": "wrong-type",
    "config_key": "bad-config-key",
}

_KNOWN_FIELDS = sorted(
    {
        "node",
        "name",
        "partitions",
        "config",
        *CAMEL_TO_SNAKE,
        *CAMEL_TO_SNAKE.values(),
    }
)


def _fix(error: ErrorDetails, field: str) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        last = str(error["loc"][-1])
        close = difflib.get_close_matches(last, _KNOWN_FIELDS, n=1, cutoff=0.6)
        return f"Did you mean `{close[0]}`?" if close else f"Remove `{last}`."
    if kind == "missing":
        return f"Add `{field}`."
    if kind == "duplicate_topic":
        return "List each topic once."
    if kind == "too_long":
        return "Split the node, or raise the limit in the CRD and the model together."
    if kind == "string_too_long":
        return "Shorten the value."
    return ""


def _limit_reason(loc: tuple[int | str, ...]) -> str:
    """Why the limit a field broke exists, keyed by the field's model name."""
    names = [str(part) for part in loc if isinstance(part, str)]
    for name in reversed(names):
        key = CAMEL_TO_SNAKE.get(name, name)
        if key == "config" and names[-1] != "config":
            key = "config_value"  # the error is on one value, not on the whole mapping
        if key in WHY:
            return WHY[key]
    return ""


def field_errors(exc: ValidationError, shape: Literal["manifest", "file"]) -> list[FieldError]:
    errors = exc.errors(include_url=False)
    out: list[FieldError] = []
    for error in errors[:MAX_ERRORS_PER_CONTRACT]:
        field = _format_loc(error["loc"])
        if shape == "file":
            field = snake_path(field)
        code = _CODES.get(error["type"], "wrong-type" if error["type"].endswith("_type") else "")
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown field {str(error['loc'][-1])!r}"
        if code == "wrong-type":
            message += f", got {_short(error['input'])}"
        if code in ("out-of-range", "too-many-items", "too-long"):
            reason = _limit_reason(error["loc"])
            message += f", got {_short(error['input'])}" if code == "out-of-range" else ""
            message += f" ({reason})" if reason else ""
        out.append(FieldError(field, code or "invalid-field", message, _fix(error, field)))
    if len(errors) > MAX_ERRORS_PER_CONTRACT:
        hidden = len(errors) - MAX_ERRORS_PER_CONTRACT
        out.append(FieldError("", "too-many-errors", f"... and {hidden} more errors"))
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
