"""One batching reconcile loop: a broker snapshot per cycle, the planner, batched creates,
and status writes only where something changed.

kopf handlers only keep the view of all NodeContracts current and `wake()` this loop; a timer
wakes it too, so out-of-band changes on the broker are seen without any change to a CR.

The loop batches I/O, but failure stays per contract and per topic (as controller-runtime's
workqueue does per key): a contract the planner chokes on, a topic the broker or the client
library refuses, a status write or Event the apiserver drops — each marks that contract alone
and every other contract is planned, created and written in the same cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..adapters.broker import DESCRIBE_BATCH, Broker, BrokerError
from ..adapters.kube import Kube, describe_error, is_outage, now
from ..core.planner import (
    AUTO_CREATE_WARNING,
    ContractPlan,
    Plan,
    PlanOptions,
    TopicState,
    plan,
)
from ..core.snapshot import (
    BrokerSnapshot,
    ClusterSettings,
    CreateResult,
    ObservedTopic,
    TopicRequest,
)
from ..core.status import (
    Transition,
    desired_status,
    invalid_spec_status,
    needs_write,
    transitions,
)
from ..core.unowned import unowned_topics
from ..model.contract import Contract, ContractError
from ..model.problems import Problem, Severity
from . import metrics
from .gcpause import give_back_memory, without_gc
from .health import Health
from .settings import OperatorSettings

log = logging.getLogger(__name__)

# A refusal that the same request will meet again is re-sent only after this long (or as soon
# as the declaration changes); transient failures back off from retry_seconds up to the cap.
PERMANENT_RETRY_SECONDS = 3600.0
TRANSIENT_RETRY_CAP_SECONDS = 300.0
# How often the broker-wide defaults (default.replication.factor, auto.create.topics.enable)
# are read again (every 5 minutes while they cannot be read, e.g. without the ACL).
CLUSTER_SETTINGS_SECONDS = 3600.0
LOGGED_NAMES = 20  # topic names in one log line; each contract's status names its own
# A published topic in one of these states is on the broker under that contract's ownership.
OWNED_STATES = frozenset({TopicState.CREATED, TopicState.PRESENT, TopicState.DRIFTED})


@dataclass(frozen=True)
class Record:
    """One NodeContract as the watch last delivered it, parsed once by the index handler.

    Only what decisions need is kept: the parsed contract and the status we compare with,
    not the whole kopf body.
    """

    namespace: str
    name: str
    uid: str | None
    generation: int | None
    status: Mapping[str, Any] | None
    contract: Contract | None
    error: str | None = None
    # False for a contract outside this instance's --selector: kept in the index (without a
    # parsed spec) only so that one that stops matching is told apart from one deleted.
    selected: bool = True

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ref(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name, "uid": self.uid or ""}


def unselected_record_of(body: Mapping[str, Any]) -> Record:
    """A contract another instance manages (outside --selector): its identity, nothing else."""
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    return Record(namespace, name, meta.get("uid"), None, None, None, selected=False)


def record_of(body: Mapping[str, Any]) -> Record:
    """Parse a NodeContract body with the one parser; a bad spec becomes a Record with an error.

    Never raises: whatever a user stored in the object ends up in that object's status.
    """
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    status = body.get("status")
    contract: Contract | None = None
    error: str | None = None
    try:
        contract = Contract.from_manifest(dict(body), source=f"{namespace}/{name}")
    except ContractError as exc:
        error = "; ".join(f"{e.field or 'document'}: {e.message}" for e in exc.errors)
    except Exception as exc:  # the parser's own bug must not cost the whole index
        log.exception("cannot parse NodeContract %s/%s", namespace, name)
        error = f"the operator could not read this contract ({type(exc).__name__}: {exc})"
    return Record(
        namespace,
        name,
        meta.get("uid"),
        meta.get("generation"),
        dict(status) if isinstance(status, Mapping) else None,
        contract,
        error,
    )


@dataclass
class CycleReport:
    """What one reconcile did: for logs, metrics, tests and the benchmark."""

    contracts: int = 0
    created: frozenset[str] = frozenset()
    status_writes: int = 0
    write_errors: int = 0
    events: int = 0
    broker_error: str | None = None
    broker_grace: bool = False  # the broker is away, but not yet for long: statuses kept
    failed_contracts: int = 0  # planned alone and failed, or whose status could not be written
    apiserver_away: bool = False  # a request in this cycle met an apiserver outage
    seconds: float = 0.0
    plan: Plan | None = field(default=None, repr=False)


@dataclass
class _Refusal:
    """A topic the broker (or the client library) refused, and when to try it again."""

    request: TopicRequest
    message: str
    permanent: bool
    attempts: int
    retry_at: float


def _names_of(contract: Contract) -> set[str]:
    return {t.name for t in contract.published} | set(contract.subscribed)


def plan_isolated(
    contracts: Sequence[Contract],
    snapshot: BrokerSnapshot | None,
    options: PlanOptions,
    *,
    outcome: CreateResult | None = None,
    broker_error: str | None = None,
    owners: Mapping[str, str] | None = None,
) -> tuple[Plan, dict[str, str]]:
    """`plan()`, but a contract the planner raises on is set aside with the error, not fatal.

    The planner is pure and should never raise; if it does, the contracts are planned one by
    one to find the ones it chokes on, and the rest are planned together as usual.
    """
    kw: dict[str, Any] = {"outcome": outcome, "broker_error": broker_error, "owners": owners}
    try:
        return plan(contracts, snapshot, options, **kw), {}
    except Exception:
        log.exception("planning failed; planning each contract alone to isolate the cause")
    failed: dict[str, str] = {}
    for contract in contracts:
        try:
            plan([contract], snapshot, options, **kw)
        except Exception as exc:
            failed[contract.key] = f"{type(exc).__name__}: {exc}"
    rest = [c for c in contracts if c.key not in failed]
    try:
        result = plan(rest, snapshot, options, **kw)
    except Exception as exc:  # only fails together: nothing can be decided this cycle
        reason = f"{type(exc).__name__}: {exc}"
        return Plan((), (), (), broker_error), {c.key: reason for c in contracts}
    return result, failed


class Reconciler:
    def __init__(
        self,
        settings: OperatorSettings,
        broker: Broker,
        kube: Kube,
        view: Callable[[], Iterable[Record]],
        gate: Callable[[], bool] | None = None,
        health: Health | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.kube = kube
        self.health = health or Health(settings)
        self._view = view
        self._paused = gate  # returns True while another replica is the active one
        self._wake = asyncio.Event()
        self._woken = False  # kopf's first event: every listed contract is in the view
        self._indexed = 0  # contracts in the view while waiting for that first event
        # The status we last wrote, by uid: the watch may not have delivered it back yet, and
        # comparing with it is what keeps an unchanged status from being written twice.
        self._written: dict[str, Mapping[str, Any]] = {}
        self._seen: dict[str, Record] = {}  # by key, to notice deletions
        self._refusals: dict[str, _Refusal] = {}  # by topic name
        self._writers = asyncio.Semaphore(settings.status_writers)
        self._posters = asyncio.Semaphore(settings.event_posters)
        self._apiserver_away: str | None = None  # set during an outage: logged once
        self._broker_away_since: float | None = None
        # When each topic's configs were last read, and the declared keys known then (see
        # _config_reuse); when unowned topics were last looked for.
        self._described_at: dict[str, float] = {}
        self._described_keys: frozenset[str] = frozenset()
        self._unowned_at = float("-inf")
        self._declared_memo: tuple[list[Contract], set[str], set[str]] | None = None
        self._unowned: frozenset[str] = frozenset()  # as last logged
        self._posting: set[asyncio.Task[None]] = set()  # Events still being posted
        # The last plan and what it was made from, reused while nothing changed.
        self._plan_memo: (
            tuple[
                list[Contract],
                BrokerSnapshot | None,
                tuple[Plan, dict[str, str]],
                Mapping[str, str],
            ]
            | None
        ) = None
        # key -> (record, plan) last settled with success: the same pair needs no new status.
        self._settled: dict[str, tuple[Record, ContractPlan | None]] = {}
        # topic -> the contract key that owns it (created it, or won it before): kept across
        # cycles so a later declaration never takes a topic over (see core/wiring._conflict).
        self._owners: dict[str, str] = {}
        self._cluster = ClusterSettings()  # the broker-wide defaults, as last read
        # Topic ids as last seen, and the topics seen re-created (name -> what it means).
        self._topic_ids: dict[str, str] = {}
        self._recreated: dict[str, tuple[str, str]] = {}  # name -> (message, old id)
        self._cluster_at = float("-inf")
        self.cycles = 0
        # The broker as last read: the admission webhook answers from it, never from the broker.
        self.last_snapshot: BrokerSnapshot | None = None

    def wake(self) -> None:
        self._woken = True
        self._wake.set()

    async def run(self) -> None:
        """Forever: wait for a change or the timer, coalesce the burst, reconcile once.

        The first cycle waits for the first watch event: kopf delivers it only after the
        initial listing, so the first plan sees every contract, not half of them (or one
        resync interval, for a cluster with no contract yet).
        """
        # Until the first watch event; with no contract at all there is none, so not forever.
        timeout: float | None = self.settings.resync_seconds
        try:
            await self._loop(timeout)
        finally:
            for task in self._posting:
                task.cancel()

    async def _loop(self, timeout: float | None) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            indexed = 0 if self._woken else sum(1 for _ in self._view())
            if indexed:
                # The timer fired while kopf is still indexing the initial listing (it calls
                # the event handler that wakes this loop only once every contract is indexed):
                # a cycle now would judge a fleet of which part is missing, e.g. report broken
                # wires whose publishers are simply not indexed yet. A listing that grows keeps
                # liveness true; one that stalls lets it fail.
                if indexed != self._indexed:
                    self._indexed = indexed
                    self.health.listing_grew()
                timeout = self.settings.retry_seconds
                continue
            await asyncio.sleep(self.settings.batch_window_seconds)
            self._wake.clear()
            self.health.cycle_started()
            ok = False
            try:
                if self._paused is not None and await asyncio.to_thread(self._paused):
                    log.debug("standing by: another replica is active")
                    self.health.cycle_finished(ok=True, standby=True)
                    timeout = self.settings.retry_seconds
                    continue
                report = await self.reconcile_once()
                ok = report.broker_error is None and not report.write_errors
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug of ours; the next cycle retries
                log.exception("reconcile failed; retrying in %s s", self.settings.retry_seconds)
                metrics.contract_failure("Internal", 1)
                self.health.note_error(f"{type(exc).__name__}: {exc}")
            self.health.cycle_finished(ok=ok)
            timeout = self.settings.resync_seconds if ok else self.settings.retry_seconds

    async def reconcile_once(self) -> CycleReport:
        started, cpu_started = time.monotonic(), time.process_time()
        listed = list(self._view())
        records = [r for r in listed if r.selected]
        contracts = [r.contract for r in records if r.contract is not None]
        names, keys = self._declared(contracts)
        options = self.settings.plan_options

        snapshot: BrokerSnapshot | None
        broker_error: str | None = None
        reuse = self._config_reuse(names, keys)
        configs_read = 0
        try:
            snapshot = await asyncio.to_thread(
                without_gc(self.broker.describe), names, keys, reuse, self._cluster
            )
            configs_read = self._note_described(snapshot, reuse, keys)
        except BrokerError as exc:
            snapshot, broker_error = None, str(exc)
        if snapshot is not None:  # only once the broker answers: an outage costs no extra wait
            snapshot = replace(snapshot, cluster=await self._cluster_settings())
        described = time.monotonic()
        grace = self._broker_grace(broker_error)
        if snapshot is not None:
            self.last_snapshot = snapshot
        owners = self._owners_of(records)
        result, failed = await self._plan(contracts, snapshot, broker_error, owners)
        planned = time.monotonic()

        outcome = CreateResult()
        if result.to_create and snapshot is not None:
            try:
                outcome = await self._create(result.to_create)
                if outcome.created or outcome.already_existed:
                    # The actual values of what was made, and what a racing creator made.
                    after = await asyncio.to_thread(self.broker.after_create, outcome, keys)
                    self._note_described(
                        BrokerSnapshot(
                            {n: t for n, t in after.topics.items() if n in outcome.already_existed}
                        ),
                        None,
                        None,
                    )
                    snapshot = snapshot.merged(after)
                result, failed = await asyncio.to_thread(
                    without_gc(plan_isolated),
                    contracts,
                    snapshot,
                    options,
                    outcome=outcome,
                    owners=owners,
                )
            except BrokerError as exc:
                broker_error = str(exc)
                result, failed = await asyncio.to_thread(
                    without_gc(plan_isolated),
                    contracts,
                    None,
                    options,
                    broker_error=broker_error,
                    owners=owners,
                )
        if outcome.created:
            # Named in full up to a screenful; a burst of 10,000 would be one 300 KB line.
            new = sorted(outcome.created)
            more = f" and {len(new) - LOGGED_NAMES} more" if len(new) > LOGGED_NAMES else ""
            log.info("created %d topic(s): %s%s", len(new), ", ".join(new[:LOGGED_NAMES]), more)
        if broker_error and not grace:
            log.warning("%s", broker_error)

        self._remember_owners(result, owners)
        created_at = time.monotonic()
        report = CycleReport(
            len(records),
            outcome.created,
            broker_error=broker_error,
            plan=result,
            broker_grace=grace,
        )
        for key, reason in failed.items():
            log.error("cannot plan %s: %s", key, reason)
        metrics.contract_failure("PlanFailed", len(failed))
        stamp = now()
        fresh = self._note_identity(snapshot, outcome) if snapshot is not None else {}
        plans = {cp.contract.key: self._with_recreated(cp) for cp in result.contracts}
        events: list[tuple[Record, Transition]] = [
            (r, Transition("Warning", "TopicRecreated", fresh[name]))
            for r in records
            if r.contract is not None
            for name in _names_of(r.contract)
            if name in fresh
        ]
        await asyncio.gather(
            *(
                self._settle(
                    r, plans.get(r.key), failed.get(r.key), stamp, broker_error, report, events
                )
                for r in records
            )
        )
        # Events are hints: posted after every status is written and in the background, so
        # neither Ready nor the next cycle waits for them (at 10,000 new contracts they are
        # half of the apiserver requests), and never under the write lock.
        if events:
            task = asyncio.create_task(self._post_all(events, report), name="post events")
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        await self._forget_deleted(listed, report)
        if snapshot is not None and described - self._unowned_at >= self.settings.resync_seconds:
            self._unowned_at = described
            await self._watch_unowned(contracts, snapshot)
        self._apiserver_reachable(report)
        report.seconds = time.monotonic() - started
        metrics.observe_cycle(
            result, report.seconds, self.broker, self.kube, time.process_time() - cpu_started
        )
        self.cycles += 1
        busy = report.status_writes or report.created or report.failed_contracts
        if busy or self.cycles == 1:
            await asyncio.to_thread(give_back_memory)  # ctypes drops the GIL: probes answer
        log.log(
            logging.INFO if busy else logging.DEBUG,  # an idle resync says nothing at INFO
            "cycle %d: %d contracts in %.2f s (describe %.2f, %d configs; plan %.2f, create %.2f, "
            "statuses %.2f): %d created, %d status writes, %d events, %d failed",
            self.cycles,
            report.contracts,
            report.seconds,
            described - started,
            configs_read,
            planned - described,
            created_at - planned,
            report.seconds - (created_at - started),
            len(report.created),
            report.status_writes,
            report.events,
            report.failed_contracts,
        )
        return report

    def _declared(self, contracts: list[Contract]) -> tuple[set[str], set[str]]:
        """Topic names the contracts publish or subscribe to, and the config keys they declare;
        the last answer again while the contracts are the very same objects (an idle resync)."""
        memo = self._declared_memo
        if (
            memo is not None
            and len(memo[0]) == len(contracts)
            and all(a is b for a, b in zip(memo[0], contracts, strict=True))
        ):
            return memo[1], memo[2]
        names = {t.name for c in contracts for t in c.published}
        names |= {s for c in contracts for s in c.subscribed}
        keys = {k for c in contracts for t in c.published for k in t.config}
        self._declared_memo = (contracts, names, keys)
        return names, keys

    def _config_reuse(
        self, names: Collection[str], keys: Collection[str]
    ) -> dict[str, ObservedTopic] | None:
        """The configs from the last snapshot this cycle may keep; None to read them all.

        Read each cycle: topics never described (new ones), and of the others those read
        longest ago, once they are a resync interval old, at most DESCRIBE_BATCH of them (one
        request). Up to DESCRIBE_BATCH declared topics, every resync re-reads every config,
        so drift made on the broker shows within one interval; beyond, a topic's configs are
        re-read every ceil(topics / DESCRIBE_BATCH) intervals, and a resync at 10,000 topics
        stays one bounded request (partitions and replication factor are always fresh). A
        newly declared config key reads everything again.
        """
        last = self.last_snapshot
        if last is None or not set(keys) <= self._described_keys:
            return None
        clock = time.monotonic()
        never = float("-inf")
        interval = self.settings.resync_seconds
        due = [
            name
            for name in names
            if name in last.topics and clock - self._described_at.get(name, never) >= interval
        ]
        due.sort(key=lambda name: self._described_at.get(name, never))
        refresh = set(due[:DESCRIBE_BATCH])
        return {name: t for name, t in last.topics.items() if name not in refresh}

    def _note_described(
        self,
        snapshot: BrokerSnapshot,
        reuse: Mapping[str, ObservedTopic] | None,
        keys: Collection[str] | None,
    ) -> int:
        """Remember when the configs in `snapshot` (all but the reused ones) were read."""
        clock = time.monotonic()
        kept = reuse or {}
        read = [name for name in snapshot.topics if name not in kept]
        for name in read:
            self._described_at[name] = clock
        if keys is not None:
            if reuse is None:
                self._described_keys = frozenset(keys)
            # Topics no longer declared (or gone from the broker) need no date.
            for name in [n for n in self._described_at if n not in snapshot.topics]:
                del self._described_at[name]
        return len(read)

    def _note_identity(self, snapshot: BrokerSnapshot, outcome: CreateResult) -> dict[str, str]:
        """Topics whose id changed since the last cycle (deleted and re-created, by anyone),
        with what that means; the ids are remembered for the next cycle. A topic gone from
        the broker keeps its last id, so a re-creation by this operator is noticed too."""
        fresh: dict[str, str] = {}
        old_ids: dict[str, str] = {}
        for name, topic in snapshot.topics.items():
            new, old = topic.topic_id, self._topic_ids.get(name)
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
                old_ids[name] = old
            self._topic_ids[name] = new
        if fresh:
            metrics.RECREATED.inc(len(fresh))
            for message in fresh.values():
                log.warning("%s", message)
        self._recreated.update({n: (m, old_ids[n]) for n, m in fresh.items()})
        return fresh

    def _with_recreated(self, cp: ContractPlan) -> ContractPlan:
        """The plan with a warning for each of its topics this operator saw re-created."""
        hit = [n for n in _names_of(cp.contract) if n in self._recreated]
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

    def _owners_of(self, records: Sequence[Record]) -> dict[str, str]:
        """Who owns each topic: as remembered; on the first cycle as the statuses say (a
        restarted operator learns it from the contract whose status shows the topic on the
        broker). New contracts have no status yet, so later cycles need not look."""
        owners = dict(self._owners)
        for r in records if self.cycles == 0 else ():
            # A status is anyone's to patch: whatever it holds, it must not stop the cycle.
            entries = (r.status or {}).get("topics")
            for entry in entries if isinstance(entries, list) else ():
                if (
                    isinstance(entry, Mapping)
                    and entry.get("role") == "publish"
                    and entry.get("state") in OWNED_STATES
                ):
                    owners.setdefault(str(entry.get("name")), r.key)
        return owners

    def _remember_owners(self, result: Plan, owners: Mapping[str, str]) -> None:
        """Owners after this cycle: whoever the plan says has the topic on the broker, and the
        previous owners that still declare it (e.g. while the broker cannot be read)."""
        declared = {
            (cp.contract.key, t.name): t.state
            for cp in result.contracts
            for t in cp.topics
            if t.role == "publish"
        }
        kept = {
            topic: key
            for topic, key in owners.items()
            if declared.get((key, topic)) not in (None, TopicState.CONFLICT, TopicState.INVALID)
        }
        kept.update(
            {topic: key for (key, topic), state in declared.items() if state in OWNED_STATES}
        )
        self._owners = kept

    async def _cluster_settings(self) -> ClusterSettings:
        """The broker-wide defaults, read at start and then every CLUSTER_SETTINGS_SECONDS
        (one DescribeConfigs): they change what a contract means, but rarely change."""
        clock = time.monotonic()
        readable = self._cluster.auto_create_topics is not None
        if clock - self._cluster_at < (CLUSTER_SETTINGS_SECONDS if readable else 300.0):
            return self._cluster
        cluster = await asyncio.to_thread(self.broker.cluster_settings)
        self._cluster_at = clock
        if cluster.auto_create_topics is not None:
            metrics.AUTO_CREATE.set(1 if cluster.auto_create_topics else 0)
        if cluster.auto_create_topics and not self._cluster.auto_create_topics:
            log.warning("%s", AUTO_CREATE_WARNING.message)
        self._cluster = cluster
        return cluster

    async def _plan(
        self,
        contracts: list[Contract],
        snapshot: BrokerSnapshot | None,
        broker_error: str | None,
        owners: Mapping[str, str],
    ) -> tuple[Plan, dict[str, str]]:
        """The plan for this cycle; the last one again when neither a contract nor the broker
        changed (an idle resync at 10,000 contracts then costs no planning at all)."""
        memo = self._plan_memo
        if (
            memo is not None
            and broker_error is None
            and memo[1] == snapshot
            and memo[3] == owners
            and len(memo[0]) == len(contracts)
            and all(a is b for a, b in zip(memo[0], contracts, strict=True))
        ):
            return memo[2]
        # Planning is CPU work: a worker thread keeps watches, admission and probes answering.
        planned = await asyncio.to_thread(
            without_gc(plan_isolated),
            contracts,
            snapshot,
            self.settings.plan_options,
            broker_error=broker_error,
            owners=owners,
        )
        self._plan_memo = (contracts, snapshot, planned, owners) if broker_error is None else None
        return planned

    async def _watch_unowned(self, contracts: list[Contract], snapshot: BrokerSnapshot) -> None:
        """Once per full resync: topics matching the naming rules that no contract publishes
        (left behind after a rename?). A gauge always; a log line when the set changes."""
        # Watching some namespaces, the rest of the broker may belong to contracts elsewhere:
        # only the producer segments in view (and topics they subscribe to) are judged.
        producers = {c.node for c in contracts} if self.settings.namespaces else None
        try:
            found = await asyncio.to_thread(
                unowned_topics,
                contracts,
                snapshot.all_names,
                self.settings.plan_options.rules,
                producers=producers,
            )
        except Exception:  # a report, never a reason to stop the loop
            log.exception("cannot list unowned topics")
            return
        metrics.UNOWNED.set(len(found))
        if found.names != self._unowned:
            self._unowned = found.names
            log.info("%s", found.summary())

    # -- the broker ----------------------------------------------------------------------------

    def _broker_grace(self, broker_error: str | None) -> bool:
        """True while the broker has been away for less than the grace period.

        A flap shorter than that rewrites no status and posts no Event; a longer outage flips
        every contract once (and recovers once). Contracts with no status yet are written.
        """
        if broker_error is None:
            if self._broker_away_since is not None:
                log.info("the broker answers again")
            self._broker_away_since = None
            return False
        clock = time.monotonic()
        if self._broker_away_since is None:
            self._broker_away_since = clock
            if self.settings.broker_grace_seconds > 0:
                log.warning(
                    "%s; statuses are kept for up to %g s while it comes back",
                    broker_error,
                    self.settings.broker_grace_seconds,
                )
        return clock - self._broker_away_since < self.settings.broker_grace_seconds

    async def _create(self, requests: Sequence[TopicRequest]) -> CreateResult:
        """Create what is missing, except topics refused before whose retry time has not come.

        The held-back topics are reported as failed with the refusal, so their contracts keep
        saying why; a refusal is logged once, when first met (or when its message changes).
        """
        clock = time.monotonic()
        held: dict[str, str] = {}
        send = []
        for request in requests:
            refusal = self._refusals.get(request.name)
            if refusal and refusal.request == request and clock < refusal.retry_at:
                held[request.name] = refusal.message
            else:
                send.append(request)
        outcome = await asyncio.to_thread(self.broker.create_missing, send) if send else None
        outcome = outcome or CreateResult()
        by_name = {r.name: r for r in send}
        for name in outcome.created | outcome.already_existed:
            self._refusals.pop(name, None)
        for name, message in outcome.failed.items():
            permanent = name in outcome.permanent
            before = self._refusals.get(name)
            attempts = before.attempts + 1 if before and before.request == by_name[name] else 1
            delay = (
                PERMANENT_RETRY_SECONDS
                if permanent
                else min(
                    self.settings.retry_seconds * 2 ** (attempts - 1), TRANSIENT_RETRY_CAP_SECONDS
                )
            )
            if before is None or before.message != message:
                log.warning(
                    "cannot create %s: %s (%s)",
                    name,
                    message,
                    "not retried until its declaration changes"
                    if permanent
                    else f"retrying with back-off, next in {delay:g} s",
                )
            self._refusals[name] = _Refusal(
                by_name[name], message, permanent, attempts, clock + delay
            )
        metrics.contract_failure("CreateFailed", len(outcome.failed))
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

    # -- statuses and Events ---------------------------------------------------------------------

    async def _settle(
        self,
        record: Record,
        contract_plan: ContractPlan | None,
        plan_error: str | None,
        stamp: str,
        broker_error: str | None,
        report: CycleReport,
        events: list[tuple[Record, Transition]],
    ) -> None:
        """Write one contract's status and queue its Events; whatever fails here fails for it
        alone."""
        settled = self._settled.get(record.key)
        if (
            settled is not None
            and settled[0] is record
            and contract_plan is not None
            and settled[1] is contract_plan
            and broker_error is None
        ):
            return  # same object, same plan: the status written last time still holds
        self._settled.pop(record.key, None)
        try:
            uid = record.uid or record.key
            written = self._written.get(uid)
            if written is not None and record.status and not needs_write(record.status, written):
                # The watch has delivered what we wrote: keep one copy (the record's), not two.
                del self._written[uid]
                written = None
            previous = written or record.status
            if report.broker_grace and previous:
                return  # a short broker flap: keep what the contract says until it lasts
            if plan_error is not None:
                report.failed_contracts += 1
                desired = invalid_spec_status(
                    f"the operator could not plan this contract ({plan_error})",
                    previous,
                    generation=record.generation,
                    now=stamp,
                    reason="PlanFailed",
                    fix="The error is the operator's; the contract is retried every cycle. "
                    "Please report it with the contract.",
                )
            elif contract_plan is None:
                desired = invalid_spec_status(
                    record.error or "unreadable", previous, generation=record.generation, now=stamp
                )
            else:
                desired = desired_status(
                    contract_plan,
                    previous,
                    generation=record.generation,
                    now=stamp,
                    broker_error=broker_error,
                )
            created = contract_plan.created if contract_plan is not None else ()
            news = transitions(previous, desired, created)
        except Exception as exc:
            log.exception("cannot build the status of %s", record.key)
            report.failed_contracts += 1
            metrics.contract_failure("StatusFailed", 1)
            self.health.note_error(f"{record.key}: {type(exc).__name__}: {exc}")
            return
        if needs_write(previous, desired) and not await self._write(record, desired, report):
            return  # Events follow the status they describe; both are retried next cycle
        events.extend((record, event) for event in news)
        if plan_error is None and not report.broker_grace:
            self._settled[record.key] = (record, contract_plan)

    async def _write(self, record: Record, desired: dict[str, Any], report: CycleReport) -> bool:
        async with self._writers:
            if report.apiserver_away:
                # Seen away in this cycle: the remaining writes wait for the next cycle instead
                # of each waiting out its own timeout (10,000 of them would take hours).
                report.write_errors += 1
                return False
            try:
                written = await asyncio.to_thread(
                    self.kube.patch_status, record.namespace, record.name, desired
                )
            except Exception as exc:
                report.write_errors += 1
                report.failed_contracts += 1
                report.apiserver_away = report.apiserver_away or is_outage(exc)
                self._kube_failed(exc, f"cannot write the status of {record.key}")
                metrics.contract_failure("StatusWriteFailed", 1)
                return False
            if not written:
                return False
            self._written[record.uid or record.key] = desired
            report.status_writes += 1
            return True

    async def _post_all(self, events: list[tuple[Record, Transition]], report: CycleReport) -> None:
        await asyncio.gather(*(self._post(record, event, report) for record, event in events))

    async def _post(self, record: Record, event: Transition, report: CycleReport) -> None:
        async with self._posters:
            if report.apiserver_away:
                return
            try:
                await asyncio.to_thread(
                    self.kube.post_event, record.ref, event.type, event.reason, event.message
                )
                report.events += 1
            except Exception as exc:  # Events are hints: never fatal, never a traceback
                report.apiserver_away = report.apiserver_away or is_outage(exc)
                self._kube_failed(exc, f"cannot post Event {event.reason} on {record.key}")
                metrics.contract_failure("EventFailed", 1)

    def _kube_failed(self, exc: BaseException, what: str) -> None:
        """Log a failed apiserver request: an outage once, a per-object refusal each time."""
        detail = describe_error(exc)
        if is_outage(exc):
            if self._apiserver_away is None:
                log.warning(
                    "the apiserver is unreachable (%s): %s; retrying every %g s",
                    detail,
                    what,
                    self.settings.retry_seconds,
                )
            self._apiserver_away = detail
            self.health.apiserver(reachable=False, detail=detail)
        else:
            log.warning("%s: %s", what, detail)

    def _apiserver_reachable(self, report: CycleReport) -> None:
        if self._apiserver_away is not None and report.status_writes + report.events:
            log.info("the apiserver answers again; statuses are being brought up to date")
            self._apiserver_away = None
            self.health.apiserver(reachable=True)

    async def _forget_deleted(self, listed: list[Record], report: CycleReport) -> None:
        """Forget contracts deleted or no longer selected since the last cycle, telling each
        (once) that its topics stay."""
        current = {r.key: r for r in listed}
        for key, gone in self._seen.items():
            now_listed = current.get(key)
            if now_listed is not None and now_listed.uid == gone.uid and now_listed.selected:
                continue
            self._written.pop(gone.uid or key, None)
            self._settled.pop(key, None)
            if now_listed is not None and now_listed.uid == gone.uid:
                log.info("%s no longer matches --selector: let go, its topics stay", key)
                await self._post(
                    gone,
                    Transition(
                        "Normal",
                        "NotSelected",
                        "no longer matches this operator's --selector "
                        f"({self.settings.selector}): its status is no longer updated "
                        "and its topics stay on the broker; the instance whose selector "
                        "matches its labels takes it over",
                    ),
                    report,
                )
                continue
            kept = [t.name for t in gone.contract.published] if gone.contract else []
            if kept:
                await self._post(
                    gone,
                    Transition(
                        "Normal",
                        "TopicsKept",
                        f"NodeContract deleted; its topics stay on the broker "
                        f"({', '.join(kept[:5])}{' ...' if len(kept) > 5 else ''}): "
                        "contract-operator never deletes topics",
                    ),
                    report,
                )
        self._seen = {k: r for k, r in current.items() if r.selected}
