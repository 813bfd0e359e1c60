#!/usr/bin/env python3
"""bench_pod.py — the chart's pod, with its memory limit enforced, reconciling N contracts.

Not a timed test: a scenario that prints what it measured. The operator runs as the chart
deploys it: the real image under podman, the Deployment rendered from the chart's DEFAULT
values plus the testbed's SASL_SSL broker (tests/integration/pod.py, as test_image.py runs
it): the user, read-only root, no capabilities, the in-cluster identity of the chart's
ServiceAccount (cluster-wide, as `namespaces: []` grants it) and the container's limits as a
kubelet sets them (memory and swap at limits.memory, a CFS quota at limits.cpu). Only what a
pod without a cluster network needs differs from the defaults: free ports for the probes and
/metrics (host network) and no webhook (the apiserver could not reach its Service).

  1. brings up the bench testbed (.testbed-bench, as hack/bench.py; reused when it is up) and
     builds the image if its sources changed (hack/image.sh build);
  2. starts the pod and times `podman run` -> /readyz 200;
  3. creates N NodeContracts of one topic each (1 partition, RF 1: hack/bench.py's manifest),
     8 creates in flight, and follows them with one watch until every one is Ready=True;
  4. waits until the operator is quiet and one periodic resync over all of them has run;
  5. restarts the pod (a new container, as after an OOM kill or a rollout) with every
     contract present, and times /readyz and its first full cycle;
  6. prints the image size, the times, the memory cgroup's peak usage (max_usage_in_bytes,
     page cache included) and the peak RSS sampled from it, against the limit, whether the
     kernel OOM-killed the container (State.OOMKilled, memory.oom_control) and the CPU
     seconds of the container (cpuacct).

It fails loudly when the container dies (no restart policy is emulated). It cleans up: the
containers, the namespaces, the cluster-scoped RBAC objects and the topics it made, and the
testbed if it started it.

    .venv/bin/python hack/bench_pod.py                  # 10,000 contracts (about 10 min)
    .venv/bin/python hack/bench_pod.py --contracts 500  # a quick run
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "hack"))

import bench  # noqa: E402
from bench import BenchError, log  # noqa: E402
from tests.integration.pod import (  # noqa: E402
    Pod,
    broker_ca,
    build_image,
    chart_values,
    identity_files,
    podman,
    render,
    service_of,
)

IDENTITY_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
CGROUP = Path("/sys/fs/cgroup")
SAMPLE_SECONDS = 0.5  # how often the memory cgroup is read
MiB = 1024 * 1024


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hack/bench_pod.py",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--contracts", type=int, default=10_000, metavar="N", help="NodeContracts (default 10000)"
    )
    parser.add_argument(
        "--memory-limit",
        metavar="Q",
        help="override the chart's resources.limits.memory (e.g. 1Gi) to find what holds",
    )
    parser.add_argument(
        "--no-restart", action="store_true", help="skip the restart with every contract present"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="limit for each wait (default: max(300, 0.12 s per contract))",
    )
    parser.add_argument(
        "--testbed-dir",
        default=str(ROOT / ".testbed-bench"),
        help="testbed state dir (default: the repo's .testbed-bench, as hack/bench.py)",
    )
    return parser


# --------------------------------------------------------------------------- the container


def cgroup_dir(controller: str, state: dict[str, Any], container_id: str) -> Path | None:
    """The container's cgroup directory under one v1 controller (cgroupfs manager)."""
    path = (state.get("CgroupPath") or "").lstrip("/")
    if path and (CGROUP / controller / path).is_dir():
        return CGROUP / controller / path
    for candidate in (CGROUP / controller).glob(f"**/*{container_id}*"):
        if candidate.is_dir():
            return candidate
    return None


def read_int(path: Path) -> int:
    return int(path.read_text().split()[0])


def memory_stat(directory: Path) -> dict[str, int]:
    out = {}
    for line in (directory / "memory.stat").read_text().splitlines():
        key, _, value = line.partition(" ")
        out[key] = int(value)
    return out


@dataclass
class Sample:
    at: float  # seconds since `podman run`
    usage: int  # memory.usage_in_bytes (RSS + page cache + kernel)
    rss: int  # memory.stat total_rss (anonymous memory)
    ready: int  # contracts Ready=True at that moment


@dataclass
class Memory:
    """Follows one container's memory cgroup every SAMPLE_SECONDS in a thread."""

    pod: Pod
    ready: Callable[[], int] = lambda: 0
    samples: list[Sample] = field(default_factory=list)
    max_usage: int = 0
    failcnt: int = 0
    oom_kills: int = 0
    cpu_ns: int = 0
    pid: int = 0

    def __post_init__(self) -> None:
        info = self.pod.inspect()
        self.pid = int(info["State"]["Pid"])
        self.memory_dir = cgroup_dir("memory", info["State"], info["Id"])
        self.cpu_dir = cgroup_dir("cpuacct", info["State"], info["Id"])
        if self.memory_dir is None:
            raise BenchError(f"no memory cgroup found for container {info['Id'][:12]}")
        self.limit = read_int(self.memory_dir / "memory.limit_in_bytes")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory", daemon=True)
        self.read()
        self._thread.start()

    def alive(self) -> bool:
        return Path(f"/proc/{self.pid}").exists()

    def read(self) -> None:
        """One sample; the last values stay when the cgroup is gone (the container died)."""
        assert self.memory_dir is not None
        try:
            usage = read_int(self.memory_dir / "memory.usage_in_bytes")
            stat = memory_stat(self.memory_dir)
            self.max_usage = read_int(self.memory_dir / "memory.max_usage_in_bytes")
            self.failcnt = read_int(self.memory_dir / "memory.failcnt")
            oom = dict(
                line.split()
                for line in (self.memory_dir / "memory.oom_control").read_text().splitlines()
            )
            self.oom_kills = int(oom.get("oom_kill", 0))
            if self.cpu_dir is not None:
                self.cpu_ns = read_int(self.cpu_dir / "cpuacct.usage")
        except (OSError, ValueError):
            return
        rss = stat.get("total_rss", stat.get("rss", 0))
        self.samples.append(Sample(time.monotonic() - self.pod.started, usage, rss, self.ready()))

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.read()

    def stop(self) -> None:
        self.read()
        self._stop.set()
        self._thread.join(10)

    @property
    def peak_rss(self) -> int:
        return max((s.rss for s in self.samples), default=0)

    def growth(self, total: int, since: float) -> str:
        """RSS at /readyz (`since`), when 25, 50, 75 and 100 % of the contracts were Ready,
        and its peak."""
        marks = []
        for share in (0, 25, 50, 75, 100):
            want = total * share // 100
            hit = next((s for s in self.samples if s.at >= since and s.ready >= want), None)
            if hit is not None:
                label = f"{share}% Ready" if share else "at /readyz"
                marks.append(f"{label} {hit.rss / MiB:.0f}")
        peak = f"peak {self.peak_rss / MiB:.0f}"
        return "RSS MiB: " + ", ".join([*marks, peak])


class PodOperator:
    """The pod in the shape hack/bench.py's wait_until() and settle() expect."""

    def __init__(self, pod: Pod, memory: Memory) -> None:
        self.pod, self.memory = pod, memory
        self.metrics_port = pod.port("metrics")

    def check_alive(self) -> None:
        if not self.memory.alive():
            state = self.pod.inspect()["State"]
            raise BenchError(
                f"the container died: exit code {state.get('ExitCode')}, "
                f"OOMKilled={state.get('OOMKilled')}, oom_kill={self.memory.oom_kills}, "
                f"peak usage {self.memory.max_usage / MiB:.0f} MiB of {self.memory.limit / MiB:.0f}"
                f"\n{self.pod.logs()[-2000:]}"
            )

    def metrics(self) -> dict[str, float]:
        return bench.Operator.metrics(self)  # type: ignore[arg-type]


@dataclass
class Run:
    """What one pod did."""

    ready_s: float = 0.0  # `podman run` -> /readyz 200
    run_s: float = 0.0  # `podman run -d` returned (container made and started)
    all_ready_s: float = 0.0  # first create -> every contract Ready (first pod only)
    apply_s: float = 0.0
    cycle_s: float = 0.0  # `podman run` -> first full cycle (restart only)
    resync_s: float = 0.0  # a periodic resync's duration (first pod only)
    max_usage: int = 0
    peak_rss: int = 0
    limit: int = 0
    oom_killed: bool = False
    oom_kills: int = 0
    failcnt: int = 0
    cpu_s: float = 0.0
    growth: str = ""


# --------------------------------------------------------------------------- the scenario


class Scenario:
    def __init__(self, args: argparse.Namespace, testbed: bench.Testbed, directory: Path) -> None:
        from kubernetes import client

        self.args, self.testbed, self.directory = args, testbed, directory
        self.n = args.contracts
        self.timeout = args.timeout or max(300.0, 0.12 * self.n)
        exports = bench._exports(
            subprocess.run(
                [str(bench.TESTBED), "env"],
                capture_output=True,
                text=True,
                env=testbed.env,
                check=True,
            ).stdout
        )
        self.secure = exports
        self.api_client = bench.kube_client(testbed.kubeconfig)
        self.core = client.CoreV1Api(self.api_client)
        run_id = uuid.uuid4().hex[:6]
        self.run_id = run_id
        self.release = f"co-bench-{run_id}"
        self.release_ns = f"co-bench-{run_id}"
        self.namespace = f"bench-pod-{run_id}"
        self.created: list[tuple[str, str]] = []  # cluster-scoped (kind, name) to delete
        self.bodies = [
            bench.manifest(self.namespace, f"p{run_id}-{i}", 1, 1) for i in range(self.n)
        ]

    # ----- setup

    def values(self, image: str, health: int, metrics: int) -> dict[str, Any]:
        values = chart_values(self.secure["SECURE_BOOTSTRAP_SERVERS"], image, health, metrics)
        if self.args.memory_limit:
            values["resources"] = {"limits": {"memory": self.args.memory_limit}}
        return values

    def install_identity(self, docs: list[dict[str, Any]]) -> None:
        """The chart's ServiceAccount and RBAC objects, exactly as rendered."""
        from kubernetes import utils

        for doc in docs:
            if doc["kind"] not in IDENTITY_KINDS:
                continue
            utils.create_from_dict(self.api_client, doc, namespace=self.release_ns)
            if doc["kind"].startswith("Cluster"):
                self.created.append((doc["kind"], doc["metadata"]["name"]))

    def existing_contracts(self) -> int:
        from kubernetes import client

        listing = client.CustomObjectsApi(self.api_client).list_cluster_custom_object(
            bench.GROUP, bench.VERSION, bench.PLURAL, limit=1
        )
        meta = listing.get("metadata") or {}
        return len(listing.get("items") or []) + int(meta.get("remainingItemCount") or 0)

    def start_pod(self, spec: dict[str, Any], image_id: str, files: dict[str, Path]) -> Pod:
        secrets = {
            "kafka-user": {
                "username": self.secure["SECURE_SASL_USERNAME"],
                "password": self.secure["SECURE_SASL_PASSWORD"],
            }
        }
        return Pod(spec, image_id, secrets, files, service_of(self.testbed))

    # ----- one pod

    def wait_ready(self, pod: Pod, operator: PodOperator) -> float:
        bench.wait_until(
            "/readyz 200", lambda: pod.probe("readinessProbe") == 200, 300, operator, 0.1
        )
        return time.monotonic() - pod.started

    def finish(self, pod: Pod, memory: Memory, run: Run, grace: int) -> Run:
        memory.stop()
        run.max_usage, run.peak_rss, run.limit = memory.max_usage, memory.peak_rss, memory.limit
        run.failcnt, run.oom_kills = memory.failcnt, memory.oom_kills
        run.cpu_s = memory.cpu_ns / 1e9
        run.growth = memory.growth(self.n, run.ready_s)
        run.run_s = pod.run_s
        took, code = pod.stop(grace)
        state = pod.inspect()["State"]
        run.oom_killed = bool(state.get("OOMKilled"))
        if code not in (0, 143):
            log(f"the operator exited with code {code} after SIGTERM ({took:.1f} s)")
        return run

    def first(self, spec: dict[str, Any], image_id: str, files: dict[str, Path]) -> Run:
        """The pod on an empty namespace; then the N creates, until all Ready and quiet."""
        run = Run()
        statuses = bench.StatusWatch(self.api_client, self.namespace, set())
        pod = self.start_pod(spec, image_id, files)
        try:
            memory = Memory(pod, ready=lambda: statuses.counts()[0])
            operator = PodOperator(pod, memory)
            run.ready_s = self.wait_ready(pod, operator)
            log(f"pod {pod.name}: /readyz 200 after {run.ready_s:.1f} s; creating {self.n}")

            applied: dict[str, Any] = {}

            def apply() -> None:
                applied["seconds"], applied["errors"] = bench.apply_all(
                    self.api_client, self.bodies
                )

            started = time.monotonic()
            applier = threading.Thread(target=apply, name="apply", daemon=True)
            applier.start()
            last_log = [started]

            def all_ready() -> bool:
                if not applier.is_alive() and applied.get("errors"):
                    errs = applied["errors"]
                    raise BenchError(f"{len(errs)} creates failed, first: {errs[0]}")
                ready = statuses.counts()[0]
                if time.monotonic() - last_log[0] >= 30:
                    last_log[0] = time.monotonic()
                    sample = memory.samples[-1]
                    log(
                        f"{ready}/{self.n} Ready, RSS {sample.rss / MiB:.0f} MiB, "
                        f"cgroup usage {sample.usage / MiB:.0f} MiB"
                    )
                return ready >= self.n

            bench.wait_until(
                f"all {self.n} NodeContracts Ready=True",
                all_ready,
                self.timeout,
                operator,
                0.2,
                last=lambda: (
                    f"{statuses.counts()[0]}/{self.n} Ready"
                    + (f"; watch: {statuses.error}" if statuses.error else "")
                ),
            )
            run.all_ready_s = time.monotonic() - started
            applier.join(self.timeout)
            run.apply_s = applied.get("seconds", 0.0)
            log(f"all {self.n} Ready after {run.all_ready_s:.1f} s (creates {run.apply_s:.1f} s)")

            bench.settle(operator, self.timeout)
            mark = operator.metrics()
            # A periodic resync over every contract (the chart's resyncSeconds): its cost in
            # memory belongs to the steady state.
            resync = self.resync_seconds(spec)
            bench.wait_until(
                "a periodic resync",
                lambda: bench.cycles(operator.metrics()) > bench.cycles(mark),
                resync * 2 + self.timeout,
                operator,
                1.0,
            )
            end = operator.metrics()
            cycles = bench.cycles(end) - bench.cycles(mark)
            run.resync_s = (bench.cycle_seconds(end) - bench.cycle_seconds(mark)) / max(cycles, 1)
            log(f"a periodic resync took {run.resync_s:.1f} s")
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
            return self.finish(pod, memory, run, grace)
        except BenchError as exc:
            raise BenchError(f"{exc}\n  pod log (tail):\n{pod.logs()[-3000:]}") from None
        finally:
            statuses.stop()
            pod.remove()

    def restart(self, spec: dict[str, Any], image_id: str, files: dict[str, Path]) -> Run:
        """A new pod with every contract present: /readyz, then its first full cycle."""
        run = Run()
        pod = self.start_pod(spec, image_id, files)
        try:
            memory = Memory(pod, ready=lambda: self.n)
            operator = PodOperator(pod, memory)
            run.ready_s = self.wait_ready(pod, operator)

            def full_cycle() -> bool:
                seen = operator.metrics()
                return (
                    bench.cycles(seen) >= 1 and seen.get("contract_operator_contracts", 0) >= self.n
                )

            bench.wait_until(
                f"a first cycle over all {self.n} contracts",
                full_cycle,
                self.timeout,
                operator,
                0.5,
            )
            run.cycle_s = time.monotonic() - pod.started
            log(f"restart: /readyz after {run.ready_s:.1f} s, full cycle after {run.cycle_s:.1f} s")
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
            return self.finish(pod, memory, run, grace)
        except BenchError as exc:
            raise BenchError(f"restart: {exc}\n  pod log (tail):\n{pod.logs()[-3000:]}") from None
        finally:
            pod.remove()

    @staticmethod
    def resync_seconds(spec: dict[str, Any]) -> float:
        env = {e["name"]: e.get("value") for e in spec["containers"][0].get("env", [])}
        return float(env.get("CONTRACT_OPERATOR_RESYNC_SECONDS") or 60)

    # ----- all of it

    def run(self) -> tuple[str, int, float, int, Run, Run | None]:
        from kubernetes import client

        image = build_image()
        inspect = subprocess.run(
            [*podman(), "image", "inspect", "--format", "{{.Id}} {{.Size}}", image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        image_id, image_size = inspect[0], int(inspect[1])
        log(f"image {image} ({image_id[:12]}), {image_size / 1e6:.0f} MB")
        bench.install_crd(self.api_client)
        others = self.existing_contracts()
        if others:
            log(f"the testbed already holds {others} NodeContracts: the pod reconciles them too")

        for name in (self.release_ns, self.namespace):
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        health, metrics = bench.free_port(), bench.free_port()
        docs = render(self.values(image, health, metrics), self.release_ns, self.release)
        self.install_identity(docs)
        (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
        spec = deployment["spec"]["template"]["spec"]
        files = {
            "broker-ca": broker_ca(self.secure["SECURE_CA_FILE"], self.directory),
            "serviceaccount": identity_files(
                self.api_client,
                self.testbed,
                self.release_ns,
                spec["serviceAccountName"],
                self.directory,
            ),
        }
        limits = spec["containers"][0].get("resources", {}).get("limits", {})
        log(f"pod limits {limits}; {self.n} contracts in namespace {self.namespace}")
        first = self.first(spec, image_id, files)
        again = None if self.args.no_restart else self.restart(spec, image_id, files)
        return image, image_size, self.resync_seconds(spec), others, first, again

    def cleanup(self) -> None:
        """The namespaces, the cluster-scoped RBAC objects and the topics of this run."""
        from kubernetes import client

        rbac = client.RbacAuthorizationV1Api(self.api_client)
        for kind, name in self.created:
            delete = (
                rbac.delete_cluster_role
                if kind == "ClusterRole"
                else rbac.delete_cluster_role_binding
            )
            try:
                delete(name)
            except client.ApiException as exc:
                if exc.status != 404:
                    log(f"could not delete {kind} {name}: {exc.reason}")
        for name in (self.namespace, self.release_ns):
            try:
                self.core.delete_namespace(name)
            except client.ApiException as exc:
                if exc.status != 404:
                    log(f"could not delete namespace {name}: {exc.reason}")
        if not self.testbed.owned:  # a testbed torn down here takes its topics with it
            from confluent_kafka.admin import AdminClient

            admin = AdminClient(
                {"bootstrap.servers": self.testbed.bootstrap, "allow.auto.create.topics": False}
            )
            names = [t["name"] for b in self.bodies for t in b["spec"]["eventBus"]["publishTopics"]]
            for start in range(0, len(names), 5000):
                for future in admin.delete_topics(
                    names[start : start + 5000], request_timeout=300
                ).values():
                    # never created (a failed run): nothing to delete
                    with contextlib.suppress(Exception):
                        future.result(timeout=330)


# --------------------------------------------------------------------------- output


def mib(value: int) -> str:
    return f"{value / MiB:.0f} MiB"


def report(
    n: int,
    image: str,
    size: int,
    resync: float,
    others: int,
    first: Run,
    again: Run | None,
    took: float,
) -> str:
    def memory(run: Run) -> str:
        share = 100 * run.max_usage / run.limit if run.limit else 0
        return (
            f"peak cgroup usage {mib(run.max_usage)} ({share:.0f}% of the {mib(run.limit)} "
            f"limit; page cache included), peak RSS {mib(run.peak_rss)}; "
            f"OOM-killed: {'YES' if run.oom_killed or run.oom_kills else 'no'} "
            f"(oom_kill {run.oom_kills}, limit hits {run.failcnt}); CPU {run.cpu_s:.1f} s"
        )

    lines = [
        f"testbed: kube-apiserver + etcd, 3 Kafka brokers (SASL_SSL) on loopback, "
        f"{os.cpu_count()} CPUs; the chart's default values, pod under podman (runc, cgroup v1)",
        f"image {image}: {size / 1e6:.0f} MB",
        f"pod: podman run -> /readyz 200 in {first.ready_s:.1f} s (podman run -d "
        f"{first.run_s:.1f} s; "
        + (
            f"{others} other contracts present)"
            if others
            else "no contract yet: the first cycle, which readiness waits for, comes after "
            "5 s with an empty view)"
        ),
        f"{n} contracts x 1 topic: created in {first.apply_s:.1f} s, all Ready after "
        f"{first.all_ready_s:.1f} s; a periodic resync over them {first.resync_s:.1f} s",
        f"  {memory(first)}",
        f"  {first.growth}",
    ]
    if again is not None:
        lines += [
            f"restart with {n} contracts present: /readyz 200 in {again.ready_s:.1f} s "
            f"(podman run -d {again.run_s:.1f} s), first full cycle after {again.cycle_s:.1f} s",
            f"  {memory(again)}",
        ]
    lines.append(f"run took {took / 60:.1f} min")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    testbed: bench.Testbed | None = None
    scenario: Scenario | None = None
    try:
        testbed = bench.Testbed(args.testbed_dir)
        with tempfile.TemporaryDirectory(prefix="co-bench-pod-") as directory:
            scenario = Scenario(args, testbed, Path(directory))
            try:
                image, size, resync, others, first, again = scenario.run()
            finally:
                scenario.cleanup()
    except (BenchError, RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"hack/bench_pod.py: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hack/bench_pod.py: interrupted", file=sys.stderr)
        return 1
    finally:
        if testbed is not None:
            testbed.down()
    took = time.monotonic() - started
    print(report(args.contracts, image, size, resync, others, first, again, took))
    return 0


if __name__ == "__main__":
    sys.exit(main())
