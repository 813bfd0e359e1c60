"""The refusal book: topics the broker (or the client library) refused, and when each may be
sent again. Pure: the clock is passed in, and nothing here talks to a broker.

A refusal the same request will meet again (a policy, an invalid config) is re-sent only after
PERMANENT_RETRY_SECONDS, or at once when its declaration changes; a transient one backs off
from `retry_seconds`, doubling, up to TRANSIENT_RETRY_CAP_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .snapshot import CreateResult, TopicRequest

PERMANENT_RETRY_SECONDS = 3600.0
TRANSIENT_RETRY_CAP_SECONDS = 300.0


@dataclass(frozen=True)
class Refusal:
    """A topic the broker refused, and when to try it again."""

    request: TopicRequest
    message: str
    permanent: bool
    attempts: int
    retry_at: float


@dataclass(frozen=True)
class NewRefusal:
    """A refusal first met (or met with a new message): worth one log line."""

    name: str
    message: str
    permanent: bool
    delay: float


class RefusalBook:
    def __init__(self, retry_seconds: float) -> None:
        self.retry_seconds = retry_seconds
        self._refusals: dict[str, Refusal] = {}  # by topic name

    def get(self, name: str) -> Refusal | None:
        return self._refusals.get(name)

    def split(
        self, requests: Iterable[TopicRequest], clock: float
    ) -> tuple[list[TopicRequest], dict[str, str]]:
        """What to send now, and the held-back topics with the refusal they met."""
        send, held = [], {}
        for request in requests:
            refusal = self._refusals.get(request.name)
            if refusal and refusal.request == request and clock < refusal.retry_at:
                held[request.name] = refusal.message
            else:
                send.append(request)
        return send, held

    def delay(self, permanent: bool, attempts: int) -> float:
        if permanent:
            return PERMANENT_RETRY_SECONDS
        return min(self.retry_seconds * 2.0 ** (attempts - 1), TRANSIENT_RETRY_CAP_SECONDS)

    def record(
        self, sent: Sequence[TopicRequest], outcome: CreateResult, clock: float
    ) -> list[NewRefusal]:
        """Book the outcome of sending `sent`; return the refusals worth logging."""
        by_name = {r.name: r for r in sent}
        for name in outcome.created | outcome.already_existed:
            self._refusals.pop(name, None)
        news = []
        for name, message in outcome.failed.items():
            permanent = name in outcome.permanent
            before = self._refusals.get(name)
            same = before is not None and before.request == by_name[name]
            attempts = before.attempts + 1 if before is not None and same else 1
            delay = self.delay(permanent, attempts)
            if before is None or before.message != message:
                news.append(NewRefusal(name, message, permanent, delay))
            self._refusals[name] = Refusal(
                by_name[name], message, permanent, attempts, clock + delay
            )
        return news

    def with_held(self, outcome: CreateResult, held: dict[str, str]) -> CreateResult:
        """The outcome plus the held-back topics, reported as failed with their refusal, so
        their contracts keep saying why."""
        if not held:
            return outcome
        notes = {
            name: f"{message} (not re-sent until the declaration changes)"
            if self._refusals[name].permanent
            else f"{message} (retrying with back-off)"
            for name, message in held.items()
        }
        return CreateResult(
            outcome.created,
            outcome.already_existed,
            {**outcome.failed, **notes},
            outcome.permanent | {n for n in held if self._refusals[n].permanent},
        )
