"""The one create step, for `provision` and the operator alike: create what the plan says is
missing, describe what was made (and what a racing creator made), and re-plan with both, so
the answer carries the actual partitions, replication factor and topic id of every created
topic — not a second answer one cycle later."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..core.snapshot import BrokerSnapshot, CreateResult, TopicRequest
from .broker import Broker, BrokerError

T = TypeVar("T")
log = logging.getLogger("contract_operator")


@dataclass(frozen=True)
class Provisioned(Generic[T]):
    outcome: CreateResult
    made: BrokerSnapshot  # what the broker holds of the created and already-existing topics
    snapshot: BrokerSnapshot  # the snapshot planned from, with `made` merged in
    result: T  # what `replan` returned


def provision(
    broker: Broker,
    requests: Sequence[TopicRequest],
    snapshot: BrokerSnapshot,
    replan: Callable[[BrokerSnapshot, CreateResult], T],
    *,
    create: Callable[[Sequence[TopicRequest]], CreateResult] | None = None,
    keys: Collection[str] | None = None,
) -> Provisioned[T]:
    """Create `requests` (with `create`, default the broker's create_missing), describe what was
    made, merge it into `snapshot` and call `replan(merged, outcome)`. Raises BrokerError."""
    outcome = (create or broker.create_missing)(requests)
    made = BrokerSnapshot()
    if outcome.created or outcome.already_existed:
        try:
            made = broker.after_create(outcome, keys)
        except BrokerError as exc:
            # Created all the same: the answer says so, and the next read has the values.
            log.warning("created, but not described yet: %s", exc)
    merged = snapshot.merged(made)
    return Provisioned(outcome, made, merged, replan(merged, outcome))
