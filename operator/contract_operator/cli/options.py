"""Where each setting comes from, for every command: one table of options (flag, environment
variable, rules-file key), one precedence rule (flag, then environment, then file, then the
default), and one place that turns a bad value into a one-line error naming where it was
written.

The settings themselves are typed models (pydantic dataclasses, e.g. controller/settings.py):
they parse "15" into 15.0 and refuse "nan", "inf", "-5" or "9090.7" for a port. This module only
says which string came from where, so the error can say `CONTRACT_OPERATOR_METRICS_PORT='inf'`
rather than a field name the user never wrote.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from contract_operator.controller.settings import SettingsError

log = logging.getLogger("contract_operator")

T = TypeVar("T")
DEFAULT = "default"


@dataclass(frozen=True)
class Option:
    """One setting as a user can write it."""

    field: str  # the settings model's field
    flag: str | None = None  # e.g. "--metrics-port"; None: environment (or file) only
    env: str | None = None  # e.g. "CONTRACT_OPERATOR_METRICS_PORT"
    help: str = ""
    metavar: str | None = None
    # What a valid value looks like, said when one is refused: "a whole number 0-65535".
    expects: str = ""
    choices: tuple[str, ...] | None = None
    short: str | None = None  # e.g. "-n"
    repeat: bool = False  # a repeatable flag; its environment variable is comma-separated
    file_key: str | None = None  # its key in the rules file, if it has one
    add_flag: bool = True  # False: the flag is declared by hand (e.g. store_const flags)
    dest: str | None = None  # argparse's attribute; default: the field name

    @property
    def attr(self) -> str:
        return self.dest or self.field

    def where(self, origin: str) -> str:
        """How the user wrote it: the flag, the variable or the file key."""
        if origin == "flag":
            return self.flag or self.field
        if origin == "env":
            return self.env or self.field
        if origin.startswith("file "):
            return f"{self.file_key} in the rules {origin}"
        return self.flag or self.env or self.field

    def names(self) -> str:
        """Every way to set it, for an error about a value that came from the default."""
        return ", ".join(n for n in (self.flag, self.env) if n) or self.field


def add_options(group: Any, options: Sequence[Option]) -> None:
    """Declare each option's flag. Values stay strings: the model parses them, so a flag and
    its environment variable are refused with the same words."""
    for o in options:
        if o.flag is None or not o.add_flag:
            continue
        help_text = o.help
        if o.env:  # "(default 60)" becomes "(default 60; env X)"
            env = f"env {o.env}"
            help_text = (
                f"{help_text[:-1]}; {env})" if help_text.endswith(")") else f"{help_text} ({env})"
            ).strip()
        names = [n for n in (o.short, o.flag) if n]
        group.add_argument(
            *names,
            dest=o.attr,
            metavar=o.metavar,
            choices=o.choices,
            action="append" if o.repeat else "store",
            help=help_text,
        )


@dataclass(frozen=True)
class Gathered:
    """The values written (by field) and where each came from: flag, env or "file PATH"."""

    values: dict[str, Any]
    origins: dict[str, str]

    def origin(self, field: str) -> str:
        return self.origins.get(field, DEFAULT)


def gather(
    options: Sequence[Option],
    args: argparse.Namespace | None,
    env: Mapping[str, str],
    file: Mapping[str, Any] | None = None,
    file_name: str = "",
) -> Gathered:
    """Flag, then environment, then file: the first that is set wins. An empty environment
    variable counts as unset (the chart sets them empty by default)."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for o in options:
        flag_value = getattr(args, o.attr, None) if args is not None else None
        raw = (env.get(o.env) or "").strip() if o.env else ""
        if flag_value is not None:
            values[o.field], origins[o.field] = flag_value, "flag"
        elif raw:
            values[o.field] = _split(raw) if o.repeat else raw
            origins[o.field] = "env"
        elif file is not None and o.file_key is not None and o.file_key in file:
            values[o.field], origins[o.field] = file[o.file_key], f"file {file_name}"
    return Gathered(values, origins)


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def build(
    model: Callable[..., T],
    options: Sequence[Option],
    gathered: Gathered,
    **fixed: Any,
) -> T:
    """The settings model from what was gathered (plus `fixed` values no user writes); a bad
    value raises SettingsError naming the flag or variable it was written in."""
    try:
        return model(**gathered.values, **fixed)
    except ValidationError as exc:
        raise SettingsError(explain(exc, options, gathered)) from None


def explain(exc: ValidationError, options: Sequence[Option], gathered: Gathered) -> str:
    """One line for the first refused value (a user fixes one thing at a time anyway)."""
    by_field = {o.field: o for o in options}
    error = exc.errors(include_url=False)[0]
    loc = [part for part in error["loc"] if isinstance(part, str)]
    option = by_field.get(loc[0]) if loc else None
    reason = _reason(error)
    if option is None:  # a rule across fields: its message names the flags itself
        return reason
    origin = gathered.origin(option.field)
    expects = f"; use {option.expects}" if option.expects else ""
    if origin == DEFAULT:
        return f"{option.names()}: {reason}{expects}"
    value = gathered.values.get(option.field)
    shown = ",".join(value) if isinstance(value, list | tuple) else value
    also = option.env if origin == "flag" else option.flag
    other = f" (also settable as {also})" if also else ""
    return f"{option.where(origin)}={shown!r}: {reason}{expects}{other}"


# pydantic's error types, in the words of a setting (the option's `expects` says the fix).
_REASONS = {
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "int_type": "not a whole number",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "finite_number": "not a finite number",
    "greater_than_equal": "too small",
    "greater_than": "too small",
    "less_than_equal": "too large",
    "less_than": "too large",
    "literal_error": "not one of the choices",
    "string_type": "not text",
}


def _reason(error: Mapping[str, Any]) -> str:
    if error.get("type") in _REASONS:
        return _REASONS[error["type"]]
    message = str(error.get("msg", "invalid value"))
    # pydantic says "Value error, <ours>" for the model's own checks: keep ours only.
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


# Kubernetes adds <SERVICE>_SERVICE_HOST, <SERVICE>_PORT_<N>_TCP... for every Service in the
# namespace: a Service named contract-operator yields CONTRACT_OPERATOR_PORT=tcp://... .
# Only names of that shape are left alone, and a bare *_PORT only with a URL value: a misspelt
# CONTRACT_OPERATOR_METRIC_PORT=9091 is warned about.
_SERVICE_LINK = re.compile(r"_(SERVICE_HOST|SERVICE_PORT\w*|PORT_\d+_(TCP|UDP|SCTP)\w*)$")
_SERVICE_URL = re.compile(r"^(tcp|udp|sctp)://")


def _service_link(name: str, value: str) -> bool:
    if _SERVICE_LINK.search(name):
        return True
    return name.endswith("_PORT") and bool(_SERVICE_URL.match(value))


def unknown_variables(prefix: str, known: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """A warning line for each `prefix*` variable no option reads (a typo is otherwise
    silently ignored, and the default applies), with the closest known name."""
    out = []
    for name in sorted(env):
        if not name.startswith(prefix) or name in known or _service_link(name, env[name]):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        out.append(f"{name} is not a setting of contract-operator and is ignored{hint}")
    return out
