"""The exit status order CI gates on: 1, 4, 2, 3, 5, then 0 (one function for plan and report)."""

from __future__ import annotations

import itertools

import pytest

from contract_operator.core.exit_status import exit_status

FLAGS = ("errors", "unsafe_drift", "missing", "drift", "unowned")
ORDER = {"errors": 1, "unsafe_drift": 4, "missing": 2, "drift": 3, "unowned": 5}


@pytest.mark.parametrize("found", list(itertools.product((False, True), repeat=len(FLAGS))))
def test_the_first_finding_in_the_documented_order_wins(found: tuple[bool, ...]) -> None:
    given = dict(zip(FLAGS, found, strict=True))
    first = next((ORDER[f] for f in FLAGS if given[f]), 0)
    assert exit_status(**given) == first


def test_drift_alone_does_not_exit_zero() -> None:
    assert exit_status(errors=False, drift=True) == 3
    assert exit_status(errors=False) == 0
