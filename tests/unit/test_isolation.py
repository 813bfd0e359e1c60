"""Per-contract and per-topic isolation in the loop, and the probes, as pure logic.

The real-testbed versions are in tests/integration/test_faults.py; these pin the decisions
(what is held back, what is set aside, what liveness says) with fakes for the I/O shells.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from contract_operator.adapters.broker import Broker, BrokerSettings
from contract_operator.controller import reconciler as loop
from contract_operator.controller.health import Health
from contract_operator.controller.reconciler import Reconciler, Record, plan_isolated
from contract_operator.controller.settings import OperatorSettings
from contract_operator.core.planner import PlanOptions
from contract_operator.core.snapshot import CreateResult, TopicRequest

from .factories import broker, contract


class _Future:
    def __init__(self, error: KafkaError | None = None) -> None:
        self.error = error

    def result(self, timeout: float | None = None) -> None:
        if self.error is not None:
            raise KafkaException(self.error)


class FakeAdmin:
    """Refuses a whole request locally when any topic has partitions > 100000, as the client
    library does; answers the rest with per-topic results."""

    def __init__(self, refuse: dict[str, KafkaError] | None = None) -> None:
        self.requests: list[list[str]] = []
        self.refuse = refuse or {}

    def create_topics(self, topics: list[Any], **_: Any) -> dict[str, _Future]:
        self.requests.append([t.topic for t in topics])
        for t in topics:
            if t.num_partitions > 100_000:
                raise ValueError(
                    f"Invalid NewTopic({topics[0].topic}): num_partitions out of range"
                )
        return {t.topic: _Future(self.refuse.get(t.topic)) for t in topics}


def _broker(admin: FakeAdmin) -> Broker:
    return Broker(BrokerSettings("127.0.0.1:9"), admin=admin)


def test_a_topic_the_client_library_refuses_fails_alone_and_the_rest_are_sent() -> None:
    admin = FakeAdmin()
    requests = [TopicRequest(f"t{i}", 1, 1) for i in range(7)]
    requests.insert(3, TopicRequest("poison", 1_000_000_000, 1))
    outcome = _broker(admin).create_missing(requests)
    assert outcome.created == {f"t{i}" for i in range(7)}
    assert set(outcome.failed) == {"poison"} and outcome.permanent == {"poison"}
    assert len(admin.requests) <= 1 + 2 * 3  # halving: a few requests for one poisoned topic


def test_a_clean_batch_is_one_request() -> None:
    admin = FakeAdmin()
    _broker(admin).create_missing([TopicRequest(f"t{i}", 1, 1) for i in range(50)])
    assert len(admin.requests) == 1


def test_broker_refusals_are_sorted_into_permanent_and_transient() -> None:
    admin = FakeAdmin(
        {
            "bad-config": KafkaError(KafkaError.INVALID_CONFIG, "Unknown topic config"),
            "slow": KafkaError(KafkaError.REQUEST_TIMED_OUT, "timed out"),
        }
    )
    outcome = _broker(admin).create_missing(
        [TopicRequest(n, 1, 1) for n in ("ok", "bad-config", "slow")]
    )
    assert outcome.created == {"ok"}
    assert outcome.permanent == {"bad-config"}
    assert set(outcome.failed) == {"bad-config", "slow"}
    assert "INVALID_CONFIG" in outcome.failed["bad-config"]


def test_a_contract_the_planner_raises_on_is_set_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    from contract_operator.core import isolation

    real_plan = isolation.plan
    good = contract("good", publish=["onex.evt.good.done.v1"])
    bad = contract("bad", publish=["onex.evt.bad.done.v1"])

    def planner(contracts: Any, *args: Any, **kwargs: Any) -> Any:
        if any(c.key == bad.key for c in contracts):
            raise RuntimeError("boom")
        return real_plan(contracts, *args, **kwargs)

    monkeypatch.setattr(isolation, "plan", planner)
    result, failed = plan_isolated([good, bad], broker(), PlanOptions())
    assert set(failed) == {bad.key} and "boom" in failed[bad.key]
    assert [cp.contract.key for cp in result.contracts] == [good.key]
    assert [r.name for r in result.to_create] == ["onex.evt.good.done.v1"]


class _RecordingBroker:
    def __init__(self, outcomes: list[CreateResult]) -> None:
        self.outcomes = outcomes
        self.sent: list[list[str]] = []

    def create_missing(self, requests: list[TopicRequest]) -> CreateResult:
        self.sent.append([r.name for r in requests])
        return self.outcomes.pop(0)


def _reconciler(fake: Any) -> Reconciler:
    settings = OperatorSettings(retry_seconds=5)
    return Reconciler(settings, fake, kube=None, view=lambda: [])  # type: ignore[arg-type]


def test_a_permanent_refusal_is_not_resent_until_the_declaration_changes() -> None:
    refused = CreateResult(failed={"t": "INVALID_CONFIG: nope"}, permanent=frozenset({"t"}))
    fake = _RecordingBroker([refused, CreateResult(created=frozenset({"t"}))])
    rec = _reconciler(fake)
    request = TopicRequest("t", 1, 1, {"x": "1"})

    _, second, third = [rec.provisioner.create([request]) for _ in range(3)]
    assert fake.sent == [["t"]]  # sent once only
    assert "not re-sent until the declaration changes" in second.failed["t"]
    assert third.failed == second.failed

    changed = TopicRequest("t", 1, 1, {"x": "2"})
    created = rec.provisioner.create([changed])
    assert fake.sent == [["t"], ["t"]] and created.created == {"t"}


def test_a_transient_refusal_backs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(loop.time, "monotonic", lambda: clock[0])
    timed_out = CreateResult(failed={"t": "REQUEST_TIMED_OUT"})
    fake = _RecordingBroker([timed_out, timed_out, CreateResult(created=frozenset({"t"}))])
    rec = _reconciler(fake)
    request = TopicRequest("t", 1, 1)
    rec.provisioner.create([request])
    clock[0] += 4  # before the first back-off (5 s) ends: held
    assert "retrying with back-off" in rec.provisioner.create([request]).failed["t"]
    clock[0] += 2
    rec.provisioner.create([request])  # sent again, refused again: next wait is 10 s
    clock[0] += 9
    rec.provisioner.create([request])
    assert len(fake.sent) == 2
    clock[0] += 2
    assert rec.provisioner.create([request]).created == {"t"}


def test_liveness_fails_when_no_cycle_finishes_and_recovers() -> None:
    clock = [0.0]
    health = Health(OperatorSettings(resync_seconds=10, stall_seconds=30), clock=lambda: clock[0])
    assert health.live()[0]
    health.cycle_started()
    clock[0] = 29
    assert health.live()[0]
    clock[0] = 31
    ok, detail = health.live()
    assert not ok and "no reconcile cycle finished" in detail["reason"]
    health.cycle_finished(ok=False)  # a failed cycle still proves the loop turns
    assert health.live()[0]


def test_readiness_needs_the_listing_and_the_apiserver() -> None:
    health = Health(OperatorSettings())
    assert not asyncio.run(health.ready())[0]
    health.cycle_started()
    assert asyncio.run(health.ready())[0]

    def refused() -> None:
        raise ConnectionRefusedError("refused")

    health.use_ping(refused)
    health._pinged_at = None
    ok, detail = asyncio.run(health.ready())
    assert not ok and "apiserver" in detail["reason"]


def test_stall_limit_must_exceed_the_resync_interval() -> None:
    with pytest.raises(ValueError, match="stall"):
        OperatorSettings(resync_seconds=60, stall_seconds=30)
    assert OperatorSettings(resync_seconds=60).stall_seconds == 180


def test_a_record_is_built_even_when_the_parser_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(loop.Contract, "from_manifest", explode)
    record = loop.record_of({"metadata": {"namespace": "a", "name": "b"}, "spec": {}})
    assert isinstance(record, Record) and record.contract is None
    assert "parser bug" in (record.error or "")


def test_no_cycle_runs_on_a_half_listed_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """The resync timer may fire while kopf is still indexing a large initial listing; the
    first cycle waits for kopf's first event, which comes once every contract is indexed."""
    settings = OperatorSettings(resync_seconds=1, retry_seconds=0.02, batch_window_seconds=0)
    half_listed = [object()]  # the view already holds part of the fleet
    rec = Reconciler(settings, None, kube=None, view=lambda: half_listed)  # type: ignore[arg-type]
    cycles: list[float] = []

    async def reconcile_once() -> loop.CycleReport:
        cycles.append(asyncio.get_running_loop().time())
        return loop.CycleReport()

    monkeypatch.setattr(rec, "reconcile_once", reconcile_once)

    async def scenario() -> tuple[int, int]:
        task = asyncio.create_task(rec._loop(0.02))  # a timer much shorter than the listing
        await asyncio.sleep(0.3)
        before = len(cycles)
        rec.wake()  # kopf's first event: the listing is indexed
        await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return before, len(cycles)

    before, after = asyncio.run(scenario())
    assert before == 0
    assert after >= 1


@pytest.mark.parametrize(("view", "cycles_expected"), [([], True), ([object()], False)])
def test_an_empty_cluster_gets_its_first_cycle_in_seconds_a_listing_one_waits(
    monkeypatch: pytest.MonkeyPatch, view: list[object], cycles_expected: bool
) -> None:
    """No contract at all: no watch event will come, so the first cycle (and readiness) must
    not wait a whole resync interval. A view that holds contracts still waits for kopf."""
    monkeypatch.setattr(loop, "EMPTY_START_SECONDS", 0.05)
    settings = OperatorSettings(resync_seconds=60, retry_seconds=0.02, batch_window_seconds=0)
    rec = Reconciler(settings, None, kube=None, view=lambda: view)  # type: ignore[arg-type]
    ran = asyncio.Event()

    async def reconcile_once() -> loop.CycleReport:
        ran.set()
        return loop.CycleReport()

    monkeypatch.setattr(rec, "reconcile_once", reconcile_once)

    async def scenario() -> bool:
        task = asyncio.create_task(rec.run())
        try:
            await asyncio.wait_for(ran.wait(), 1.0)
            return True
        except TimeoutError:
            return False
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    assert asyncio.run(scenario()) is cycles_expected


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("resync_seconds", "nan"),
        ("stall_seconds", "inf"),
        ("broker_grace_seconds", "-5"),
        ("broker_grace_seconds", "inf"),
    ],
)
def test_a_duration_that_is_not_one_is_refused_with_its_flag(setting: str, value: str) -> None:
    from contract_operator.cli.errors import UsageError
    from contract_operator.cli.main import build_parser
    from contract_operator.cli.run_options import operator_settings

    flag = "--" + setting.replace("_", "-")
    args = build_parser().parse_args(["run", flag, value])
    with pytest.raises(UsageError, match=f"^{flag}='{value}': .*; use a number of seconds"):
        operator_settings(args, {})


def test_a_growing_listing_keeps_liveness_and_a_stalled_one_fails() -> None:
    """While the first cycle waits for a large listing, liveness follows the listing: a pod
    is not restarted while kopf indexes (or it would never finish), but is when it stalls."""
    now = [0.0]
    settings = OperatorSettings(
        resync_seconds=1, retry_seconds=0.01, batch_window_seconds=0, stall_seconds=60
    )
    health = Health(settings, clock=lambda: now[0])
    view: list[object] = [object()]
    rec = Reconciler(settings, None, kube=None, view=lambda: view, health=health)  # type: ignore[arg-type]

    async def scenario() -> tuple[bool, bool]:
        task = asyncio.create_task(rec._loop(0.01))
        for _ in range(5):  # 250 s of indexing, far past the stall limit, always growing
            now[0] += 50
            view.append(object())
            await asyncio.sleep(0.05)
        growing = health.live()[0]
        now[0] += 61  # then nothing more for longer than the limit
        await asyncio.sleep(0.05)
        stalled = health.live()[0]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return growing, stalled

    assert asyncio.run(scenario()) == (True, False)


@pytest.mark.parametrize("topics", [5, "x", [1, None, {"role": "publish"}], {"a": 1}])
def test_a_garbage_status_neither_stops_the_owner_memory_nor_the_events(topics: Any) -> None:
    """Anyone with status rights can write anything there: it costs nobody a cycle."""
    from contract_operator.core.status import transitions

    rec = Reconciler(OperatorSettings(), None, kube=None, view=lambda: [])  # type: ignore[arg-type]
    bad = loop.Record("ns", "bad", "u1", 1, {"topics": topics, "warnings": topics}, None)
    good = loop.Record(
        "ns",
        "good",
        "u2",
        1,
        {"topics": [{"name": "t", "role": "publish", "state": "Present"}]},
        None,
    )
    assert rec.owners.of([bad, good], first_cycle=True) == {"t": "ns/good"}
    from contract_operator.core.planner import plan
    from contract_operator.core.snapshot import BrokerSnapshot
    from contract_operator.core.status import desired_status

    from .test_wiring import contract

    orders = contract(
        "orders",
        (
            {
                "name": "onex.evt.orders.placed.v1",
                "replicationFactor": 1,
                "config": {"min.insync.replicas": "2"},
            },
        ),
    )
    (cp,) = plan([orders], BrokerSnapshot()).contracts
    desired = desired_status(cp, None, generation=1, now="2026-01-01T00:00:00Z")
    previous = {**desired, "warnings": topics}
    assert [t.reason for t in transitions(previous, desired)].count("ContractWarning") == 1
