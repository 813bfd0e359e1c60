"""Kubernetes label selectors (`kubectl -l` syntax): parse once, match labels, and write the
same selector as the LabelSelector object a webhook configuration's objectSelector takes.

    team=payments,tier!=test      equality
    env in (prod, staging)        set membership;  env notin (dev)
    owner / !owner                key present / absent
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A label key: an optional DNS-subdomain prefix and a name of up to 63 characters.
_KEY = r"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
_SET = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)$")
_EQ = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})$")
_EXISTS = re.compile(rf"^(?P<not>!?)\s*(?P<key>{_KEY})$")


class SelectorError(ValueError):
    """A selector that cannot be parsed; the message quotes the part and the syntax."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values  # NotIn: absent keys match too


@dataclass(frozen=True)
class Selector:
    text: str
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def label_selector(self) -> dict[str, Any]:
        """The same selector as a Kubernetes LabelSelector (matchLabels + matchExpressions)."""
        match_labels = {
            r.key: r.values[0]
            for r in self.requirements
            if r.operator == "In" and len(r.values) == 1
        }
        expressions = [
            {
                "key": r.key,
                "operator": r.operator,
                **({"values": list(r.values)} if r.values else {}),
            }
            for r in self.requirements
            if not (r.operator == "In" and len(r.values) == 1)
        ]
        out: dict[str, Any] = {}
        if match_labels:
            out["matchLabels"] = match_labels
        if expressions:
            out["matchExpressions"] = expressions
        return out


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_selector(text: str) -> Selector:
    """Parse `kubectl -l` syntax; an empty selector matches everything."""
    if not text.strip():
        return Selector(text)
    requirements = []
    for part in _split(text):
        if m := _SET.match(part):
            values = tuple(v.strip() for v in m["values"].split(",") if v.strip())
            if not values:
                raise SelectorError(f"{part!r}: '{m['op']}' needs at least one value")
            operator = "In" if m["op"] == "in" else "NotIn"
            requirements.append(Requirement(m["key"], operator, values))
        elif m := _EQ.match(part):
            operator = "NotIn" if m["op"] == "!=" else "In"
            requirements.append(Requirement(m["key"], operator, (m["value"],)))
        elif m := _EXISTS.match(part):
            operator = "DoesNotExist" if m["not"] else "Exists"
            requirements.append(Requirement(m["key"], operator))
        else:
            raise SelectorError(
                f"{part!r} is not a label selector requirement: use key=value, key!=value, "
                "key in (a,b), key notin (a,b), key or !key, joined by commas"
            )
    return Selector(text, tuple(requirements))
