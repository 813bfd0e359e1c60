"""The naming rules as a ValidatingAdmissionPolicy's parameters: the same rules, in CEL's terms.

The chart's ValidatingAdmissionPolicy (templates/admission-policy.yaml) enforces the rules that
need no other object (pattern, kinds, producer segment) inside the apiserver, fail-closed, so
they hold while the operator is down or being upgraded. CEL has regex matching but no capture
groups, so the checks that Python makes on the `kind` and `producer` groups are expressed as
whole-name patterns derived here from the one rule set:

- `kindPattern`: the pattern with the kind group narrowed to the allowed kinds;
- `producerTemplate`: the pattern with the producer group replaced by `__NODE__`, which the
  policy replaces with `spec.node` (a DNS label: no regex metacharacters but a literal "-").

tests/integration/test_admission_policy.py feeds the same names to the policy on the real
apiserver and to core/naming.py, and fails when they disagree.
"""

from __future__ import annotations

from .naming import NamingRules

NODE_PLACEHOLDER = "__NODE__"


def _group_span(pattern: str, name: str) -> tuple[int, int] | None:
    """Start and end (exclusive) of the named group `(?P<name>...)` in the pattern text."""
    opening = f"(?P<{name}>"
    start = pattern.find(opening)
    if start < 0:
        return None
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":  # "[]...]": a literal "]" first
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return start, i + 1
        i += 1
    return None


def _with_group(pattern: str, name: str, body: str) -> str:
    span = _group_span(pattern, name)
    if span is None:
        return pattern
    start, end = span
    return f"{pattern[:start]}(?P<{name}>{body}){pattern[end:]}"


def _literal(text: str) -> str:
    """A kind as a regex literal (kinds are words, but nothing here relies on it)."""
    return "".join(f"\\{c}" if not c.isalnum() and c not in "_-" else c for c in text)


def policy_params(rules: NamingRules) -> dict[str, str]:
    """The data of the policy's parameter ConfigMap for these rules."""
    kinds = "|".join(_literal(k) for k in sorted(rules.kinds))
    params = {
        "pattern": rules.pattern,
        "kindPattern": _with_group(rules.pattern, "kind", kinds) if rules.kinds else rules.pattern,
        "producerTemplate": (
            _with_group(rules.pattern, "producer", NODE_PLACEHOLDER)
            if rules.enforce_producer
            else rules.pattern
        ),
        "kinds": ", ".join(sorted(rules.kinds)),
        "describe": rules.describe(),
        "enforceProducer": "true" if rules.enforce_producer else "false",
    }
    return params
