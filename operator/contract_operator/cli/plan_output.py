"""`plan` and `provision` output: text for people, JSON for CI."""

from __future__ import annotations

import json
from typing import Any, TextIO

from contract_operator.cli.rules_source import AppliedRules
from contract_operator.core.planner import Plan, TopicState
from contract_operator.core.problems import Problem
from contract_operator.core.snapshot import ClusterSettings, CreateResult
from contract_operator.model.problems import Severity


def _settings(request: Any) -> str:
    def value(v: int | None) -> str:
        return "cluster-default" if v is None else str(v)

    parts = [
        f"partitions={value(request.partitions)}",
        f"replicationFactor={value(request.replication_factor)}",
    ]
    parts += [f"{k}={v}" for k, v in sorted(request.config.items())]
    return " ".join(parts)


def render(
    result: Plan,
    problems: list[Problem],
    outcome: CreateResult | None,
    fmt: str,
    bootstrap: str,
    out: TextIO,
    rules: AppliedRules | None = None,
    cluster: ClusterSettings | None = None,
) -> None:
    publishers: dict[str, list[str]] = {}
    for cp in result.contracts:
        for t in cp.contract.published:
            publishers.setdefault(t.name, []).append(cp.contract.key)
    in_sync = sorted(
        {
            t.name
            for cp in result.contracts
            for t in cp.with_state(TopicState.PRESENT)
            if t.role == "publish"
        }
    )
    if fmt == "json":
        _json(result, problems, outcome, bootstrap, out, rules, cluster, in_sync)
        return
    _text(result, problems, outcome, bootstrap, out, publishers, in_sync)


def _json(
    result: Plan,
    problems: list[Problem],
    outcome: CreateResult | None,
    bootstrap: str,
    out: TextIO,
    rules: AppliedRules | None,
    cluster: ClusterSettings | None,
    in_sync: list[str],
) -> None:
    json.dump(
        {
            "broker": bootstrap,
            "rules": rules.to_dict() if rules else None,
            # The broker-wide defaults the rules used (null: not readable).
            "cluster": {
                "defaultReplicationFactor": cluster.default_replication_factor if cluster else None,
                "autoCreateTopics": cluster.auto_create_topics if cluster else None,
            },
            "to_create": [
                {
                    "name": r.name,
                    # null: the cluster's default
                    "partitions": r.partitions,
                    "replicationFactor": r.replication_factor,
                    "config": dict(r.config),
                }
                for r in result.to_create
            ],
            "created": sorted(outcome.created) if outcome else [],
            "already_existed": sorted(outcome.already_existed) if outcome else [],
            "failed": dict(outcome.failed) if outcome else {},
            "drifted": [
                {"contract": c.key, **t.to_dict(), "unsafe": t.unsafe} for c, t in result.drifted
            ],
            "unsafe_drift": len(result.unsafe_drift),
            "in_sync": in_sync,
            "contracts": [
                {
                    "contract": cp.contract.key,
                    "source": cp.contract.source,
                    "topics": [t.to_dict() for t in cp.topics],
                }
                for cp in result.contracts
            ],
            "problems": [p.to_dict() for p in problems],
        },
        out,
        indent=2,
    )
    out.write("\n")


def _text(
    result: Plan,
    problems: list[Problem],
    outcome: CreateResult | None,
    bootstrap: str,
    out: TextIO,
    publishers: dict[str, list[str]],
    in_sync: list[str],
) -> None:
    w = out.write
    w(f"{len(result.contracts)} contracts against broker {bootstrap}\n")
    if outcome is None:
        if result.to_create:
            w(f"\nTo create ({len(result.to_create)}):\n")
            for r in result.to_create:
                w(f"  + {r.name}  {_settings(r)}  ({', '.join(publishers.get(r.name, []))})\n")
    else:
        requested = {r.name: r for r in result.to_create}
        if outcome.created:
            w(f"\nCreated ({len(outcome.created)}):\n")
            for name in sorted(outcome.created):
                detail = _settings(requested[name]) if name in requested else ""
                w(f"  + {name}  {detail}\n")
        for name in sorted(outcome.already_existed):
            w(f"  = {name} was created by someone else meanwhile; compared below\n")
        if outcome.failed:
            w(f"\nFailed ({len(outcome.failed)}):\n")
            for name, reason in sorted(outcome.failed.items()):
                w(f"  x {name}: {reason}\n")
    if result.drifted:
        w(
            f"\nDrifted ({len(result.drifted)}) - reported only, "
            "existing topics are never altered:\n"
        )
        for contract, topic in result.drifted:
            mark = "!" if topic.unsafe else "~"
            unsafe = "  UNSAFE: keeps less data than declared" if topic.unsafe else ""
            w(f"  {mark} {topic.name}  ({contract.key}){unsafe}\n")
            for d in topic.drift:
                flag = "  (unsafe)" if d.unsafe else ""
                w(f"      {d.field}: declared {d.declared}, actual {d.actual}{flag}\n")
    unverifiable = [
        (cp.contract, t) for cp in result.contracts for t in cp.topics if t.unverifiable
    ]
    if unverifiable:
        w(
            f"\nUnverifiable ({len(unverifiable)}) - declared config keys the broker does not "
            "report (not drift):\n"
        )
        for contract, topic in unverifiable:
            w(f"  ? {topic.name}  ({contract.key}): {', '.join(topic.unverifiable)}\n")
    errors = [p for p in problems if p.severity is not Severity.INFO]
    if errors:
        w(f"\nProblems ({len(errors)}):\n")
        for p in sorted(errors, key=lambda p: p.severity.rank):
            w(f"  ! {p.severity.value}: {p.message}\n")
            if p.fix:
                w(f"      fix: {p.fix}\n")
    if in_sync:
        w(
            f"\nIn sync ({len(in_sync)}): {', '.join(in_sync[:10])}"
            f"{' ...' if len(in_sync) > 10 else ''}\n"
        )
    to_create = 0 if outcome is not None else len(result.to_create)
    w(
        f"\nSummary: {to_create} to create, "
        f"{len(outcome.created) if outcome else 0} created, {len(result.drifted)} drifted "
        f"({len(result.unsafe_drift)} unsafe), "
        f"{len(in_sync)} in sync, "
        f"{sum(1 for p in problems if p.is_error)} errors.\n"
    )
