"""Every rule over a set of contracts in one call: naming per contract, then wiring across them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from contract_operator.core.naming import NamingRules, check_contract
from contract_operator.core.problems import Problem
from contract_operator.core.wiring import WiringReport, check_wiring

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
    naming = [p for c in contracts for p in check_contract(c, rules)]
    return merge_problems(naming, check_wiring(contracts, known_topics))


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
