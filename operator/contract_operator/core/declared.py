"""What a set of contracts declares: the topic names they publish or subscribe to, and the
config keys they set. One helper for the CLI and the operator alike (both describe exactly
these topics, with exactly these keys)."""

from __future__ import annotations

from collections.abc import Iterable

from ..model.contract import Contract


def names_of(contract: Contract) -> set[str]:
    """The topics one contract publishes or subscribes to."""
    return {t.name for t in contract.published} | set(contract.subscribed)


def declared_names(contracts: Iterable[Contract]) -> set[str]:
    """The topics any of `contracts` publishes or subscribes to."""
    out: set[str] = set()
    for c in contracts:
        out.update(t.name for t in c.published)
        out.update(c.subscribed)
    return out


def declared_keys(contracts: Iterable[Contract]) -> set[str]:
    """The config keys any published topic of `contracts` sets."""
    return {k for c in contracts for t in c.published for k in t.config}
