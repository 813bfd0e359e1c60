"""Prometheus metrics, refreshed once per reconcile cycle."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge, Histogram, start_http_server

from ..core.planner import Plan, TopicState

if TYPE_CHECKING:
    from ..adapters.broker import Broker
    from ..adapters.kube import Kube

TOPICS = Gauge(
    "contract_operator_topics", "Declared topics by state (publish and subscribe roles)", ["state"]
)
DRIFTED = Gauge(
    "contract_operator_drifted_topics",
    'Published topics drifted from the contract, by field; unsafe="true" when the broker '
    "keeps fewer copies or less data than declared",
    ["field", "unsafe"],
)
BROKEN_WIRES = Gauge(
    "contract_operator_broken_wires", "Subscriptions to topics that no contract publishes"
)
UNOWNED = Gauge(
    "contract_operator_unowned_topics",
    "Topics on the broker that match the naming rules but that no contract publishes",
)
RECREATED = PromCounter(
    "contract_operator_topics_recreated",
    "Declared topics seen with a new topic id: deleted and re-created (data and offsets lost)",
)
AUTO_CREATE = Gauge(
    "contract_operator_broker_auto_create_topics",
    "1 when the broker has auto.create.topics.enable=true (a consumer's typo creates a topic)",
)
CONTRACTS = Gauge("contract_operator_contracts", "NodeContracts in the operator's view")
RECONCILE = Histogram(
    "contract_operator_reconcile_duration_seconds",
    "Duration of one reconcile cycle",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RECONCILE_CPU = PromCounter(
    "contract_operator_reconcile_cpu_seconds",
    "CPU time the process used while reconcile cycles ran (all threads; what a cycle costs)",
)
ADMIN_REQUESTS = PromCounter(
    "contract_operator_admin_requests", "Kafka admin requests made", ["operation"]
)
ADMIN_ERRORS = PromCounter(
    "contract_operator_admin_errors", "Kafka admin requests that failed", ["operation"]
)
STATUS_WRITES = PromCounter("contract_operator_status_writes", "NodeContract status patches")
LAST_CYCLE = Gauge(
    "contract_operator_last_cycle_timestamp_seconds",
    "Unix time when the last reconcile cycle finished",
)
LAST_CYCLE_OK = Gauge(
    "contract_operator_last_cycle_success",
    "1 when the last cycle reached the broker and wrote every status, else 0",
)
CONTRACT_FAILURES = PromCounter(
    "contract_operator_contract_failures",
    "Per-contract (or per-topic) failures isolated by the loop, by reason",
    ["reason"],
)

# Counters are fed from the adapters' own tallies, so only the delta since the last cycle is added.
_last: dict[str, Counter[str]] = {"requests": Counter(), "errors": Counter(), "writes": Counter()}


def serve(port: int) -> None:
    if port:
        start_http_server(port)


def cycle_finished(ok: bool) -> None:
    LAST_CYCLE.set_to_current_time()
    LAST_CYCLE_OK.set(1 if ok else 0)


def contract_failure(reason: str, count: int) -> None:
    if count:
        CONTRACT_FAILURES.labels(reason).inc(count)


def observe_cycle(
    plan: Plan, seconds: float, broker: Broker, kube: Kube, cpu_seconds: float = 0.0
) -> None:
    RECONCILE.observe(seconds)
    RECONCILE_CPU.inc(max(0.0, cpu_seconds))
    CONTRACTS.set(len(plan.contracts))
    states = Counter(t.state for cp in plan.contracts for t in cp.topics)
    for state in TopicState:
        TOPICS.labels(state.value).set(states.get(state, 0))
    fields = Counter((d.field, d.unsafe) for _, t in plan.drifted for d in t.drift)
    DRIFTED.clear()
    for (name, unsafe), count in fields.items():
        DRIFTED.labels(name, "true" if unsafe else "false").set(count)
    BROKEN_WIRES.set(states.get(TopicState.ORPHANED, 0))
    _add(ADMIN_REQUESTS, "requests", broker.requests)
    _add(ADMIN_ERRORS, "errors", broker.errors)
    writes = kube.writes.get("status", 0) - _last["writes"].get("status", 0)
    if writes:
        STATUS_WRITES.inc(writes)
    _last["writes"] = Counter(kube.writes)


def _add(metric: PromCounter, key: str, totals: Counter[str]) -> None:
    for operation, total in totals.items():
        delta = total - _last[key].get(operation, 0)
        if delta:
            metric.labels(operation).inc(delta)
    _last[key] = Counter(totals)
