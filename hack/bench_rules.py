#!/usr/bin/env python3
"""bench_rules.py — what the rules cost at fleet sizes: plan() CPU and `validate` wall time.

No testbed: contracts and the broker snapshot are built in memory, so the figures are the
planner's own (the same plan() the operator runs each cycle and the CLI runs in CI).

  plan() CPU seconds, every declared topic present on the broker:
    1000x10, 0 broken     1,000 contracts x 10 topics, every subscription wired
    1000x10, 10 broken    ... 10 of them subscribe to a near-miss name
    10000x10, 0/2 broken  10,000 contracts x 10 topics, 0 or 2 near-miss subscriptions
    broken fleet          2,000 contracts x 5 topics, 100 near-miss subscriptions, and a broker
                          that also holds 20,000 other topics matching the naming pattern
  report, broken fleet  the CPU `report` adds to plan() for the broken fleet (its regrouping)
  `contract-operator validate` wall time (a subprocess, start-up included):
    validate 50x1000      50 files x 1,000 topics, 50 near-miss subscriptions

Near-miss subscriptions cycle through the bug shapes: '-' vs '_', plural, another version, a
renamed segment, and a typo plus another version (similar spelling). Each scenario runs in a
child process with a time limit, so a slow one is reported as such instead of hanging.

    .venv/bin/python hack/bench_rules.py
    .venv/bin/python hack/bench_rules.py --only "broken fleet" --timeout 60

The code measured is whatever `contract_operator` imports (PYTHONPATH first, else this
checkout's operator/).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
try:
    import contract_operator  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "operator"))

# Words of the generated event names (noun-verb); none ends in 's', so a plural is a new name.
NOUNS = (  # noqa: SIM905
    "order account invoice payment route cart ticket user session device policy report "
    "stock shipment review alert document message booking refund quote lead task build "
    "release deploy metric trace job batch file image profile"
).split()
VERBS = (  # noqa: SIM905
    "placed created updated deleted settled paid reserved shipped failed started completed "
    "closed opened changed sent received expired approved rejected indexed queued retried "
    "cancelled archived restored merged scored tagged flagged verified linked moved"
).split()
SHAPES = ("separator", "plural", "version", "renamed-segment", "similar")


@dataclass(frozen=True)
class Fleet:
    contracts: int
    topics: int  # published per contract
    broken: int  # contracts that also subscribe to a near-miss name
    broker_only: int = 0  # other topics on the broker, matching the pattern


PLAN_SCENARIOS = {
    "1000x10, 0 broken": Fleet(1000, 10, 0),
    "1000x10, 10 broken": Fleet(1000, 10, 10),
    "10000x10, 0 broken": Fleet(10000, 10, 0),
    "10000x10, 2 broken": Fleet(10000, 10, 2),
    "broken fleet": Fleet(2000, 5, 100, broker_only=20000),
}
VALIDATE_SCENARIO = "validate 50x1000"
REPORT_SCENARIO = "report, broken fleet"
VALIDATE_FLEET = Fleet(50, 1000, 50)


# --------------------------------------------------------------------------- the fleet


def node(i: int) -> str:
    return f"node-{i:05d}"


def event(i: int, j: int) -> str:
    """The j-th event of contract i: distinct within a contract (up to 1,024), shared across."""
    return f"{NOUNS[(j + i) % 32]}-{VERBS[(j // 32 + i) % 32]}"


def topic(i: int, j: int) -> str:
    return f"onex.evt.{node(i)}.{event(i, j)}.v1"


def near_miss(i: int, j: int, k: int) -> str:
    """A name no contract publishes, one bug shape away from topic(i, j)."""
    noun, verb = event(i, j).split("-")
    shape = SHAPES[k % len(SHAPES)]
    if shape == "separator":
        return f"onex.evt.{node(i)}.{noun}_{verb}.v1"
    if shape == "plural":
        return f"onex.evt.{node(i)}.{noun}s-{verb}.v1"
    if shape == "version":
        return f"onex.evt.{node(i)}.{noun}-{verb}.v2"
    if shape == "renamed-segment":
        return f"onex.evt.{node(i)}.{noun}-{verb}-old.v1"
    return f"onex.evt.{node(i)}.{noun[:-1]}-{verb}.v2"  # a dropped letter and another version


def manifests(fleet: Fleet) -> Iterator[dict[str, Any]]:
    every = max(1, fleet.contracts // fleet.broken) if fleet.broken else 0
    for i in range(fleet.contracts):
        producer = (i + 1) % fleet.contracts
        subscribe = [topic(producer, 0)]
        if every and i % every == 0 and i // every < fleet.broken:
            subscribe.append(near_miss(producer, 1 % fleet.topics, i // every))
        yield {
            "apiVersion": "eventbus.dev/v1alpha1",
            "kind": "NodeContract",
            "metadata": {"name": node(i), "namespace": "bench"},
            "spec": {
                "node": node(i),
                "eventBus": {
                    "publishTopics": [
                        {"name": topic(i, j), "partitions": 3, "replicationFactor": 1}
                        for j in range(fleet.topics)
                    ],
                    "subscribeTopics": subscribe,
                },
            },
        }


def broker_only_names(count: int) -> list[str]:
    """Topics no contract publishes (other producers, older versions), in the naming pattern."""
    return [f"onex.evt.legacy-{k // 10:04d}.{event(k, k % 10)}.v{1 + k % 3}" for k in range(count)]


# --------------------------------------------------------------------------- scenarios


def run_plan(fleet: Fleet, report: bool = False) -> dict[str, Any]:
    """plan() CPU; with `report`, the CPU `report` adds on top of the plan (its regrouping,
    which reuses the plan's suggestions)."""
    from contract_operator.core.planner import plan
    from contract_operator.core.report import build_report
    from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic
    from contract_operator.model.contract import Contract

    contracts = [
        Contract.from_manifest(m, f"bench/{m['metadata']['name']}") for m in manifests(fleet)
    ]
    described = {
        t.name: ObservedTopic(t.name, t.partitions, t.replication_factor)
        for c in contracts
        for t in c.published
    }
    snapshot = BrokerSnapshot(
        described, frozenset(described) | frozenset(broker_only_names(fleet.broker_only))
    )
    started = time.process_time()
    result = plan(contracts, snapshot)
    cpu = time.process_time() - started
    if report:
        started = time.process_time()
        build_report(result, snapshot)
        cpu = time.process_time() - started
    broken = [p for p in result.problems if p.code == "broken-wire"]
    return {
        "cpu": cpu,
        "broken": len(broken),
        "suggested": sum("Did you mean" in p.message for p in broken),
        "names": len(snapshot.all_names),
    }


def run_validate(fleet: Fleet) -> dict[str, Any]:
    import yaml

    with tempfile.TemporaryDirectory(prefix="bench-rules-") as directory:
        for manifest in manifests(fleet):
            path = Path(directory) / f"{manifest['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        command = [
            sys.executable,
            "-c",
            "import sys; from contract_operator.cli.main import main; sys.exit(main())",
            "validate",
            directory,
            "--format",
            "json",
        ]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"validate exited {done.returncode}: {done.stderr[-2000:]}")
    problems = json.loads(done.stdout)["problems"]
    broken = [p for p in problems if p["code"] == "broken-wire"]
    return {
        "wall": wall,
        "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "broken": len(broken),
        "suggested": sum("Did you mean" in p["message"] for p in broken),
    }


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    **{name: (lambda fleet=fleet: run_plan(fleet)) for name, fleet in PLAN_SCENARIOS.items()},
    VALIDATE_SCENARIO: lambda: run_validate(VALIDATE_FLEET),
    REPORT_SCENARIO: lambda: run_plan(PLAN_SCENARIOS["broken fleet"], report=True),
}
TARGETS = {"broken fleet": ("cpu", 1.0), VALIDATE_SCENARIO: ("wall", 10.0)}


def describe(name: str) -> str:
    fleet = PLAN_SCENARIOS["broken fleet"] if name == REPORT_SCENARIO else None
    fleet = fleet or PLAN_SCENARIOS.get(name, VALIDATE_FLEET)
    text = f"{fleet.contracts} x {fleet.topics}, {fleet.broken} broken"
    if fleet.broker_only:
        text += f", +{fleet.broker_only} broker-only topics"
    return text


def child(name: str) -> int:
    print(json.dumps(SCENARIOS[name]()))
    return 0


def parent(names: list[str], timeout: float) -> int:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {os.cpu_count()} CPUs, load average {load} (other processes slow wall times)")
    header = f"{'scenario':<20} {'fleet':<48} {'measure':<14} {'s':>7} {'CPU s':>7}"
    print(f"{header}  {'wires':<17} target")
    missed = 0
    for name in names:
        command = [sys.executable, __file__, "--child", name]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            figure, cpu, wires, result = f">{timeout:g}", "-", "-", None
        else:
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return 1
            result = json.loads(done.stdout.splitlines()[-1])
            cpu = f"{result['cpu']:.2f}"
            wires = f"{result['suggested']}/{result['broken']} suggested"
        measure, limit = TARGETS.get(name, ("cpu", None))
        if result is not None:
            figure = f"{result[measure]:.2f}"
        label = {REPORT_SCENARIO: "report CPU", VALIDATE_SCENARIO: "validate wall"}.get(
            name, "plan() CPU"
        )
        verdict = ""
        if limit is not None:
            ok = result is not None and result[measure] < limit
            missed += not ok
            verdict = f"< {limit:g} s: {'met' if ok else 'MISSED'}"
        print(
            f"{name:<20} {describe(name):<48} {label:<14} {figure:>7} {cpu:>7}  {wires:<17} "
            f"{verdict}"
        )
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="repeatable")
    parser.add_argument("--timeout", type=float, default=300, help="per scenario, seconds")
    parser.add_argument("--child", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    return parent(args.only or list(SCENARIOS), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
