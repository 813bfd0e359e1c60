"""hack/bench.py: which sizes the arguments select, and the manifests it applies (no testbed)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from contract_operator.model.contract import Contract

BENCH = Path(__file__).resolve().parents[2] / "hack" / "bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def sizes(bench: ModuleType, *argv: str) -> list[tuple[int, int]]:
    return bench.sizes_of(bench.build_parser().parse_args(list(argv)))  # type: ignore[no-any-return]


def test_default_run_is_1000x10_then_the_fixed_scenarios(bench: ModuleType) -> None:
    assert sizes(bench) == [(1000, 10)]
    assert [s[:3] for s in bench.SCENARIOS] == [
        ("idle-resync", 10_000, 1),
        ("broken-fleet", 2_000, 1),
        ("cluster-defaults", 1_000, 1),
    ]


def test_broken_fleet_subscribes_to_near_misses_of_published_names(bench: ModuleType) -> None:
    bodies = bench.broken_fleet("ns", "r1", 200, 10)
    published = {b["spec"]["eventBus"]["publishTopics"][0]["name"] for b in bodies}
    subscribed = [s for b in bodies for s in b["spec"]["eventBus"].get("subscribeTopics", [])]
    assert len(subscribed) == 10 and not set(subscribed) & published


def test_contracts_and_topics_select_one_size(bench: ModuleType) -> None:
    assert sizes(bench, "--contracts", "50", "--topics", "4") == [(50, 4)]
    assert sizes(bench, "--contracts", "7") == [(7, 10)]
    assert sizes(bench, "--topics", "3") == [(100, 3)]


def test_runs_lists_several_sizes_and_wins(bench: ModuleType) -> None:
    assert sizes(bench, "--runs", "100x10, 500X20,2x3", "--contracts", "9") == [
        (100, 10),
        (500, 20),
        (2, 3),
    ]


@pytest.mark.parametrize("bad", ["", "100", "100x", "x10", "0x10", "10x0", "10x1001", "ax1"])
def test_bad_runs_are_refused(bench: ModuleType, bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        bench.parse_runs(bad)


def test_timeout_scales_with_size(bench: ModuleType) -> None:
    args = bench.build_parser().parse_args([])
    assert bench.timeout_for(args, 100, 10) == 120
    assert bench.timeout_for(args, 1000, 10) == 600
    args = bench.build_parser().parse_args(["--timeout", "30"])
    assert bench.timeout_for(args, 1000, 10) == 30


def test_manifests_are_valid_contracts_with_unique_topics(bench: ModuleType) -> None:
    bodies = [bench.manifest("bench-ns", f"babc123-{i}", 3, 2) for i in range(12)]
    contracts = [Contract.from_manifest(b, source="bench") for b in bodies]
    names = [t.name for c in contracts for t in c.published]
    assert len(names) == len(set(names)) == 36
    assert all(t.partitions == 2 for c in contracts for t in c.published)
    assert "onex.evt.babc123-11.e2.v1" in names


def test_cluster_defaults_manifests_leave_partitions_and_factor_to_the_cluster(
    bench: ModuleType,
) -> None:
    (topic,) = bench.manifest("ns", "babc-1", 1, 2, declared=False)["spec"]["eventBus"][
        "publishTopics"
    ]
    contract = Contract.from_manifest(bench.manifest("ns", "babc-1", 1, 2, False), "bench")
    assert "partitions" not in topic and "replicationFactor" not in topic
    assert contract.published[0].partitions is None
