#!/usr/bin/env python3
"""bench_admission.py — how long the admission webhook takes to answer, with N contracts in view.

No cluster and no broker: the operator's view is built in memory (N contracts of 2 published
and 2 subscribed topics, all wired, every topic on a fake broker snapshot) and each request is
a NodeContract body as the apiserver sends it. For each size it measures:

  decide   parse the body with the one parser + core.admission.decide (what the handler does),
           per request kind: a wired re-apply, a broken wire (the "did you mean" search),
           a foreign producer (refused), a drifted topic;
  https    the same requests as AdmissionReview POSTs to kopf's HTTPS webhook server
           (aiohttp, TLS with a certificate from controller.certs, one kept-alive connection,
           as the apiserver keeps its connection), answered with the same code;
  view     building the view from scratch, and one watch-event update of it.

Each node publishes 2 of 200 event names (so each name has N/100 producers) and subscribes
to 2 topics of other nodes. A broken wire is a published name with '-' turned into '_'.

    .venv/bin/python hack/bench_admission.py                 # 1000 and 10000 contracts
    .venv/bin/python hack/bench_admission.py --sizes 500 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import random
import ssl
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "operator"))

import aiohttp  # noqa: E402
import kopf  # noqa: E402

from contract_operator.controller.admission import parse_incoming  # noqa: E402
from contract_operator.controller.certs import write_self_signed  # noqa: E402
from contract_operator.controller.webhook_config import HANDLER_ID  # noqa: E402
from contract_operator.core.admission import AdmissionMode, FleetView, decide  # noqa: E402
from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic  # noqa: E402

# 20 nouns x 10 verbs = 200 event names, so each event name is published by N/100 producers
# (10 at 1,000 contracts, 100 at 10,000): names that differ only in the producer are what the
# "did you mean" search has to rank.
NOUNS = "order invoice payment stock user route policy document session cart shipment refund "
NOUNS += "account device alert report ticket review quote batch"
VERBS = "placed issued settled reserved created updated deleted indexed expired completed"
EVENTS = [f"{n}-{v}" for n in NOUNS.split() for v in VERBS.split()]
NS = "bench"


def topic(node: int, event: int) -> str:
    return f"onex.evt.node-{node}.{EVENTS[(node * 7 + event * 13) % len(EVENTS)]}.v1"


def body(name: str, node: str, publish: list[dict[str, Any]], subscribe: list[str]) -> dict:
    return {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {
            "name": name,
            "namespace": NS,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "generation": 1,
            "uid": f"uid-{name}",
        },
        "spec": {
            "node": node,
            "eventBus": {"publishTopics": publish, "subscribeTopics": subscribe},
        },
    }


def fleet_bodies(n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        publish = [{"name": topic(i, j), "partitions": 3} for j in range(2)]
        subscribe = [topic(rng.randrange(n), rng.randrange(2)) for _ in range(2)]
        out.append(body(f"node-{i}", f"node-{i}", publish, list(dict.fromkeys(subscribe))))
    return out


def requests(n: int, rng: random.Random, bodies: list[dict]) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = {"wired": [], "broken-wire": [], "refused": [], "drift": []}
    for _ in range(50):
        kinds["wired"].append(bodies[rng.randrange(n)])
        i, j = rng.randrange(n), rng.randrange(2)
        typo = topic(i, j).replace("-", "_", 1 + rng.randrange(2)).replace("onex_", "onex.")
        kinds["broken-wire"].append(body("consumer", "consumer", [], [typo]))
        kinds["refused"].append(body("thief", "thief", [{"name": topic(rng.randrange(n), 0)}], []))
        k = rng.randrange(n)
        drifted = [{"name": topic(k, 0), "partitions": 12}, {"name": topic(k, 1), "partitions": 3}]
        kinds["drift"].append(body(f"node-{k}", f"node-{k}", drifted, []))
    return kinds


def snapshot_of(bodies: list[dict]) -> BrokerSnapshot:
    topics = {
        t["name"]: ObservedTopic(t["name"], 3, 1, {})
        for b in bodies
        for t in b["spec"]["eventBus"]["publishTopics"]
    }
    return BrokerSnapshot(topics, frozenset(topics))


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):6.2f} ms  p99 {p99:6.2f} ms  (n={len(ms)})"


def answer(view: FleetView, snapshot: BrokerSnapshot, request: dict) -> dict:
    decision = decide(parse_incoming(request), view, snapshot, AdmissionMode.DENY)
    return {"allowed": decision.allowed, "warnings": decision.warning_lines()}


async def over_https(
    view: FleetView, snapshot: BrokerSnapshot, kinds: dict[str, list[dict]], rounds: int
) -> dict[str, list[float]]:
    async def webhook_fn(data: Any, **_: Any) -> dict:
        request = data["request"]
        out = answer(view, snapshot, request["object"])
        return {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": request["uid"], **out},
        }

    with tempfile.TemporaryDirectory() as tmp:
        files = write_self_signed(Path(tmp), ["127.0.0.1"])
        server = kopf.WebhookServer(
            addr="127.0.0.1",
            host="127.0.0.1",
            certfile=str(files.certfile),
            pkeyfile=str(files.keyfile),
            cafile=str(files.cafile),
        )
        context = ssl.create_default_context(cafile=str(files.cafile))
        serving = server(webhook_fn)
        config = await serving.__anext__()
        url = f"{config['url']}/{HANDLER_ID}"
        timings: dict[str, list[float]] = {k: [] for k in kinds}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
            for _ in range(rounds):
                for kind, bodies in kinds.items():
                    for obj in bodies:
                        review = {
                            "apiVersion": "admission.k8s.io/v1",
                            "kind": "AdmissionReview",
                            "request": {"uid": "u", "operation": "CREATE", "object": obj},
                        }
                        start = time.perf_counter()
                        async with http.post(url, json=review) as response:
                            await response.json()
                        timings[kind].append(time.perf_counter() - start)
        await serving.aclose()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="contracts in the view")
    parser.add_argument("--rounds", type=int, default=4, help="passes over the 200 requests")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, kopf {metadata.version('kopf')}")
    for n in (int(s) for s in args.sizes.split(",")):
        rng = random.Random(n)
        bodies = fleet_bodies(n, rng)
        snapshot = snapshot_of(bodies)
        start = time.perf_counter()
        contracts = [parse_incoming(b) for b in bodies]
        parsed = time.perf_counter() - start
        start = time.perf_counter()
        view = FleetView(contracts)
        built = time.perf_counter() - start
        updates = []
        for c in contracts[:200]:
            t = time.perf_counter()
            view.put(c)
            updates.append(time.perf_counter() - t)
        kinds = requests(n, rng, bodies)
        print(f"\n{n} contracts ({2 * n} published topics) in the view")
        print(
            f"  view: parse all {parsed:.2f} s (the index does this as watch events arrive), "
            f"build {built * 1000:.0f} ms, one update {percentiles(updates)}"
        )
        all_decide: list[float] = []
        for kind, reqs in kinds.items():
            samples = []
            for _ in range(args.rounds):
                for obj in reqs:
                    t = time.perf_counter()
                    answer(view, snapshot, obj)
                    samples.append(time.perf_counter() - t)
            all_decide += samples
            print(f"  decide {kind:12} {percentiles(samples)}")
        print(f"  decide {'all':12} {percentiles(all_decide)}")
        timings = asyncio.run(over_https(view, snapshot, kinds, args.rounds))
        for kind, samples in timings.items():
            print(f"  https  {kind:12} {percentiles(samples)}")
        print(f"  https  {'all':12} {percentiles([s for v in timings.values() for s in v])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
