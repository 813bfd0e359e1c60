#!/usr/bin/env python3
"""bench.py — how fast the operator brings N NodeContracts x M topics to Ready, at what cost.

Runs against the real local testbed (hack/testbed.sh: kube-apiserver v1.37 + etcd and a
three-broker Apache Kafka 4.4 cluster) and the real operator as a subprocess. Before each
scenario it measures the two limits any operator is bound by, with plain clients: the broker's
time to create the scenario's topics in as few CreateTopics requests as the controller takes
(cut as the operator cuts them; deleted again afterwards) and
the apiserver's time for one status patch per contract (8 in flight). For each size it:

  1. starts `contract-operator run` on a fresh namespace (metrics on a free port);
  2. creates N NodeContracts of M published topics each, 8 creates in flight, and follows
     the namespace with one watch until every contract has Ready=True;
  3. waits until the operator is quiet (no reconcile cycle for a while), then reads its
     /metrics (admin requests by operation, status writes, reconcile cycles) and its memory
     (VmRSS, VmHWM from /proc), and checks on the broker that all NxM topics exist with the
     declared partitions;
  4. steady state: status writes and cycles over an idle interval (should both be 0);
  5. stops the operator (SIGTERM). Namespaces and topics are left in place: names are unique
     per run, so runs never see each other's objects.

    .venv/bin/python hack/bench.py                      # 100x10 and 1000x10
    .venv/bin/python hack/bench.py --contracts 50 --topics 4
    .venv/bin/python hack/bench.py --runs 100x10,500x20 --markdown

The testbed is the one in --testbed-dir (default .testbed-bench, apart from the tests' one so
its topics never pile up there): reused when it is up, otherwise started here (Kafka heap
KAFKA_HEAP, default 768m) and torn down at the end. Progress goes to stderr, the table to
stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTBED = ROOT / "hack" / "testbed.sh"
CRD_PATH = ROOT / "crds" / "nodecontract.yaml"
PYTHON = ROOT / ".venv" / "bin" / "python"
GROUP, VERSION, PLURAL = "eventbus.dev", "v1alpha1", "nodecontracts"

POLL_SECONDS = 0.1  # how often the watched counts are checked (no request: see StatusWatch)
QUIET_SECONDS = 10.0  # no status write and no create for this long: the operator is done
APPLY_THREADS = 8
DEFAULT_RUNS = "1000x10"
# The scenarios `make bench` runs after DEFAULT_RUNS (unless --runs/--contracts are given).
BROKEN_WIRES = 100
# Every broker keeps a file handle per partition it holds and this machine allows 20,000 per
# process: 10,000 preloaded topics keep the benchmark's three brokers well within that.
PRELOADED_TOPICS = 10_000
SCENARIOS = (
    ("idle-resync", 10_000, 1, 30.0),
    ("broken-fleet", 2_000, 1, 300.0),
    # Partitions and replication factor left to the cluster (3 and 3 on the testbed): the
    # status must still be written once per contract.
    ("cluster-defaults", 1_000, 1, 300.0),
)


class BenchError(Exception):
    """A step did not finish; the message says which, and what was last seen."""


# --------------------------------------------------------------------------- arguments


def parse_size(text: str) -> tuple[int, int]:
    """'100x10' (or with a multiplication sign) -> (100, 10)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)  # noqa: RUF001
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not CONTRACTSxTOPICS (e.g. 100x10)")
    contracts, topics = int(match.group(1)), int(match.group(2))
    if contracts < 1 or topics < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: both numbers must be at least 1")
    if topics > 1000:  # the CRD's maxItems for publishTopics
        raise argparse.ArgumentTypeError(f"{text!r}: at most 1000 topics per contract (CRD)")
    return contracts, topics


def parse_runs(text: str) -> list[tuple[int, int]]:
    """'100x10,1000x10' -> [(100, 10), (1000, 10)]."""
    sizes = [parse_size(part) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError("--runs needs at least one CONTRACTSxTOPICS")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hack/bench.py",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Without --contracts/--topics/--runs it runs {DEFAULT_RUNS}.",
    )
    parser.add_argument("--contracts", type=int, metavar="N", help="NodeContracts (default 100)")
    parser.add_argument("--topics", type=int, metavar="M", help="topics each (default 10)")
    parser.add_argument(
        "--runs",
        type=parse_runs,
        metavar="NxM,...",
        help=f"several sizes in one go, e.g. {DEFAULT_RUNS} (overrides --contracts/--topics)",
    )
    parser.add_argument(
        "--partitions", type=int, default=1, help="partitions per topic (default 1)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="limit for each wait (default: max(120, 0.06 s per topic): 600 s for 1000x10)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=5.0,
        metavar="S",
        help="steady-state interval in which no status write is expected (default 5)",
    )
    parser.add_argument(
        "--testbed-dir",
        default=str(ROOT / ".testbed-bench"),
        help="testbed state dir (default: the repo's .testbed-bench)",
    )
    parser.add_argument(
        "--log-dir",
        help="keep operator logs here (default: a temporary dir, kept only on failure)",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        choices=[name for name, *_ in SCENARIOS],
        help="run this fixed scenario (repeatable); all of them run by default when no size "
        "is given, none when --runs/--contracts/--topics are",
    )
    return parser


def sizes_of(args: argparse.Namespace) -> list[tuple[int, int]]:
    if args.runs:
        return list(args.runs)
    if args.contracts is None and args.topics is None:
        return parse_runs(DEFAULT_RUNS)
    return [parse_size(f"{args.contracts or 100}x{args.topics or 10}")]


def timeout_for(args: argparse.Namespace, contracts: int, topics: int) -> float:
    return args.timeout if args.timeout else max(120.0, 0.06 * contracts * topics)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- testbed


def _exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            out[key] = value.strip().strip("'\"")
    return out


class Testbed:
    """The testbed of hack/testbed.sh in `directory`; stopped at the end only if started here."""

    def __init__(self, directory: str) -> None:
        self.env = {
            **os.environ,
            "CO_TESTBED_DIR": directory,
            "KAFKA_HEAP": os.environ.get("KAFKA_HEAP", "768m"),
        }
        self.directory = directory
        running = subprocess.run([TESTBED, "env"], capture_output=True, text=True, env=self.env)
        self.owned = running.returncode != 0
        if self.owned:
            log(f"starting the testbed in {directory} (hack/testbed.sh up)")
            running = subprocess.run(
                [TESTBED, "up"], capture_output=True, text=True, env=self.env, timeout=900
            )
            if running.returncode != 0:
                raise BenchError(f"hack/testbed.sh up failed:\n{running.stderr[-3000:]}")
        else:
            log(f"reusing the running testbed in {directory}")
        exports = _exports(running.stdout)
        try:
            self.kubeconfig = exports["KUBECONFIG"]
            self.bootstrap = exports["BOOTSTRAP_SERVERS"]
        except KeyError as exc:
            raise BenchError(f"hack/testbed.sh printed no {exc} line:\n{running.stdout}") from None

    def down(self) -> None:
        if self.owned:
            log("stopping the testbed started by this benchmark (hack/testbed.sh down)")
            subprocess.run([TESTBED, "down"], capture_output=True, text=True, env=self.env)


# --------------------------------------------------------------------------- kubernetes


def kube_client(kubeconfig: str) -> Any:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    cfg.connection_pool_maxsize = APPLY_THREADS * 2
    return client.ApiClient(cfg)


def install_crd(api_client: Any, timeout: float = 60.0) -> None:
    """Create or replace crds/nodecontract.yaml and wait until it is Established."""
    import yaml
    from kubernetes import client

    body = yaml.safe_load(CRD_PATH.read_text())
    api = client.ApiextensionsV1Api(api_client)
    name = body["metadata"]["name"]
    try:
        current = api.read_custom_resource_definition(name)
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        api.replace_custom_resource_definition(name, body)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        api.create_custom_resource_definition(body)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = api.read_custom_resource_definition(name)
        conditions = {c.type: c.status for c in (crd.status.conditions or [])}
        if conditions.get("Established") == "True":
            return
        time.sleep(0.1)
    raise BenchError(f"CRD {name} not Established after {timeout:g} s")


def manifest(
    namespace: str, node: str, topics: int, partitions: int, declared: bool = True
) -> dict[str, Any]:
    settings = {"partitions": partitions, "replicationFactor": 1} if declared else {}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NodeContract",
        "metadata": {"name": node, "namespace": namespace},
        "spec": {
            "node": node,
            "eventBus": {
                "publishTopics": [
                    {
                        "name": f"onex.evt.{node}.e{j}.v1",
                        **settings,
                        "config": {"retention.ms": "604800000"},
                    }
                    for j in range(topics)
                ]
            },
        },
    }


class StatusWatch:
    """Follows the namespace's NodeContracts with one watch, as `kubectl get nc -w` would.

    Polling instead is not neutral: one LIST of 10,000 NodeContracts (about 30 MB of JSON)
    costs the apiserver about 3 s of work, so a LIST every half second keeps it busy serving
    the benchmark and slows down the very writes being measured.
    """

    def __init__(self, api_client: Any, namespace: str, broken: set[str]) -> None:
        self._api_client = api_client
        self.namespace = namespace
        self.broken = broken
        self._ready: set[str] = set()  # Ready=True
        self._settled: set[str] = set()  # any Ready condition
        self._suggested: set[str] = set()  # broken, and Wired=False names a suggestion
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="status-watch", daemon=True)
        self._thread.start()

    def counts(self) -> tuple[int, int, int]:
        """(Ready=True, with a Ready condition, broken wires with their suggestion)."""
        with self._lock:
            return len(self._ready), len(self._settled), len(self._suggested)

    def _update(self, kind: str, item: dict[str, Any]) -> None:
        name = item["metadata"]["name"]
        conditions = {c["type"]: c for c in (item.get("status") or {}).get("conditions") or []}
        ready = conditions.get("Ready", {}).get("status") == "True" and kind != "DELETED"
        settled = "Ready" in conditions and kind != "DELETED"
        wired = conditions.get("Wired", {}).get("message", "")
        suggested = settled and name in self.broken and "did you mean" in wired
        with self._lock:
            for flag, bucket in (
                (ready, self._ready),
                (settled, self._settled),
                (suggested, self._suggested),
            ):
                if flag:
                    bucket.add(name)
                else:
                    bucket.discard(name)

    def _run(self) -> None:
        from kubernetes import client, watch

        custom = client.CustomObjectsApi(self._api_client)
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listing = custom.list_namespaced_custom_object(
                        GROUP, VERSION, self.namespace, PLURAL, _request_timeout=60
                    )
                    for item in listing.get("items") or []:
                        self._update("ADDED", item)
                    version = listing["metadata"]["resourceVersion"]
                stream = watch.Watch().stream(
                    custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    resource_version=version,
                    timeout_seconds=30,
                )
                for event in stream:
                    if event["type"] == "ERROR":  # e.g. 410 Gone: list again
                        version = None
                        break
                    self._update(event["type"], event["object"])
                    version = event["object"]["metadata"]["resourceVersion"]
                    if self._stop.is_set():
                        return
            except Exception as exc:  # reconnect; keep the last problem for a timeout message
                self.error = f"{type(exc).__name__}: {exc}"[:300]
                version = None
                self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()


# --------------------------------------------------------------------------- operator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Operator:
    """`contract-operator run` as a subprocess, watching one namespace."""

    def __init__(
        self, testbed: Testbed, namespace: str, log_path: Path, resync: float = 300
    ) -> None:
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        env = {
            **testbed.env,
            "KUBECONFIG": testbed.kubeconfig,
            "BOOTSTRAP_SERVERS": testbed.bootstrap,
        }
        self.proc = subprocess.Popen(
            [
                str(PYTHON),
                "-m",
                "contract_operator",
                "run",
                "--namespace",
                namespace,
                "--resync-seconds",
                f"{resync:g}",
                "--metrics-port",
                str(self.metrics_port),
                "--health-port",
                str(self.health_port),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no operator log)"
        return "\n".join(f"    | {line}" for line in text[-lines:]) or "    | (empty)"

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"the operator exited with code {self.proc.returncode}")

    def metrics(self) -> dict[str, float]:
        """The operator's /metrics as {'name{label="value"}': value} for the samples we use."""
        from prometheus_client.parser import text_string_to_metric_families

        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            if not family.name.startswith("contract_operator_"):
                continue
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return out

    def wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                self.metrics()
                return
            except OSError as exc:
                last = exc
                time.sleep(0.1)
        raise BenchError(
            f"the operator's metrics port {self.metrics_port} did not answer "
            f"within {timeout:g} s (last: {last})"
        )

    def cpu_seconds(self) -> float:
        """User + system CPU time the operator process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MiB."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # kB -> MiB
        return fields["VmRSS"], fields["VmHWM"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"operator {self.pid} ignored SIGTERM for 30 s; killing it")
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def status_writes(m: dict[str, float]) -> int:
    return int(m.get("contract_operator_status_writes_total", 0))


def cycles(m: dict[str, float]) -> int:
    return int(m.get("contract_operator_reconcile_duration_seconds_count", 0))


def cycle_cpu(m: dict[str, float]) -> float:
    return m.get("contract_operator_reconcile_cpu_seconds_total", 0.0)


def cycle_seconds(m: dict[str, float]) -> float:
    return m.get("contract_operator_reconcile_duration_seconds_sum", 0.0)


def admin_requests(m: dict[str, float], operation: str) -> int:
    return int(m.get(f'contract_operator_admin_requests_total{{operation="{operation}"}}', 0))


class HealthWatch:
    """Polls the operator's /healthz every 0.2 s in a thread; keeps the worst latency, so a
    loop that blocks the event loop (and would fail a liveness probe) shows in the table."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/healthz"
        self.worst = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="healthz", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    response.read()
            except OSError:
                self.failures += 1
            self.worst = max(self.worst, time.monotonic() - started)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(15)
        return self.worst


# --------------------------------------------------------------------------- one size


@dataclass
class Result:
    contracts: int
    topics: int
    apply_s: float
    ready_s: float
    settled_s: float
    metadata: int
    describe_configs: int
    create_topics: int
    status_writes: int
    cycles: int
    cycle_s: float
    idle_writes: int
    idle_cycles: int
    rss_mb: float
    peak_rss_mb: float
    topics_ok: int
    healthz_worst_s: float = 0.0
    cpu_s: float = 0.0
    scenario: str = ""
    resync_requests: str = ""  # an idle resync: admin requests, status writes, CPU seconds
    restart: str = ""  # a restart: first full cycle after, status writes, peak RSS
    broker_limit_s: float = 0.0  # a plain client's one CreateTopics for the same topics
    apiserver_limit_s: float = 0.0  # a plain client's status patch per contract, 8 in flight

    @property
    def ratio(self) -> float:
        """Time to all Ready after the last apply, over the larger of the two limits."""
        bound = max(self.broker_limit_s, self.apiserver_limit_s)
        return self.after_apply_s / bound if bound else 0.0

    @property
    def after_apply_s(self) -> float:
        """All Ready (or every status written) this long after the last create returned."""
        return max(0.0, self.ready_s - self.apply_s)

    @property
    def size(self) -> str:
        label = f"{self.contracts}×{self.topics}"  # noqa: RUF001
        return f"{label} {self.scenario}" if self.scenario else label


def wait_until(
    what: str,
    predicate: Callable[[], bool],
    timeout: float,
    operator: Operator,
    interval: float = POLL_SECONDS,
    last: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        operator.check_alive()
        if predicate():
            return
        if time.monotonic() >= deadline:
            seen = last()
            raise BenchError(
                f"timed out after {timeout:g} s waiting for {what}" + (f" ({seen})" if seen else "")
            )
        time.sleep(interval)


def apply_all(api_client: Any, bodies: Sequence[dict[str, Any]]) -> tuple[float, list[str]]:
    """Create every NodeContract, APPLY_THREADS at a time; (time it took, errors)."""
    from kubernetes import client

    custom = client.CustomObjectsApi(api_client)
    errors: list[str] = []

    def create(body: dict[str, Any]) -> None:
        ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
        try:
            custom.create_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, body, _request_timeout=60
            )
        except Exception as exc:
            reason = getattr(exc, "reason", None) or exc
            errors.append(f"{ns}/{name}: {reason} {getattr(exc, 'body', '') or ''}".strip())

    started = time.monotonic()
    with ThreadPoolExecutor(APPLY_THREADS) as pool:
        list(pool.map(create, bodies))
    return time.monotonic() - started, errors


def settle(operator: Operator, timeout: float) -> tuple[dict[str, float], float]:
    """Wait until the operator has written nothing and created nothing for QUIET_SECONDS;
    (metrics, when they last changed). Idle resync cycles do not count as activity."""
    deadline = time.monotonic() + timeout
    current = operator.metrics()
    changed_at = time.monotonic()

    def activity(m: dict[str, float]) -> tuple[int, int]:
        return status_writes(m), admin_requests(m, "create_topics")

    while True:
        time.sleep(POLL_SECONDS)
        operator.check_alive()
        now = operator.metrics()
        if activity(now) != activity(current):
            changed_at = time.monotonic()
        current = now
        if time.monotonic() - changed_at >= QUIET_SECONDS:
            return current, changed_at
        if time.monotonic() >= deadline:
            raise BenchError(
                f"the operator was still reconciling after {timeout:g} s "
                f"({cycles(now)} cycles, {status_writes(now)} status writes so far)"
            )


def verify_topics(bootstrap: str, names: dict[str, int]) -> tuple[int, list[str]]:
    """How many of `names` exist with the declared partitions; and what is wrong with the rest."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
    listed = admin.list_topics(timeout=60).topics
    ok, wrong = 0, []
    for name, partitions in names.items():
        meta = listed.get(name)
        if meta is None or meta.error is not None:
            wrong.append(f"{name}: missing")
        elif len(meta.partitions) != partitions:
            wrong.append(f"{name}: {len(meta.partitions)} partitions, declared {partitions}")
        else:
            ok += 1
    return ok, wrong


# The testbed cluster's num.partitions (hack/kafka.sh): what an undeclared topic gets.
CLUSTER_PARTITIONS = 3


@dataclass
class Limits:
    broker_s: float
    apiserver_s: float


def measure_limits(
    testbed: Testbed, api_client: Any, bodies: Sequence[dict[str, Any]], run_id: str
) -> Limits:
    """What a plain client needs for the scenario's work, measured on the same testbed just
    before the operator does it: the broker creating the same number of topics (same
    settings, other names) in one CreateTopics request, and the apiserver taking one status
    patch per contract (8 in flight, as the operator's writers). Both are cleaned up."""
    from confluent_kafka.admin import AdminClient, NewTopic
    from kubernetes import client

    topics = [t for b in bodies for t in b["spec"]["eventBus"]["publishTopics"]]
    admin = AdminClient({"bootstrap.servers": testbed.bootstrap, "allow.auto.create.topics": False})
    names = [f"limit{run_id}.t{i}" for i in range(len(topics))]
    requests = [
        NewTopic(
            name,
            t.get("partitions", -1),
            t.get("replicationFactor", -1),
            config=dict(t.get("config", {})),
        )
        for name, t in zip(names, topics, strict=True)
    ]
    # As many requests as the controller takes (it refuses more than 10,000 metadata records in
    # one), cut the way the operator cuts them, all sent before waiting for any.
    from contract_operator.adapters.create_requests import create_batches

    started = time.monotonic()
    futures = [
        f
        for batch in create_batches(requests)
        for f in admin.create_topics(batch, operation_timeout=300, request_timeout=300).values()
    ]
    for future in futures:
        future.result(timeout=330)
    broker_s = time.monotonic() - started
    for start in range(0, len(names), 5000):
        for future in admin.delete_topics(
            names[start : start + 5000], request_timeout=300
        ).values():
            future.result(timeout=330)

    namespace = f"limit-{run_id}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    copies = [
        {**b, "metadata": {"name": b["metadata"]["name"], "namespace": namespace}} for b in bodies
    ]
    _, errors = apply_all(api_client, copies)
    if errors:
        raise BenchError(f"limit: {len(errors)} creates failed, first: {errors[0]}")
    custom = client.CustomObjectsApi(api_client)
    status = {
        "status": {
            "observedGeneration": 1,
            "topicCount": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Ready",
                    "message": "limit probe",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        }
    }

    def patch(body: dict[str, Any]) -> None:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, body["metadata"]["name"], status, _request_timeout=60
        )

    started = time.monotonic()
    with ThreadPoolExecutor(APPLY_THREADS) as pool:
        list(pool.map(patch, copies))
    apiserver_s = time.monotonic() - started
    core.delete_namespace(namespace)  # the controller-manager removes its contracts
    return Limits(broker_s, apiserver_s)


def broken_fleet(namespace: str, run_id: str, n: int, broken: int) -> list[dict[str, Any]]:
    """n contracts publishing one topic each; `broken` of them subscribe to a near miss of
    another contract's topic: '_' for '-' in the producer (half of them) or .v2 for .v1."""
    bodies = [manifest(namespace, f"b{run_id}-{i}", 1, 2) for i in range(n)]
    for i in range(broken):
        target = bodies[(i * (n // broken) + 1) % n]["spec"]["eventBus"]["publishTopics"][0]
        name = target["name"]
        miss = name.replace(f"b{run_id}-", f"b{run_id}_") if i % 2 else name[:-1] + "2"
        bodies[i * (n // broken)]["spec"]["eventBus"]["subscribeTopics"] = [miss]
    return bodies


def preload_topics(bootstrap: str, run_id: str, count: int) -> None:
    """`count` topics that match the naming pattern but belong to no contract in the run."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
    names = [f"onex.evt.x{run_id}-{i}.other-thing.v1" for i in range(count)]
    for start in range(0, count, 5000):
        futures = admin.create_topics(
            [NewTopic(n, 1, 1) for n in names[start : start + 5000]], request_timeout=120
        )
        for future in futures.values():
            future.result(timeout=120)


def restart(
    testbed: Testbed, namespace: str, log_dir: Path, run_id: str, n: int, m: int, resync: float
) -> str:
    """Start a fresh operator on a namespace whose `n` contracts are all Ready; how long
    until its first cycle covered all of them, what it wrote, its peak memory."""
    operator = Operator(
        testbed, namespace, log_dir / f"operator-{n}x{m}-{run_id}-restart.log", resync=resync
    )
    try:
        started = time.monotonic()
        operator.wait_up(60)

        def full_cycle() -> bool:
            seen = operator.metrics()
            return cycles(seen) >= 1 and seen.get("contract_operator_contracts", 0) >= n

        wait_until(f"a first cycle over all {n} contracts", full_cycle, 600, operator, 0.5)
        seconds = time.monotonic() - started
        writes = status_writes(operator.metrics())
        _, peak = operator.memory()
        return f"first full cycle after {seconds:.1f} s, {writes} writes, peak {peak:.0f} MB"
    finally:
        operator.stop()


def run_size(
    args: argparse.Namespace,
    testbed: Testbed,
    api_client: Any,
    log_dir: Path,
    n: int,
    m: int,
    *,
    scenario: str = "",
    resync: float = 300,
) -> Result:
    """One scenario: "" (n x m, all Ready), "idle-resync" (then one timer resync with nothing
    changed), "broken-fleet" (n x 1 with broken wires beside 20,000 unowned topics)."""
    from kubernetes import client

    timeout = timeout_for(args, n, m)
    run_id = uuid.uuid4().hex[:6]
    namespace = f"bench-{n}x{m}-{run_id}"
    client.CoreV1Api(api_client).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
    )
    broken: set[str] = set()
    if scenario == "broken-fleet":
        bodies = broken_fleet(namespace, run_id, n, BROKEN_WIRES)
        broken = {
            b["metadata"]["name"] for b in bodies if b["spec"]["eventBus"].get("subscribeTopics")
        }
        log(f"{n}x{m} {scenario}: creating {PRELOADED_TOPICS} unowned topics on the broker")
        preload_topics(testbed.bootstrap, run_id, PRELOADED_TOPICS)
    else:
        declared = scenario != "cluster-defaults"
        bodies = [
            manifest(namespace, f"b{run_id}-{i}", m, args.partitions, declared) for i in range(n)
        ]
    expected = {
        t["name"]: t.get("partitions", CLUSTER_PARTITIONS)
        for b in bodies
        for t in b["spec"]["eventBus"]["publishTopics"]
    }
    limits = measure_limits(testbed, api_client, bodies, run_id)
    log(
        f"{n}x{m} {scenario}: limits: broker creates {len(expected)} topics in "
        f"{limits.broker_s:.2f} s, apiserver takes {n} status patches in {limits.apiserver_s:.2f} s"
    )
    log(f"{n}x{m} {scenario}: namespace {namespace}, {len(expected)} topics, timeout {timeout:g} s")

    operator = Operator(
        testbed, namespace, log_dir / f"operator-{n}x{m}-{run_id}.log", resync=resync
    )
    watch: HealthWatch | None = None
    statuses = StatusWatch(api_client, namespace, broken)
    try:
        operator.wait_up(60)
        time.sleep(1.0)  # let kopf finish its (empty) initial listing and open the watch
        before = operator.metrics()
        cpu_before = operator.cpu_seconds()
        watch = HealthWatch(operator.health_port)

        # Phase 1: apply everything, poll until every contract is Ready (or, for the broken
        # fleet, until every contract has a status and every broken wire its suggestion).
        applied: dict[str, Any] = {}

        def apply() -> None:
            applied["seconds"], applied["errors"] = apply_all(api_client, bodies)

        started = time.monotonic()
        applier = threading.Thread(target=apply, name="apply", daemon=True)
        applier.start()
        seen = {"ready": 0, "suggested": 0}

        def done() -> bool:
            if not applier.is_alive() and applied.get("errors"):
                errs = applied["errors"]
                raise BenchError(f"{len(errs)} creates failed, first: {errs[0]}")
            ready, settled, seen["suggested"] = statuses.counts()
            if broken:
                seen["ready"] = settled
                return settled >= n and seen["suggested"] >= len(broken)
            seen["ready"] = ready
            return ready >= n

        what = "a status with every broken wire suggested" if broken else "Ready=True"
        wait_until(
            f"all {n} NodeContracts to have {what}",
            done,
            timeout,
            operator,
            last=lambda: (
                f"{seen['ready']}/{n} done, {seen['suggested']} suggestions"
                + (f"; watch: {statuses.error}" if statuses.error else "")
            ),
        )
        ready_s = time.monotonic() - started
        applier.join(timeout)
        if applier.is_alive() or "seconds" not in applied:
            raise BenchError(f"the creates did not finish within {timeout:g} s")
        log(f"{n}x{m}: applied in {applied['seconds']:.2f} s, all done after {ready_s:.2f} s")

        after, changed_at = settle(operator, timeout)
        settled_s = changed_at - started
        rss, peak = operator.memory()
        cpu = operator.cpu_seconds() - cpu_before
        ok, wrong = verify_topics(testbed.bootstrap, expected)
        if wrong:
            raise BenchError(
                f"{len(wrong)} of {len(expected)} topics are not right on the broker, e.g. "
                + "; ".join(wrong[:5])
            )

        # Phase 2: steady state; nothing changes, so nothing should be written.
        idle_from = operator.metrics()
        time.sleep(args.idle_seconds)
        operator.check_alive()
        idle_to = operator.metrics()

        resync_figures = restart_figures = ""
        if scenario == "idle-resync":
            # Phase 3: timer-driven resyncs with nothing changed. The first after the burst
            # re-plans once (the topics it created are now plain Present); from the second on
            # nothing changed at all: that one is the steady-state cost. The figure is the CPU
            # the process used while the cycle ran (the operator's own counter); the CPU over
            # the whole wait, which adds kopf at rest and the probes polled here, follows it.
            figures = []
            for _ in range(2):
                mark, cpu_mark = operator.metrics(), operator.cpu_seconds()
                wait_until(
                    "the next timer resync",
                    lambda mark=mark: cycles(operator.metrics()) > cycles(mark),
                    resync * 2 + 60,
                    operator,
                    interval=1.0,  # each check is a /metrics request to the operator
                )
                end, cpu_end = operator.metrics(), operator.cpu_seconds()
                requests = sum(
                    admin_requests(end, op) - admin_requests(mark, op)
                    for op in ("metadata", "describe_configs", "create_topics", "describe_topics")
                )
                figures.append(
                    f"{requests} req, {status_writes(end) - status_writes(mark)} writes, "
                    f"{cycle_cpu(end) - cycle_cpu(mark):.2f} s CPU "
                    f"({cpu_end - cpu_mark:.2f} s over the whole wait)"
                )
            resync_figures = f"first: {figures[0]}; steady: {figures[1]}"
            log(f"{n}x{m}: idle resyncs: {resync_figures}")
            # Phase 4: a restart (a new pod): the operator lists every contract, indexes it
            # and runs one full cycle, which writes nothing since every status is current.
            operator.stop()
            restart_figures = restart(testbed, namespace, log_dir, run_id, n, m, resync)
            log(f"{n}x{m}: restart: {restart_figures}")

        def delta(fn: Callable[[dict[str, float]], Any]) -> Any:
            return fn(after) - fn(before)

        result = Result(
            contracts=n,
            topics=m,
            apply_s=applied["seconds"],
            ready_s=ready_s,
            settled_s=settled_s,
            metadata=delta(lambda x: admin_requests(x, "metadata")),
            describe_configs=delta(lambda x: admin_requests(x, "describe_configs")),
            create_topics=delta(lambda x: admin_requests(x, "create_topics")),
            status_writes=delta(status_writes),
            cycles=delta(cycles),
            cycle_s=delta(cycle_seconds),
            idle_writes=status_writes(idle_to) - status_writes(idle_from),
            idle_cycles=cycles(idle_to) - cycles(idle_from),
            rss_mb=rss,
            peak_rss_mb=peak,
            topics_ok=ok,
            healthz_worst_s=watch.stop(),
            cpu_s=cpu,
            scenario=scenario,
            resync_requests=resync_figures,
            restart=restart_figures,
            broker_limit_s=limits.broker_s,
            apiserver_limit_s=limits.apiserver_s,
        )
        log(f"{n}x{m}: {result}")
        return result
    except BenchError as exc:
        raise BenchError(
            f"{n}x{m}: {exc}\n  operator log {operator.log_path} (tail):\n{operator.tail()}"
        ) from None
    finally:
        statuses.stop()
        if watch is not None:
            watch.stop()
        operator.stop()


# --------------------------------------------------------------------------- output

COLUMNS = (
    ("contracts×topics", lambda r: r.size),  # noqa: RUF001
    ("apply_s", lambda r: f"{r.apply_s:.2f}"),
    ("all_ready_s", lambda r: f"{r.ready_s:.2f}"),
    ("after_last_apply_s", lambda r: f"{r.after_apply_s:.2f}"),
    ("settled_s", lambda r: f"{r.settled_s:.2f}"),
    (
        "admin_requests (metadata/describe_configs/create_topics)",
        lambda r: f"{r.metadata}/{r.describe_configs}/{r.create_topics}",
    ),
    (
        "status_writes (per contract)",
        lambda r: f"{r.status_writes} ({r.status_writes / r.contracts:.2f})",
    ),
    ("reconcile_cycles (total_s)", lambda r: f"{r.cycles} ({r.cycle_s:.2f})"),
    ("idle_writes/cycles", lambda r: f"{r.idle_writes}/{r.idle_cycles}"),
    ("broker_limit_s", lambda r: f"{r.broker_limit_s:.2f}"),
    ("apiserver_limit_s", lambda r: f"{r.apiserver_limit_s:.2f}"),
    ("ratio_to_limit", lambda r: f"{r.ratio:.2f}"),
    ("cpu_ms_per_contract", lambda r: f"{1000 * r.cpu_s / r.contracts:.2f}"),
    ("topics_ok", lambda r: f"{r.topics_ok}/{r.contracts * r.topics}"),
    ("rss_mb", lambda r: f"{r.rss_mb:.0f}"),
    ("peak_rss_mb", lambda r: f"{r.peak_rss_mb:.0f}"),
    ("cpu_s", lambda r: f"{r.cpu_s:.1f}"),
    ("worst_healthz_s", lambda r: f"{r.healthz_worst_s:.3f}"),
    ("idle_resync", lambda r: r.resync_requests or "-"),
    ("restart", lambda r: r.restart or "-"),
)


def table(results: Sequence[Result]) -> str:
    rows = [[h for h, _ in COLUMNS]] + [[fn(r) for _, fn in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def markdown(results: Sequence[Result]) -> str:
    head = [h for h, _ in COLUMNS]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(fn(r) for _, fn in COLUMNS) + " |" for r in results]
    return "\n".join(lines)


def context_line(args: argparse.Namespace) -> str:
    return (
        "testbed: kube-apiserver v1.37.2 + controller-manager + etcd 3.6, Apache Kafka 4.4 "
        f"(3 KRaft brokers) on loopback, {os.cpu_count()} CPUs; "
        f"{args.partitions} partitions/topic; operator resync 300 s; "
        f"{APPLY_THREADS} creates in flight; Ready followed by a watch; "
        f"idle interval {args.idle_seconds:g} s"
    )


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sizes = sizes_of(args)
    except argparse.ArgumentTypeError as exc:
        print(f"hack/bench.py: error: {exc}", file=sys.stderr)
        return 2
    keep_logs = bool(args.log_dir)
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="co-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)

    results: list[Result] = []
    testbed: Testbed | None = None
    failed = False
    try:
        testbed = Testbed(args.testbed_dir)
        api_client = kube_client(testbed.kubeconfig)
        install_crd(api_client)
        sized = bool(args.runs or args.contracts or args.topics)
        for n, m in sizes if sized or not args.scenarios else []:
            results.append(run_size(args, testbed, api_client, log_dir, n, m))
        chosen = args.scenarios or ([] if sized else [name for name, *_ in SCENARIOS])
        for scenario, n, m, resync in SCENARIOS:
            if scenario in chosen:
                results.append(
                    run_size(
                        args, testbed, api_client, log_dir, n, m, scenario=scenario, resync=resync
                    )
                )
    except BenchError as exc:
        failed = True
        print(f"hack/bench.py: FAILED: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        failed = True
        print("hack/bench.py: interrupted", file=sys.stderr)
    finally:
        if testbed is not None:
            testbed.down()

    if results:
        print(context_line(args))
        print(table(results))
        if args.markdown:
            print()
            print(markdown(results))
    if failed:
        print(f"operator logs kept in {log_dir}", file=sys.stderr)
        return 1
    if not keep_logs:
        for path in log_dir.iterdir():
            path.unlink()
        log_dir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
