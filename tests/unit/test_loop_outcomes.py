"""What one reconcile cycle does, seen from outside: statuses written, Events posted, requests
sent to the broker.

Only the loop's public surface is used — `Reconciler(settings, broker, kube, view)` and
`reconcile_once()` — with the real `Broker` adapter over an in-memory AdminClient and a
recording Kube (tests/unit/fakes.py). Nothing here reaches into the loop's private state.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError

from contract_operator.adapters.broker import Broker, BrokerSettings
from contract_operator.controller import metrics
from contract_operator.controller.reconciler import Reconciler
from contract_operator.controller.settings import OperatorSettings

from .fakes import ALLOWED_CALLS, FakeAdmin, FakeCluster, FakeKube, FakeTopic, manifest

TOPIC = "onex.evt.router.routing-complete.v1"
SAFE = "onex.evt.router.a-partitions.v1"
CUT = "onex.evt.router.b-retention.v1"
WEEK, HOUR = "604800000", "3600000"


@pytest.fixture(autouse=True)
def _fresh_metric_tallies(monkeypatch: pytest.MonkeyPatch) -> None:
    # The metrics add each cycle's delta of the adapters' request tallies, assuming one Broker
    # and one Kube per process (as in the operator); each test here makes new ones.
    monkeypatch.setattr(
        metrics, "_last", {"requests": Counter(), "errors": Counter(), "writes": Counter()}
    )


class Loop:
    """One reconciler over a FakeCluster, a FakeAdmin and a FakeKube."""

    def __init__(self, cluster: FakeCluster, admin: FakeAdmin, **settings: Any) -> None:
        self.cluster, self.admin = cluster, admin
        self.kube = FakeKube(cluster)
        broker = Broker(BrokerSettings("127.0.0.1:9"), admin=admin)
        self.reconciler = Reconciler(
            OperatorSettings(**settings),
            broker,
            self.kube,  # type: ignore[arg-type]
            cluster.view,
        )

    async def cycle(self) -> Any:
        report = await self.reconciler.reconcile_once()
        await settled()
        return report

    def sent(self) -> Counter[str]:
        """CreateTopics requests per topic so far."""
        return Counter(t.topic for t in self.admin.created)


async def settled() -> None:
    """Every task the cycle left running (its Events are posted in the background) is done."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.gather(*others)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


# -- the broker away: grace ------------------------------------------------------------------


def test_a_broker_flap_within_the_grace_rewrites_no_status_and_posts_no_event() -> None:
    async def scenario() -> None:
        loop = Loop(
            FakeCluster(manifest("router", publish=[TOPIC])),
            FakeAdmin({TOPIC: FakeTopic(3, 3)}),
            broker_grace_seconds=30,
        )
        first = await loop.cycle()
        assert first.status_writes == 1 and first.broker_error is None
        assert loop.cluster.condition("router", "Ready")["status"] == "True"
        events_before = list(loop.kube.events)

        loop.admin.down = True
        report = await loop.cycle()

        assert report.broker_error and report.broker_grace
        assert report.status_writes == 0 and len(loop.kube.patches) == 1
        assert loop.kube.events == events_before
        assert loop.cluster.condition("router", "Ready")["status"] == "True"

    run(scenario)


def test_without_grace_a_broker_outage_is_written_at_once() -> None:
    async def scenario() -> None:
        loop = Loop(
            FakeCluster(manifest("router", publish=[TOPIC])),
            FakeAdmin({TOPIC: FakeTopic(3, 3)}),
            broker_grace_seconds=0,
        )
        await loop.cycle()
        loop.admin.down = True
        report = await loop.cycle()

        assert report.broker_error and not report.broker_grace
        assert report.status_writes == 1
        provisioned = loop.cluster.condition("router", "Provisioned")
        assert (provisioned["status"], provisioned["reason"]) == ("Unknown", "BrokerUnavailable")
        assert ("Warning", "BrokerUnavailable") in loop.kube.reasons("router")

    run(scenario)


def test_an_outage_longer_than_the_grace_is_written_once() -> None:
    async def scenario() -> None:
        grace = 0.3
        loop = Loop(
            FakeCluster(manifest("router", publish=[TOPIC])),
            FakeAdmin({TOPIC: FakeTopic(3, 3)}),
            broker_grace_seconds=grace,
        )
        await loop.cycle()
        loop.admin.down = True
        within = await loop.cycle()
        assert within.broker_grace and within.status_writes == 0
        # The outage has to last longer than the grace: that time passing is the test.
        await asyncio.sleep(grace + 0.1)
        after = await loop.cycle()
        again = await loop.cycle()

        assert not after.broker_grace and after.status_writes == 1
        assert loop.cluster.condition("router", "Ready")["status"] == "Unknown"
        assert again.status_writes == 0

    run(scenario)


def test_a_contract_with_no_status_yet_is_written_during_the_grace() -> None:
    async def scenario() -> None:
        admin = FakeAdmin()
        admin.down = True
        loop = Loop(FakeCluster(manifest("router", publish=[TOPIC])), admin)
        report = await loop.cycle()
        assert report.broker_grace and report.status_writes == 1
        assert loop.cluster.condition("router", "Provisioned")["status"] == "Unknown"

    run(scenario)


# -- a deleted contract: its topics stay, and it is said ---------------------------------------


def test_a_deleted_contract_gets_a_topics_kept_event_once_and_its_topics_stay() -> None:
    async def scenario() -> None:
        other = "onex.evt.router.route-failed.v1"
        loop = Loop(
            FakeCluster(manifest("router", publish=[TOPIC, other]), manifest("idle")),
            FakeAdmin({TOPIC: FakeTopic(3, 3)}),
        )
        await loop.cycle()
        assert set(loop.admin.topics) == {TOPIC, other}

        loop.cluster.delete("agents", "router")
        loop.cluster.delete("agents", "idle")
        await loop.cycle()
        await loop.cycle()

        kept = [e for e in loop.kube.events if e[2] == "TopicsKept"]
        assert [(name, type_) for name, type_, _, _ in kept] == [("router", "Normal")]
        message = kept[0][3]
        assert TOPIC in message and other in message
        assert "never deletes topics" in message
        assert set(loop.admin.topics) == {TOPIC, other}
        assert loop.admin.called() <= ALLOWED_CALLS, loop.admin.calls

    run(scenario)


# -- refusals: permanent ones wait for a new declaration, transient ones back off --------------


def test_a_permanent_refusal_is_not_resent_every_retry_interval() -> None:
    async def scenario() -> None:
        bad, flaky = "onex.evt.router.bad-config.v1", "onex.evt.router.flaky.v1"
        retry = 0.05
        loop = Loop(
            FakeCluster(
                manifest(
                    "router",
                    publish=[{"name": bad, "config": {"retention.ms": WEEK}}, flaky],
                )
            ),
            FakeAdmin(
                refuse={
                    bad: KafkaError(KafkaError.INVALID_CONFIG, "Unknown topic config"),
                    flaky: KafkaError(KafkaError.REQUEST_TIMED_OUT, "timed out"),
                }
            ),
            retry_seconds=retry,
        )
        await loop.cycle()
        assert loop.sent() == {bad: 1, flaky: 1}
        provisioned = loop.cluster.condition("router", "Provisioned")
        assert (provisioned["status"], provisioned["reason"]) == ("False", "CreateFailed")

        # Several retry intervals pass between cycles (that time passing is the test): the
        # transient refusal is re-sent with back-off, the permanent one is not.
        for _ in range(3):
            await asyncio.sleep(8 * retry)
            await loop.cycle()

        assert loop.sent()[bad] == 1
        assert loop.sent()[flaky] >= 3
        status = loop.cluster.status("router")
        (entry,) = [t for t in status["topics"] if t["name"] == bad]
        assert "INVALID_CONFIG" in entry["message"]
        assert "not re-sent until the declaration changes" in entry["message"]

        # A new declaration is a new request: sent at once.
        del loop.admin.refuse[bad]
        loop.cluster.apply(
            manifest("router", publish=[{"name": bad, "config": {"retention.ms": HOUR}}, flaky])
        )
        await loop.cycle()
        assert loop.sent()[bad] == 2 and bad in loop.admin.topics

    run(scenario)


# -- drift: never altered, the unsafe topic named first ----------------------------------------


def test_unsafe_drift_is_the_drifted_reason_and_a_warning_event_even_when_listed_second() -> None:
    async def scenario() -> None:
        loop = Loop(
            FakeCluster(
                manifest(
                    "router",
                    publish=[
                        {"name": SAFE, "partitions": 6},
                        {"name": CUT, "config": {"retention.ms": WEEK}},
                    ],
                )
            ),
            FakeAdmin({SAFE: FakeTopic(3, 3), CUT: FakeTopic(3, 3, {"retention.ms": HOUR})}),
        )
        await loop.cycle()

        drifted = loop.cluster.condition("router", "Drifted")
        assert (drifted["status"], drifted["reason"]) == ("True", "UnsafeDrift")
        assert drifted["message"].startswith(f"{CUT}: retention.ms declared {WEEK}")
        reasons = loop.kube.reasons("router")
        assert ("Warning", "UnsafeDrift") in reasons
        assert ("Normal", "DriftDetected") not in reasons
        assert loop.cluster.status("router")["unsafeDriftCount"] == 1
        # Reported, never corrected.
        assert loop.admin.topics[CUT] == FakeTopic(3, 3, {"retention.ms": HOUR})
        assert loop.admin.called() <= ALLOWED_CALLS, loop.admin.calls

    run(scenario)


def test_a_topic_another_creator_made_first_is_compared_not_altered() -> None:
    async def scenario() -> None:
        loop = Loop(
            FakeCluster(
                manifest("router", publish=[{"name": CUT, "config": {"retention.ms": WEEK}}])
            ),
            FakeAdmin(unlisted={CUT: FakeTopic(3, 3, {"retention.ms": HOUR})}),
        )
        report = await loop.cycle()

        assert report.created == frozenset()
        assert loop.admin.calls.count("create_topics") == 1
        assert loop.admin.called() <= ALLOWED_CALLS, loop.admin.calls
        assert loop.admin.topics[CUT] == FakeTopic(3, 3, {"retention.ms": HOUR})
        assert loop.cluster.condition("router", "Drifted")["reason"] == "UnsafeDrift"

    run(scenario)


def test_the_cluster_default_is_asked_for_and_recorded() -> None:
    async def scenario() -> None:
        loop = Loop(FakeCluster(manifest("router", publish=[TOPIC])), FakeAdmin(defaults=(12, 3)))
        report = await loop.cycle()

        assert report.created == {TOPIC}
        (request,) = loop.admin.created
        assert (request.num_partitions, request.replication_factor) == (-1, -1)
        (entry,) = loop.cluster.status("router")["topics"]
        assert (entry["partitions"], entry["replicationFactor"]) == (12, 3)
        assert ("Normal", "TopicCreated") in loop.kube.reasons("router")

    run(scenario)
