"""Kafka's "." / "_" collision rule: two topic names that differ only there cannot coexist.

Kafka maps both characters to "_" in metric names, so it refuses to create `a.b_c` once `a_b.c`
exists (TOPIC_EXCEPTION "collides with existing topic"). Under the built-in naming pattern
"_" is not allowed, so this only bites custom patterns; it is checked whatever the pattern, so
`validate` and admission say it before the broker refuses the create.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from contract_operator.model.problems import Problem, Severity

if TYPE_CHECKING:
    from contract_operator.model.contract import Contract


def collision_key(name: str) -> str:
    return name.replace(".", "_")


def check_collisions(
    contracts: Sequence[Contract], on_broker: Collection[str] = ()
) -> dict[str, list[Problem]]:
    """Errors by contract key: each published name that collides with another declared name
    or a topic on the broker. A name already on the broker is never the one at fault."""
    existing = set(on_broker)
    by_key: dict[str, set[str]] = {}
    for name in existing:
        if "." in name or "_" in name:
            by_key.setdefault(collision_key(name), set()).add(name)
    for c in contracts:
        for t in c.published:
            by_key.setdefault(collision_key(t.name), set()).add(t.name)
    out: dict[str, list[Problem]] = {}
    for c in contracts:
        for index, t in enumerate(c.published):
            others = sorted(by_key.get(collision_key(t.name), set()) - {t.name})
            if not others or t.name in existing:
                continue
            where = "on the broker" if others[0] in existing else "declared too"
            out.setdefault(c.key, []).append(
                Problem(
                    Severity.ERROR,
                    "topic-collision",
                    f"{c.key} publishes {t.name}, which collides with {others[0]} ({where}): "
                    "Kafka treats '.' and '_' alike in topic names and refuses the second one",
                    f"Rename {t.name} so it differs from {others[0]} in more than '.' vs '_'.",
                    source=c.source,
                    contract=c.key,
                    topic=t.name,
                    field=c.field_path("publish", index),
                )
            )
    return out
