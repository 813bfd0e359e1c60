"""`contract-operator graph` output, whole: the demo fleet against an in-memory broker and the
broken examples without one, as Mermaid and DOT (and collapsed), compared with
tests/unit/golden/. test_graph.py checks what the picture must show; this pins the rest.
After a deliberate change: `UPDATE_GOLDEN=1 pytest tests/unit/test_graph_golden.py`, review.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_operator.adapters import broker as broker_module
from contract_operator.cli.main import main

from .test_report_golden import GOLDEN, ROOT, _demo_broker

CASES = {
    "demo": ["examples/demo", "--bootstrap-server", "127.0.0.1:9"],
    "broken": ["examples/broken", "--no-broker"],
    "demo-collapsed": ["examples/demo", "--bootstrap-server", "127.0.0.1:9", "--collapse-healthy"],
}


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
@pytest.mark.parametrize("name", list(CASES))
def test_graph_output_is_unchanged(
    name: str, fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = _demo_broker()
    monkeypatch.setattr(broker_module, "AdminClient", lambda conf: admin)
    args = CASES[name]
    main(["graph", str(ROOT / args[0]), *args[1:], "--format", fmt])
    text = capsys.readouterr().out.replace(f"{ROOT}{os.sep}", "")
    path = GOLDEN / f"graph-{name}.{'mmd' if fmt == 'mermaid' else 'dot'}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == Path(path).read_text(), f"{path.name} differs: review, then UPDATE_GOLDEN=1"


def test_dot_labels_escape_backslashes_quotes_and_newlines() -> None:
    from contract_operator.core.graph import Graph, build_graph
    from contract_operator.core.graph_render import to_dot
    from contract_operator.core.planner import plan

    from .factories import contract

    graph = build_graph(plan([contract("x", subscribe=["onex.evt.router.done.v1"])], None))
    tampered = Graph(
        graph.contracts,
        tuple(type(t)(t.id, t.name, 'a\\b"c\nd', t.group, t.marks, t.note) for t in graph.topics),
        graph.edges,
        title="fleet",
    )
    text = to_dot(tampered)
    assert 'label="a\\\\b\\"c\\nd\\n[broken wire]"' in text
    assert 'label="fleet\\nboxes:' in text
