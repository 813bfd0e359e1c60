"""Every rule over a set of contracts in one call: naming and settings per contract, then wiring
across them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from contract_operator.core.collisions import check_collisions
from contract_operator.core.naming import NamingRules, check_contract
from contract_operator.core.topic_settings import check_settings
from contract_operator.core.wiring import WiringReport, check_wiring
from contract_operator.model.contract import PAUSED_ANNOTATION
from contract_operator.model.problems import Problem, Severity

if TYPE_CHECKING:
    from contract_operator.model.contract import Contract


def check_contracts(
    contracts: Sequence[Contract],
    rules: NamingRules | None = None,
    known_topics: Collection[str] = (),
) -> list[Problem]:
    """Naming problems, then wiring problems. A malformed subscription that is also a broken wire
    with a suggestion is reported once, as the broken wire: "did you mean X" is the better fix."""
    rules = rules or NamingRules()
    collide = check_collisions(contracts, known_topics)
    naming = [p for c in contracts for p in (*per_contract(c, rules), *collide.get(c.key, ()))]
    wiring = check_wiring(contracts, known_topics, disqualified(contracts, naming))
    return merge_problems(naming, wiring)


def per_contract(
    contract: Contract, rules: NamingRules, default_replication: int | None = None
) -> list[Problem]:
    """The rules that need only the contract itself (and, when the broker has been read, the
    cluster's default replication factor): naming, topic settings, then the annotations."""
    problems = check_contract(contract, rules) + check_settings(contract, default_replication)
    if contract.pause_unclear is not None:
        problems.append(pause_unclear(contract))
    return problems


def pause_unclear(contract: Contract) -> Problem:
    """The pause annotation with a value other than "true"/"false": paused, and said so."""
    return Problem(
        Severity.WARNING,
        "pause-annotation-unclear",
        f'{contract.key} has {PAUSED_ANNOTATION}: "{contract.pause_unclear}", which is neither '
        '"true" nor "false": it is treated as paused, so nothing is created for it',
        f'Write {PAUSED_ANNOTATION}: "true" to keep it paused, or remove the annotation (or '
        'write "false") to resume.',
        source=contract.source,
        contract=contract.key,
        field=f"metadata.annotations[{PAUSED_ANNOTATION!r}]",
    )


# How a disqualified declaration is described to the subscribers it leaves without a topic.
_WHY = {
    "foreign-producer": "declares it under another node's producer segment",
    "name-pattern": "declares it under a name that breaks the naming pattern",
    "unknown-kind": "declares it with a kind the naming rules do not allow",
    "config-not-numeric": "declares it with a config value that can never apply",
    "topic-collision": "declares a name that collides with another in '.' vs '_'",
}


def disqualified(
    contracts: Sequence[Contract], problems: Iterable[Problem]
) -> dict[tuple[str, str], str]:
    """(contract key, topic) -> why that publish declaration may never own the topic: any error
    the naming or settings rules found on it."""
    published = {(c.key, t.name) for c in contracts for t in c.published}
    out: dict[tuple[str, str], str] = {}
    for p in problems:
        if p.severity is not Severity.ERROR or p.contract is None or p.topic is None:
            continue
        key = (p.contract, p.topic)
        if key in published and not _is_subscription(p):
            out.setdefault(key, _WHY.get(p.code, f"declares it against the rules ({p.code})"))
    return out


def merge_problems(naming: Sequence[Problem], report: WiringReport) -> list[Problem]:
    """Naming problems then wiring problems, each finding once (see check_contracts)."""
    wiring = report.problems()
    suggested = {
        (p.contract, p.topic)
        for p in wiring
        if p.code == "broken-wire" and "Did you mean" in p.message
    }
    kept = [
        p
        for p in naming
        if not (
            p.code == "name-pattern" and _is_subscription(p) and (p.contract, p.topic) in suggested
        )
    ]
    return kept + wiring


def _is_subscription(problem: Problem) -> bool:
    field = problem.field or ""
    return "subscribeTopics" in field or "subscribe_topics" in field
