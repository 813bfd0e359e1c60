"""The wiring graph drawn: Graphviz DOT and Mermaid, with a legend. The words in each label
carry the meaning; colours and dashes only repeat it."""

from __future__ import annotations

from collections.abc import Iterable

from .graph import ContractNode, EdgeKind, Graph, Mark, TopicNode

# (fill, stroke, dashed) per mark; the words in the label carry the meaning without colour.
_STYLE: dict[Mark, tuple[str, str, bool]] = {
    Mark.BROKEN: ("#f8d7da", "#c62828", True),
    Mark.CONFLICT: ("#ffe0b2", "#e65100", False),
    Mark.INVALID: ("#f3e5f5", "#6a1b9a", True),
    Mark.UNSAFE: ("#f8d7da", "#b71c1c", False),
    Mark.FAILED: ("#f8d7da", "#b71c1c", True),
    Mark.DRIFT: ("#fff3cd", "#b8860b", False),
    Mark.UNOWNED: ("#eeeeee", "#616161", True),
    Mark.MISSING: ("#fafafa", "#9e9e9e", True),
    Mark.UNKNOWN: ("#ffffff", "#9e9e9e", True),
    Mark.HEALTHY: ("#e8f5e9", "#2e7d32", False),
}
_EDGE_STYLE: dict[EdgeKind, tuple[str, str]] = {  # (colour, dot style)
    EdgeKind.PUBLISH: ("#455a64", "solid"),
    EdgeKind.SUBSCRIBE: ("#455a64", "solid"),
    EdgeKind.BROKEN: ("#c62828", "dashed"),
    EdgeKind.CONFLICT: ("#e65100", "dashed"),
    EdgeKind.INVALID: ("#6a1b9a", "dashed"),
    EdgeKind.SUGGEST: ("#c62828", "dotted"),
    EdgeKind.COLLAPSED: ("#2e7d32", "solid"),
}
_CONTRACT_STYLE = ("#e3f2fd", "#1565c0")
LEGEND = (
    "boxes: contracts, grouped with the topics of their producer segment; "
    "arrows: publisher -> topic -> subscriber\n"
    "red dashed: broken wire (dotted: did you mean?); orange: conflict; yellow: drift; "
    "red: unsafe drift or create failed;\ngrey dashed: unowned or not created yet; "
    "purple: invalid name; green: healthy"
)


def _topic_lines(t: TopicNode) -> list[str]:
    lines = [t.label]
    words = [m.value for m in t.marks if m is not Mark.HEALTHY]
    if words:
        lines.append("[" + ", ".join(words) + "]")
    if t.note:
        lines.append(t.note)
    return lines


def _contract_lines(c: ContractNode) -> list[str]:
    lines = [c.label]
    if c.hidden_topics:
        lines.append(f"+{c.hidden_topics} healthy")
    return lines


def _group_title(group: str) -> str:
    return group or "(no producer segment)"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph) -> str:
    """Graphviz DOT: `dot -Tsvg graph.dot > graph.svg`."""
    fill, stroke = _CONTRACT_STYLE
    out = [
        "digraph contracts {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.7, '
        f"labelloc=b, label={_dot_quote(_legend(graph))}];",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]

    def contract(c: ContractNode, indent: str) -> str:
        return (
            f'{indent}{c.id} [shape=box, style="rounded,filled,bold", fillcolor="{fill}", '
            f'color="{stroke}", label={_dot_quote(chr(10).join(_contract_lines(c)))}];'
        )

    def topic(t: TopicNode, indent: str) -> str:
        f, s, dashed = _STYLE[t.mark]
        style = "filled,dashed" if dashed else "filled"
        return (
            f'{indent}{t.id} [shape=ellipse, style="{style}", fillcolor="{f}", color="{s}", '
            f"label={_dot_quote(chr(10).join(_topic_lines(t)))}];"
        )

    for i, (group, (contracts, topics)) in enumerate(graph.groups().items()):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(
            f'    label={_dot_quote(_group_title(group))}; style="rounded,dashed"; '
            'color="#90a4ae"; fontcolor="#455a64";'
        )
        out.extend(contract(c, "    ") for c in contracts)
        out.extend(topic(t, "    ") for t in topics)
        out.append("  }")
    out.extend(contract(c, "  ") for c in graph.ungrouped())
    for e in graph.edges:
        colour, style = _EDGE_STYLE[e.kind]
        attrs = [f'color="{colour}"', f"style={style}"]
        if e.label:
            attrs.append(f"label={_dot_quote(e.label)}")
            attrs.append(f'fontcolor="{colour}"')
        if e.kind in (EdgeKind.BROKEN, EdgeKind.SUGGEST, EdgeKind.CONFLICT):
            attrs.append("penwidth=1.6")
        if e.kind is EdgeKind.SUGGEST:
            attrs.append("constraint=false")
        out.append(f"  {e.source} -> {e.target} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _legend(graph: Graph) -> str:
    parts = [graph.title] if graph.title else []
    if graph.hidden_healthy:
        parts.append(
            f"{graph.hidden_healthy} healthy topics drawn as direct node-to-node arrows or hidden"
        )
    parts.append(LEGEND)
    return "\n".join(parts)


def _mermaid_text(lines: Iterable[str]) -> str:
    escaped = (
        line.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
        for line in lines
    )
    return '"' + "<br/>".join(escaped) + '"'


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart, for a ```mermaid block in GitHub/GitLab markdown."""
    out = ["flowchart LR"]
    if graph.title:
        out.append(f"  %% {graph.title}")
    for mark, (fill, stroke, dashed) in _STYLE.items():
        dash = ",stroke-dasharray:4 3" if dashed else ""
        out.append(f"  classDef {_class(mark)} fill:{fill},stroke:{stroke}{dash}")
    fill, stroke = _CONTRACT_STYLE
    out.append(f"  classDef contract fill:{fill},stroke:{stroke},stroke-width:2px")

    def contract(c: ContractNode, indent: str) -> str:
        return f"{indent}{c.id}[{_mermaid_text(_contract_lines(c))}]:::contract"

    def topic(t: TopicNode, indent: str) -> str:
        return f"{indent}{t.id}([{_mermaid_text(_topic_lines(t))}]):::{_class(t.mark)}"

    for i, (group, (contracts, topics)) in enumerate(graph.groups().items()):
        out.append(f"  subgraph g{i}[{_mermaid_text([_group_title(group)])}]")
        out.extend(contract(c, "    ") for c in contracts)
        out.extend(topic(t, "    ") for t in topics)
        out.append("  end")
    out.extend(contract(c, "  ") for c in graph.ungrouped())
    styled: dict[EdgeKind, list[int]] = {}
    for index, e in enumerate(graph.edges):
        arrow = "-.->" if e.kind in (EdgeKind.BROKEN, EdgeKind.SUGGEST, EdgeKind.INVALID) else "-->"
        if e.kind is EdgeKind.CONFLICT:
            arrow = "==>"
        label = f"|{_mermaid_text([e.label])}|" if e.label else ""
        out.append(f"  {e.source} {arrow}{label} {e.target}")
        if e.kind not in (EdgeKind.PUBLISH, EdgeKind.SUBSCRIBE):
            styled.setdefault(e.kind, []).append(index)
    for kind, indexes in styled.items():
        colour, _ = _EDGE_STYLE[kind]
        out.append(f"  linkStyle {','.join(map(str, indexes))} stroke:{colour},stroke-width:2px")
    return "\n".join(out) + "\n"


def _class(mark: Mark) -> str:
    return mark.name.lower()


RENDERERS = {"mermaid": to_mermaid, "dot": to_dot}


def render(graph: Graph, fmt: str) -> str:
    return RENDERERS[fmt](graph)
