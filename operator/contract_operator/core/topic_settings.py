"""Rules on a published topic's settings: numeric config values and replication factors that can
never work as written.

A value such as `retention.ms: 7d` passes the CRD (config values are free text) but the broker
refuses it, and compared as text it would be drift forever: it is refused here, with the key
named, and the topic is never created or compared until it is fixed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from contract_operator.model.problems import Problem, Severity

if TYPE_CHECKING:
    from contract_operator.model.contract import Contract

# Topic configs whose value is a whole number (Kafka 3.x and Redpanda). Every key ending in
# `.ms` or `.bytes` is numeric as well, so new time and size settings are covered by name.
INTEGER_CONFIGS = frozenset(
    {
        "retention.ms",
        "retention.bytes",
        "local.retention.ms",
        "local.retention.bytes",
        "segment.ms",
        "segment.bytes",
        "segment.jitter.ms",
        "segment.index.bytes",
        "delete.retention.ms",
        "file.delete.delay.ms",
        "flush.messages",
        "flush.ms",
        "index.interval.bytes",
        "max.compaction.lag.ms",
        "min.compaction.lag.ms",
        "max.message.bytes",
        "message.timestamp.difference.max.ms",
        "message.timestamp.before.max.ms",
        "message.timestamp.after.max.ms",
        "min.insync.replicas",
        "retention.local.target.ms",
        "retention.local.target.bytes",
    }
)
# Topic configs whose value is a decimal number.
DECIMAL_CONFIGS = frozenset({"min.cleanable.dirty.ratio"})

_INTEGER = re.compile(r"^-?[0-9]+$")
_DECIMAL = re.compile(r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


def is_integer_config(key: str) -> bool:
    return key in INTEGER_CONFIGS or key.endswith((".ms", ".bytes"))


def config_value_problem(key: str, value: str) -> str | None:
    """Why `value` can never be a value of `key`, or None when it can."""
    text = value.strip()
    if is_integer_config(key) and not _INTEGER.match(text):
        return (
            f"config {key}: {value!r} is not a whole number; {key} takes an integer "
            "(or digit string) such as 604800000, or -1 for unlimited"
        )
    if key in DECIMAL_CONFIGS and not _DECIMAL.match(text):
        return f"config {key}: {value!r} is not a number; {key} takes a decimal such as 0.5"
    return None


def check_settings(contract: Contract, default_replication: int | None = None) -> list[Problem]:
    """Errors for config values that can never apply (the topic is then not created), a
    warning for an even replication factor (Redpanda refuses even factors) and one for a
    min.insync.replicas above the replication factor (declared, else `default_replication`,
    the cluster's default when the broker has been read)."""
    problems: list[Problem] = durability_problems(contract, default_replication)
    for index, topic in enumerate(contract.published):
        path = contract.field_path("publish", index).removesuffix(".name")
        for key in sorted(topic.config):
            why = config_value_problem(key, topic.config[key])
            if why:
                problems.append(
                    Problem(
                        Severity.ERROR,
                        "config-not-numeric",
                        f"{contract.key} publishes {topic.name} with {why}",
                        f"Write {key} as a number: milliseconds for *.ms, bytes for *.bytes "
                        "(7 days = 604800000 ms).",
                        source=contract.source,
                        contract=contract.key,
                        topic=topic.name,
                        field=f"{path}.config[{key!r}]",
                    )
                )
        factor = topic.replication_factor
        if factor is not None and factor % 2 == 0:
            field = "replicationFactor" if contract.shape == "manifest" else "replication_factor"
            problems.append(
                Problem(
                    Severity.WARNING,
                    "even-replication-factor",
                    f"{contract.key} publishes {topic.name} with replication factor {factor}: "
                    "Redpanda refuses even replication factors, and an even number of copies "
                    "tolerates no more broker failures than one copy fewer",
                    f"Use {factor - 1} or {factor + 1}, or omit it for the cluster's default.",
                    source=contract.source,
                    contract=contract.key,
                    topic=topic.name,
                    field=f"{path}.{field}",
                )
            )
    return problems


def durability_problems(contract: Contract, default_replication: int | None) -> list[Problem]:
    """min.insync.replicas above the replication factor: the topic is created and looks
    healthy, and then every producer with acks=all fails with NOT_ENOUGH_REPLICAS."""
    problems: list[Problem] = []
    for index, topic in enumerate(contract.published):
        text = (topic.config.get("min.insync.replicas") or "").strip()
        if not _INTEGER.match(text):
            continue
        wanted = int(text)
        factor = topic.replication_factor
        source = "its replication factor"
        if factor is None:
            factor, source = default_replication, "the cluster's default replication factor"
        if factor is None or wanted <= factor:
            continue
        path = contract.field_path("publish", index).removesuffix(".name")
        problems.append(
            Problem(
                Severity.WARNING,
                "min-insync-above-replication",
                f"{contract.key} publishes {topic.name} with min.insync.replicas {wanted}, "
                f"above {source} {factor}: every producer with acks=all will fail with "
                "NOT_ENOUGH_REPLICAS",
                f"Lower min.insync.replicas to at most {factor} ({max(1, factor - 1)} keeps "
                "writes going with one broker down), or raise the replication factor.",
                source=contract.source,
                contract=contract.key,
                topic=topic.name,
                field=f"{path}.config['min.insync.replicas']",
            )
        )
    return problems
