#!/usr/bin/env python3
"""bench_adopt.py — how long `contract-operator adopt` takes on a big unmanaged bus.

Seeds the real testbed's Kafka cluster with N topics (1 partition, replication factor 1, one
config set on every tenth) under N / T producer segments and G consumer groups (each with
committed offsets on 3 topics of other segments; committing is enough, nothing is consumed),
then times `contract-operator adopt --no-cluster` writing the contracts to a directory (twice:
right after seeding and again), and
`contract-operator plan` on what it wrote (which must say: in sync, nothing to create).

    .venv/bin/python hack/bench_adopt.py                      # 10,000 topics, 500 groups
    .venv/bin/python hack/bench_adopt.py --topics 1000 --groups 50
    .venv/bin/python hack/bench_adopt.py --testbed-dir .testbed   # reuse the tests' testbed

The testbed is the one in --testbed-dir (default .testbed-bench): reused when it is up,
otherwise started here and torn down at the end. Topics are left in place (names are unique
per run). Progress goes to stderr, the figures to stdout.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTBED = ROOT / "hack" / "testbed.sh"
sys.path.insert(0, str(ROOT))
from tests.integration.groups import settling  # noqa: E402

CLI = [sys.executable, "-m", "contract_operator"]


def log(message: str) -> None:
    print(f"[bench_adopt] {message}", file=sys.stderr, flush=True)


def testbed(directory: str) -> tuple[dict[str, str], bool]:
    env = {**os.environ, "CO_TESTBED_DIR": directory}
    running = subprocess.run([TESTBED, "env"], capture_output=True, text=True, env=env)
    owned = running.returncode != 0
    if owned:
        log(f"starting the testbed in {directory}")
        running = subprocess.run(
            [TESTBED, "up"], capture_output=True, text=True, env=env, timeout=900, check=True
        )
    for line in running.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            env[key] = value.strip().strip("'\"")
    return env, owned


def seed(bootstrap: str, run: str, topics: int, per_node: int, groups: int) -> list[str]:
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    sys.path.insert(0, str(ROOT / "operator"))
    from contract_operator.adapters.create_requests import create_batches

    admin = AdminClient({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
    names = [f"onex.evt.{run}n{i // per_node:04d}.e{i % per_node:03d}.v1" for i in range(topics)]
    requests = [
        NewTopic(n, 1, 1, config={"retention.ms": "3600000"} if i % 10 == 0 else {})
        for i, n in enumerate(names)
    ]
    started = time.monotonic()
    for batch in create_batches(requests):
        for _name, future in admin.create_topics(batch, operation_timeout=120).items():
            future.result(timeout=180)
    while (
        len({n for n in admin.list_topics(timeout=30).topics if n.startswith("onex.evt." + run)})
        < topics
    ):
        time.sleep(0.5)
    log(f"created {topics} topics in {time.monotonic() - started:.1f} s")

    nodes = topics // per_node

    def commit(g: int) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"{run}n{g % nodes:04d}-consumer"
                if g < nodes
                else f"{run}g{g:04d}-consumer",
                "enable.auto.commit": False,
            }
        )
        read = [names[(g * 7 + k * per_node + 1) % topics] for k in range(3)]
        try:
            for attempt in range(60):
                try:
                    offsets = [TopicPartition(t, 0, 0) for t in read]
                    consumer.commit(offsets=offsets, asynchronous=False)
                    break
                except KafkaException as exc:
                    # A fresh cluster is still electing the coordinators of __consumer_offsets.
                    if not settling(exc) or attempt == 59:
                        raise
                    time.sleep(0.5)
        finally:
            consumer.close()

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(commit, range(groups)))
    log(f"committed offsets for {groups} groups in {time.monotonic() - started:.1f} s")
    return names


def timed(
    args: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--per-node", type=int, default=20, help="topics per producer segment")
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--testbed-dir", default=str(ROOT / ".testbed-bench"))
    args = parser.parse_args()
    env, owned = testbed(args.testbed_dir)
    run = "b" + uuid.uuid4().hex[:6]
    try:
        seed(env["BOOTSTRAP_SERVERS"], run, args.topics, args.per_node, args.groups)
        out = tempfile.mkdtemp(prefix="adopt-bench-")
        adopt = [
            *CLI,
            "adopt",
            "--no-cluster",
            "--group-to-node",
            "{node}-consumer",
            "--topics",
            rf"^onex\.evt\.{run}",
            "--format",
            "contract-yaml",
            "-o",
            out,
        ]
        # Twice: right after the seed the brokers are still settling 10,000 new topics, the
        # second run is what a cluster that has been up for a while costs.
        for attempt in ("right after seeding", "again"):
            wall, cpu, done = timed([*adopt, "--force"], env)
            if done.returncode not in (0, 3):
                log(done.stderr)
                return 1
            print(
                f"adopt ({attempt}): {args.topics} topics, {args.groups} consumer groups "
                f"({args.topics // args.per_node} segments): {wall:.1f} s wall, {cpu:.1f} s CPU "
                f"(exit {done.returncode})"
            )
        print(f"  {done.stderr.splitlines()[0]}")
        plan_wall, plan_cpu, planned = timed([*CLI, "plan", out], env)
        print(
            f"plan on what adopt wrote: {plan_wall:.1f} s wall, {plan_cpu:.1f} s CPU, "
            f"exit {planned.returncode} (0: in sync, nothing to create)"
        )
        print(f"  {(planned.stdout.strip().splitlines() or [''])[-1]}")
        return 0 if planned.returncode == 0 else 1
    finally:
        if owned:
            log("stopping the testbed started here")
            subprocess.run([TESTBED, "down"], capture_output=True, env=env)


if __name__ == "__main__":
    sys.exit(main())
