"""Topic identity: a topic deleted and re-created under the same name gets a new Kafka topic
id, and nothing else in the metadata tells. Ids are remembered across cycles; a change is a
Warning Event, a counter, and a warning in the contract's status (with the old id kept)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from ..core.declared import names_of
from ..core.planner import ContractPlan
from ..core.recreated import recorded_ids
from ..core.snapshot import BrokerSnapshot, CreateResult
from ..model.problems import Problem, Severity
from . import metrics
from .records import Record

log = logging.getLogger("contract_operator.controller.reconciler")


class TopicIdentity:
    def __init__(self) -> None:
        self._ids: dict[str, str] = {}  # topic -> id as last seen
        self._recreated: dict[str, tuple[str, str]] = {}  # topic -> (message, old id)

    def learn(self, records: Iterable[Record]) -> None:
        """At start, the ids the statuses recorded: a topic re-created while no operator ran
        is then noticed by the first cycle, and one seen re-created before keeps its warning
        and previousTopicId across the restart."""
        for r in records:
            obj = {"metadata": {"namespace": r.namespace, "name": r.name}, "status": r.status}
            for rec in recorded_ids([obj]):
                if rec.topic_id:
                    self._ids.setdefault(rec.topic, rec.topic_id)
                if rec.topic_id and rec.previous_topic_id and rec.topic not in self._recreated:
                    self._recreated[rec.topic] = (
                        f"{rec.topic} was deleted and re-created (topic id "
                        f"{rec.previous_topic_id} -> {rec.topic_id}): the data it held and "
                        "every consumer group's offsets on it are gone",
                        rec.previous_topic_id,
                    )

    def note(self, snapshot: BrokerSnapshot, outcome: CreateResult) -> dict[str, str]:
        """Topics whose id changed since the last cycle (deleted and re-created, by anyone),
        with what that means; the ids are remembered for the next cycle. A topic gone from
        the broker keeps its last id, so a re-creation by this operator is noticed too."""
        fresh: dict[str, str] = {}
        for name, topic in snapshot.topics.items():
            new, old = topic.topic_id, self._ids.get(name)
            if new is None:
                continue
            if old is not None and old != new:
                who = (
                    "was deleted outside the operator and re-created by it from the contract"
                    if name in outcome.created
                    else "was deleted and re-created outside the operator"
                )
                fresh[name] = (
                    f"{name} {who} (topic id {old} -> {new}): the data it held and every "
                    "consumer group's offsets on it are gone"
                )
                self._recreated[name] = (fresh[name], old)
            self._ids[name] = new
        if fresh:
            metrics.RECREATED.inc(len(fresh))
            for message in fresh.values():
                log.warning("%s", message)
        return fresh

    def annotate(self, cp: ContractPlan) -> ContractPlan:
        """The plan with a warning (and the old id) for each of its topics seen re-created."""
        hit = [n for n in names_of(cp.contract) if n in self._recreated]
        if not hit:
            return cp
        extra = tuple(
            Problem(
                Severity.WARNING,
                "topic-recreated",
                self._recreated[name][0],
                "Check the producers and consumers of the topic: consumers restart from their "
                "auto.offset.reset position.",
                contract=cp.contract.key,
                topic=name,
            )
            for name in hit
        )
        topics = tuple(
            replace(t, previous_topic_id=self._recreated[t.name][1])
            if t.name in self._recreated
            else t
            for t in cp.topics
        )
        return replace(cp, topics=topics, problems=cp.problems + extra)
