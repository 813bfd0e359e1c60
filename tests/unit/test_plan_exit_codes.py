"""`contract-operator plan` exit codes, through main() with an in-memory broker.

CI branches on them: 0 in sync, 1 errors, 2 topics to create, 3 drift, 4 unsafe drift; when
several apply the first of 1, 4, 2, 3 wins. The broker is tests/unit/fakes.FakeAdmin in place
of confluent-kafka's AdminClient, so the whole command runs (load, describe, plan, render).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from contract_operator.adapters import broker as broker_module
from contract_operator.cli.main import main

from .fakes import ALLOWED_CALLS, FakeAdmin, FakeTopic, manifest

CUT = "onex.evt.router.routing-complete.v1"  # declared 7 days, the broker keeps 1 hour
WIDER = "onex.evt.router.route-failed.v1"  # declared 6 partitions, the broker has 3
NEW = "onex.evt.router.route-requested.v1"  # not on the broker
WEEK, HOUR = "604800000", "3600000"


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> FakeAdmin:
    fake = FakeAdmin()
    monkeypatch.setattr(broker_module, "AdminClient", lambda conf: fake)
    return fake


def _plan(tmp_path: Path, publish: list[Any], subscribe: list[str] = ()) -> int:  # type: ignore[assignment]
    path = tmp_path / "router.yaml"
    path.write_text(yaml.safe_dump(manifest("router", publish=publish, subscribe=list(subscribe))))
    return main(["plan", str(path), "--bootstrap-server", "127.0.0.1:9"])


def _cut() -> dict[str, Any]:
    return {"name": CUT, "config": {"retention.ms": WEEK}}


def _wider() -> dict[str, Any]:
    return {"name": WIDER, "partitions": 6}


@pytest.fixture
def drifted(admin: FakeAdmin) -> FakeAdmin:
    admin.topics[CUT] = FakeTopic(3, 3, {"retention.ms": HOUR})
    admin.topics[WIDER] = FakeTopic(3, 3)
    return admin


def test_in_sync_exits_0(admin: FakeAdmin, tmp_path: Path) -> None:
    admin.topics[CUT] = FakeTopic(3, 3, {"retention.ms": WEEK})
    assert _plan(tmp_path, [_cut()]) == 0


def test_topics_to_create_exit_2(admin: FakeAdmin, tmp_path: Path) -> None:
    assert _plan(tmp_path, [NEW]) == 2


def test_drift_exits_3(drifted: FakeAdmin, tmp_path: Path) -> None:
    assert _plan(tmp_path, [_wider()]) == 3


def test_unsafe_drift_exits_4(drifted: FakeAdmin, tmp_path: Path) -> None:
    assert _plan(tmp_path, [_cut()]) == 4


def test_unsafe_drift_outranks_drift_and_topics_to_create(
    drifted: FakeAdmin, tmp_path: Path
) -> None:
    assert _plan(tmp_path, [_wider(), NEW, _cut()]) == 4


def test_topics_to_create_outrank_drift(drifted: FakeAdmin, tmp_path: Path) -> None:
    assert _plan(tmp_path, [_wider(), NEW]) == 2


def test_errors_outrank_everything(drifted: FakeAdmin, tmp_path: Path) -> None:
    # A subscription nobody publishes is a broken wire: an error.
    code = _plan(tmp_path, [_cut(), _wider(), NEW], subscribe=["onex.evt.nobody.nothing.v1"])
    assert code == 1


def test_an_unreachable_broker_exits_1(
    admin: FakeAdmin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.down = True
    assert _plan(tmp_path, [NEW]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_plan_only_reads(drifted: FakeAdmin, tmp_path: Path) -> None:
    _plan(tmp_path, [_wider(), NEW, _cut()])
    assert drifted.called() <= ALLOWED_CALLS - {"create_topics"}, drifted.calls
    assert NEW not in drifted.topics
