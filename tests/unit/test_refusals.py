"""The refusal book (core/refusals.py): when a refused create may be sent again. Pure: the clock
is an argument."""

from __future__ import annotations

from contract_operator.core.refusals import (
    PERMANENT_RETRY_SECONDS,
    TRANSIENT_RETRY_CAP_SECONDS,
    RefusalBook,
)
from contract_operator.core.snapshot import CreateResult, TopicRequest

T = TopicRequest("t", 1, 1, {"retention.ms": "1000"})
TIMED_OUT = CreateResult(failed={"t": "REQUEST_TIMED_OUT"})
POLICY = CreateResult(failed={"t": "POLICY_VIOLATION: no"}, permanent=frozenset({"t"}))


def test_a_permanent_refusal_waits_an_hour_unless_the_declaration_changes() -> None:
    book = RefusalBook(retry_seconds=5)
    (new,) = book.record([T], POLICY, clock=0)
    assert new.permanent and new.delay == PERMANENT_RETRY_SECONDS
    send, held = book.split([T], clock=PERMANENT_RETRY_SECONDS - 1)
    assert send == [] and held == {"t": "POLICY_VIOLATION: no"}
    assert (
        "not re-sent until the declaration changes"
        in book.with_held(CreateResult(), held).failed["t"]
    )
    changed = TopicRequest("t", 1, 1, {"retention.ms": "2000"})
    assert book.split([changed], clock=1) == ([changed], {})
    assert book.split([T], clock=PERMANENT_RETRY_SECONDS)[0] == [T]


def test_a_transient_refusal_backs_off_doubling_up_to_the_cap() -> None:
    book = RefusalBook(retry_seconds=5)
    delays = []
    for attempt in range(10):
        (new,) = book.record([T], TIMED_OUT, clock=attempt * 1000.0) or [None]
        refusal = book.get("t")
        assert refusal is not None
        delays.append(refusal.retry_at - attempt * 1000.0)
        assert (new is not None) == (attempt == 0)  # logged once, while the message is the same
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == TRANSIENT_RETRY_CAP_SECONDS == delays[-1]


def test_a_created_topic_leaves_the_book_and_a_new_message_is_logged_again() -> None:
    book = RefusalBook(retry_seconds=5)
    book.record([T], TIMED_OUT, clock=0)
    (again,) = book.record([T], CreateResult(failed={"t": "NOT_CONTROLLER"}), clock=10)
    assert again.message == "NOT_CONTROLLER"
    book.record([T], CreateResult(created=frozenset({"t"})), clock=20)
    assert book.get("t") is None and book.split([T], clock=20) == ([T], {})
