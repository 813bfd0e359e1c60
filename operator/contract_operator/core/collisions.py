"""Kafka's "." / "_" collision rule: two topic names that differ only there cannot coexist.

Kafka maps both characters to "_" in metric names, so it refuses to create `a.b_c` once `a_b.c`
exists (TOPIC_EXCEPTION "collides with existing topic"). Under the built-in naming pattern
"_" is not allowed, so this only bites custom patterns; it is checked whatever the pattern, so
`validate` and admission say it before the broker refuses the create.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from contract_operator.model.problems import Problem, Severity

if TYPE_CHECKING:
    from contract_operator.model.contract import Contract


def collision_key(name: str) -> str:
    return name.replace(".", "_")


# Spellings tried per name by `colliding_names` (2 per '.' or '_'); beyond, nothing is tried.
MAX_VARIANTS = 4096


def colliding_names(name: str, exists: Callable[[str], bool]) -> list[str]:
    """The other names that `exists` knows and that collide with `name`, found by trying each
    '.'/'_' spelling of it: a handful of look-ups (16 for a built-in-pattern name) instead of
    a pass over every known name, for the admission webhook's one incoming contract."""
    slots = [i for i, c in enumerate(name) if c in "._"]
    if not slots or 2 ** len(slots) > MAX_VARIANTS:
        return []
    found = []
    chars = list(name)
    for mask in range(2 ** len(slots)):
        for bit, i in enumerate(slots):
            chars[i] = "_" if mask >> bit & 1 else "."
        variant = "".join(chars)
        if variant != name and exists(variant):
            found.append(variant)
    return sorted(found)


def collision_problem(contract: Contract, index: int, name: str, other: str, where: str) -> Problem:
    return Problem(
        Severity.ERROR,
        "topic-collision",
        f"{contract.key} publishes {name}, which collides with {other} ({where}): "
        "Kafka treats '.' and '_' alike in topic names and refuses the second one",
        f"Rename {name} so it differs from {other} in more than '.' vs '_'.",
        source=contract.source,
        contract=contract.key,
        topic=name,
        field=contract.field_path("publish", index),
    )


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
            out.setdefault(c.key, []).append(collision_problem(c, index, t.name, others[0], where))
    return out
