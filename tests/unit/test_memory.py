"""The cycle collector is paused while a bulk step runs and resumes after the last one."""

from __future__ import annotations

import gc
import threading

import pytest

from contract_operator.controller.memory import without_gc


def test_collection_resumes_after_the_last_paused_step_even_on_error() -> None:
    inside = threading.Event()
    release = threading.Event()

    def long_step() -> None:
        inside.set()
        release.wait(5)

    def failing_step() -> None:
        assert not gc.isenabled()
        raise RuntimeError("boom")

    worker = threading.Thread(target=without_gc(long_step))
    worker.start()
    inside.wait(5)
    assert not gc.isenabled()
    with pytest.raises(RuntimeError):
        without_gc(failing_step)()
    assert not gc.isenabled()  # the long step is still running
    release.set()
    worker.join(5)
    assert gc.isenabled()
