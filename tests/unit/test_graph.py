"""`graph`: the wiring as Mermaid / DOT, with what is wrong marked on the topic it concerns."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from contract_operator.cli.main import main
from contract_operator.core.graph import EdgeKind, Graph, Mark, build_graph
from contract_operator.core.graph_render import to_dot, to_mermaid
from contract_operator.core.planner import plan
from contract_operator.core.unowned import unowned_topics
from contract_operator.model.loader import load_paths
from tests.unit.factories import contract
from tests.unit.test_report import DEMO, LEFT_BEHIND, ROOT, demo_snapshot

BROKEN = ROOT / "examples" / "broken"


def _by_name(graph: Graph) -> dict[str, object]:
    return {t.name: t for t in graph.topics}


def _suggestions(graph: Graph) -> dict[str, str]:
    names = {t.id: t.name for t in graph.topics}
    return {names[e.source]: names[e.target] for e in graph.edges if e.kind is EdgeKind.SUGGEST}


def broken_graph(**kwargs: object) -> Graph:
    loaded = load_paths([BROKEN])
    return build_graph(plan(loaded.contracts, None), **kwargs)  # type: ignore[arg-type]


def demo_graph(**kwargs: object) -> Graph:
    loaded = load_paths([DEMO])
    snapshot = demo_snapshot()
    return build_graph(
        plan(loaded.contracts, snapshot),
        unowned=unowned_topics(loaded.contracts, snapshot.all_names),
        **kwargs,  # type: ignore[arg-type]
    )


def test_every_broken_wire_in_the_examples_is_marked_with_its_suggested_target() -> None:
    graph = broken_graph()
    assert _suggestions(graph) == {
        "onex.evt.router.routing_complete.v1": "onex.evt.router.routing-complete.v1",
        "onex.evt.policy-engine.policy-updated.v1": "onex.evt.policy-engine.policies-updated.v1",
        "onex.evt.inventory.stock-reserved.v1": "onex.evt.inventory.stock-reserved.v2",
        "onex.evt.payments.payment-completed.v1": "onex.evt.payments.payment-settled.v1",
    }
    topics = {t.name: t for t in graph.topics}
    for name in _suggestions(graph):
        assert topics[name].mark is Mark.BROKEN
    broken_edges = [e for e in graph.edges if e.kind is EdgeKind.BROKEN]
    # and checkout's: its only publisher breaks the producer rule, so nobody may create it
    assert len(broken_edges) == 5
    assert topics["onex.cmd.checkout.place-order.v1"].marks == (Mark.BROKEN, Mark.INVALID)


def test_conflicts_and_invalid_names_in_the_examples_are_marked() -> None:
    graph = broken_graph()
    topics = {t.name: t for t in graph.topics}
    assert topics["onex.evt.search.document-indexed.v1"].mark is Mark.CONFLICT
    assert Mark.INVALID in topics["onex.cmd.checkout.place-order.v1"].marks
    assert topics["onex.evt.billing.Invoice_Created.v1"].mark is Mark.INVALID
    conflict_edges = [e for e in graph.edges if e.kind is EdgeKind.CONFLICT]
    ids = {c.id: c.key for c in graph.contracts}
    assert [ids[e.source] for e in conflict_edges] == ["agents/search-canary"]


def test_without_a_broker_nothing_is_marked_unknown() -> None:
    assert all(Mark.UNKNOWN not in t.marks for t in broken_graph().topics)


def test_demo_fleet_marks_drift_unowned_broken_and_healthy() -> None:
    graph = demo_graph(end_offsets={LEFT_BEHIND: 0})
    marks = {t.name: t.mark for t in graph.topics}
    assert marks["onex.evt.billing.invoice-issued.v1"] is Mark.UNSAFE  # 1 h of 7 d retention
    assert marks[LEFT_BEHIND] is Mark.UNOWNED
    assert marks["onex.evt.router.routing_complete.v1"] is Mark.BROKEN
    assert marks["onex.cmd.gateway.route-request.v1"] is Mark.HEALTHY
    invoice = next(t for t in graph.topics if t.name == "onex.evt.billing.invoice-issued.v1")
    assert invoice.note == "partitions, retention.ms"
    left = next(t for t in graph.topics if t.name == LEFT_BEHIND)
    assert left.note == "empty (never written)" and left.group == "router"
    # grouped by producer segment, each with its own node's contract
    groups = graph.groups()
    assert [c.key for c in groups["router"][0]] == ["demo/router"]
    assert {t.label for t in groups["router"][1]} >= {"evt.routing-complete.v1"}


def test_collapse_healthy_keeps_problems_and_draws_healthy_topics_as_node_arrows() -> None:
    graph = demo_graph(collapse_healthy=True)
    names = {t.name for t in graph.topics}
    assert "onex.cmd.gateway.route-request.v1" not in names
    # the suggested fix of a broken wire stays visible even though it is healthy
    assert "onex.evt.router.routing-complete.v1" in names
    assert {"onex.evt.router.routing_complete.v1", LEFT_BEHIND} <= names
    ids = {c.id: c.key for c in graph.contracts}
    collapsed = {
        (ids[e.source], ids[e.target], e.label) for e in graph.edges if e.kind is EdgeKind.COLLAPSED
    }
    assert collapsed == {("demo/gateway", "demo/router", "cmd.route-request.v1")}
    assert graph.hidden_healthy == 1
    # not on this broker yet: shown, not folded away
    assert "onex.evt.notifier.notification-sent.v1" in names


def test_nodes_of_two_namespaces_are_told_apart() -> None:
    a = contract("router", publish=["onex.evt.router.done.v1"], namespace="team-a")
    b = contract("audit", subscribe=["onex.evt.router.done.v1"], namespace="team-b")
    graph = build_graph(plan([a, b], None))
    assert {c.label for c in graph.contracts} == {"team-a/router", "team-b/audit"}
    single = build_graph(plan([a], None))
    assert [c.label for c in single.contracts] == ["router"]


def _declared_and_used(text: str, node: str, edge: str) -> tuple[set[str], set[str]]:
    declared = set(re.findall(node, text, re.M))
    used = {x for pair in re.findall(edge, text, re.M) for x in pair}
    return declared, used


def test_mermaid_declares_every_node_it_links_and_styles_the_broken_edges() -> None:
    graph = demo_graph()
    text = to_mermaid(graph)
    assert text.startswith("flowchart LR\n")
    declared, used = _declared_and_used(
        text, r"^\s+([ct]\d+)[\[(]", r"^\s+([ct]\d+) \S+?(?:\|[^|]*\|)? ([ct]\d+)$"
    )
    assert used and used <= declared
    edge_lines = [line for line in text.splitlines() if re.match(r"^\s+[ct]\d+ [-=.]", line)]
    styled = {
        int(i)
        for line in text.splitlines()
        if line.strip().startswith("linkStyle")
        for i in line.split()[1].split(",")
    }
    assert {i for i, line in enumerate(edge_lines) if "-.->" in line} == styled
    assert "did you mean?" in text and "[broken wire]" in text and "[unowned]" in text


def test_labels_cannot_break_out_of_their_quotes() -> None:
    # Names come from the cluster; a quote must not end the label (the CRD forbids it, files
    # read with a custom pattern might not).
    c = contract("x", subscribe=["onex.evt.router.done.v1"])
    graph = build_graph(plan([c], None))
    tampered = Graph(
        graph.contracts,
        tuple(type(t)(t.id, t.name, 'a"b<c>', t.group, t.marks, t.note) for t in graph.topics),
        graph.edges,
    )
    assert "a#quot;b#lt;c#gt;" in to_mermaid(tampered)
    assert 'a\\"b<c>' in to_dot(tampered)


def test_dot_declares_every_node_it_links() -> None:
    text = to_dot(broken_graph())
    declared, used = _declared_and_used(text, r"^\s+([ct]\d+) \[", r"^\s+([ct]\d+) -> ([ct]\d+) \[")
    assert used and used <= declared
    assert text.count("{") == text.count("}")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_accepts_the_dot_output(tmp_path: Path) -> None:
    for graph in (broken_graph(), demo_graph(), demo_graph(collapse_healthy=True)):
        result = subprocess.run(
            ["dot", "-Tsvg"], input=to_dot(graph), capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert "<svg" in result.stdout


def test_a_hundred_healthy_nodes_collapse_to_a_hundred_boxes() -> None:
    contracts = []
    for i in range(100):
        upstream = f"onex.evt.n{i - 1}.done.v1" if i else None
        contracts.append(
            contract(
                f"n{i}",
                publish=[f"onex.evt.n{i}.done.v1"],
                subscribe=[upstream] if upstream else [],
            )
        )
    snapshot_names = {f"onex.evt.n{i}.done.v1" for i in range(100)}
    from tests.unit.factories import broker, observed

    snapshot = broker(*(observed(n) for n in snapshot_names))
    full = build_graph(plan(contracts, snapshot))
    assert len(full.topics) == 100
    collapsed = build_graph(plan(contracts, snapshot), collapse_healthy=True)
    assert not collapsed.topics and len(collapsed.contracts) == 100
    assert len(collapsed.edges) == 99
    assert "100 healthy topics" in to_dot(collapsed)


def test_graph_command_on_files_prints_mermaid_or_dot(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BOOTSTRAP_SERVERS", raising=False)
    assert main(["graph", str(DEMO)]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR")
    out = tmp_path / "g.dot"
    assert main(["graph", str(DEMO), "--format", "dot", "-o", str(out)]) == 0
    assert out.read_text().startswith("digraph contracts {")


def test_graph_with_an_unreachable_broker_warns_and_draws_anyway(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["graph", str(DEMO), "--bootstrap-server", "127.0.0.1:1", "--broker-timeout", "1"])
    assert code == 0
    captured = capsys.readouterr()
    assert "drawn without the broker" in captured.err
    assert captured.out.startswith("flowchart LR")
